"""Answer checks: each answer that does not fit the standard is refused with its JSON path."""

from __future__ import annotations

import pytest

from backend.standards import AnswerValidationError, check_answers, conclude, validate_standard
from tests.backend.standards.builders import ALL_PASS, graded


def test_unknown_grade_in_answers() -> None:
    standard = validate_standard(graded())
    answers = dict.fromkeys(("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"), "C")
    answers["2.2"] = "E"
    problems = check_answers(standard, answers, ALL_PASS)
    assert [(p.path, p.message) for p in problems] == [('$.answers["2.2"]', "unknown grade code 'E'")]
    with pytest.raises(AnswerValidationError) as info:
        conclude(standard, answers, None, ALL_PASS)
    assert info.value.problems[0].path == '$.answers["2.2"]'


def test_answers_unknown_article_na_not_allowed_and_prerequisite() -> None:
    standard = validate_standard(graded())
    with pytest.raises(AnswerValidationError) as info:
        conclude(standard, {"1.1": "NA", "9.9": "A"}, None, {"P1": True, "P7": True})
    paths = {p.path for p in info.value.problems}
    assert paths == {'$.answers["1.1"]', '$.answers["9.9"]', '$.prerequisites["P7"]'}
