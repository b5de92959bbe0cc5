"""The standard-rules adapter the sync engine validates answers with (pure: shipped standards, no database)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.standards import load_shipped
from backend.sync_api.rules import StandardItemRules


@pytest.fixture(scope="module")
def township() -> StandardItemRules:
    return StandardItemRules(load_shipped("township-2018"))


@pytest.fixture(scope="module")
def mch() -> StandardItemRules:
    return StandardItemRules(load_shipped("mch-1000"))


@pytest.fixture(scope="module")
def canteen() -> StandardItemRules:
    return StandardItemRules(load_shipped("school-canteen-checklist"))


def test_articles_and_grades(township: StandardItemRules) -> None:
    assert township.has_item("1.1.1")
    assert not township.has_item("9.9.9")
    assert township.check_value("1.1.1", "value", "B") is None
    assert township.check_value("1.1.1", "value", None) is None
    violation = township.check_value("1.1.1", "value", "E")
    assert violation is not None
    assert violation.reason == "invalid_value"


@pytest.mark.parametrize("value", [True, False, None])
def test_prerequisites_take_true_or_false(township: StandardItemRules, value: Any) -> None:
    assert township.has_item("P1")
    assert township.check_value("P1", "value", value) is None


@pytest.mark.parametrize("value", ["A", 1, "yes"])
def test_prerequisites_refuse_other_values(township: StandardItemRules, value: Any) -> None:
    violation = township.check_value("P2", "value", value)
    assert violation is not None
    assert violation.reason == "invalid_value"


def test_prerequisite_cannot_be_na(township: StandardItemRules) -> None:
    violation = township.check_value("P3", "na", True)
    assert violation is not None
    assert violation.reason == "na_not_allowed"
    assert township.check_value("P3", "na", False) is None


def test_veto_items_are_yes_no(mch: StandardItemRules) -> None:
    assert mch.has_item("V1")
    assert mch.check_value("V1", "value", False) is None
    assert mch.check_value("V1", "value", 3) is not None


def test_weighted_answers_go_per_rater(canteen: StandardItemRules) -> None:
    assert canteen.has_item("duty_officer")
    assert canteen.has_item("duty_officer:1.1")
    assert not canteen.has_item("nobody:1.1")
    assert not canteen.has_item("duty_officer:99.9")
    assert canteen.check_value("duty_officer:1.1", "value", True) is None
    assert canteen.check_value("duty_officer:1.1", "value", "B") is not None
    assert canteen.check_value("students", "value", 87.5) is None
    assert canteen.check_value("students", "value", 101) is not None
    assert canteen.check_value("students", "value", True) is not None
    plain = canteen.check_value("1.1", "value", True)
    assert plain is not None
    assert "duty_officer" in plain.detail or "<rater>" in plain.detail


def _all_codes(rules: StandardItemRules) -> dict[str, Any]:
    """An answer for every code the checklist lists (a grade, met, or 0 points as the kind asks)."""
    checklist = rules.checklist()
    value: Any = {"graded": checklist.grades[-1] if checklist.grades else None, "passfail": True}.get(
        checklist.answer_kind, 0
    )
    answers: dict[str, Any] = dict.fromkeys(checklist.prerequisites, True) | dict.fromkeys(
        checklist.vetoes, True
    )
    for article in checklist.articles:
        answers |= dict.fromkeys(article.items.values(), value)
    return answers


@pytest.mark.parametrize("name", ["township", "mch", "canteen"])
def test_answering_the_checklist_is_what_a_submit_asks(name: str, request: pytest.FixtureRequest) -> None:
    """The checklist's codes answered: nothing unanswered; any one of them left out: exactly that one named."""
    rules: StandardItemRules = request.getfixturevalue(name)
    answers = _all_codes(rules)
    assert rules.answer_gaps(answers) == ((), (), len(rules.articles), None, ())
    for code in list(answers)[:: max(1, len(answers) // 7)]:
        prerequisites, items, _, invalid, _ = rules.answer_gaps(
            {k: v for k, v in answers.items() if k != code}
        )
        assert invalid is None
        assert (*prerequisites, *items) == (code,)


def test_the_checklist_resolves_each_articles_evidence_policy(township: StandardItemRules) -> None:
    checklist = township.checklist()
    assert checklist.grades == ["A", "B", "C", "D"]  # best first, from the grades' ranks
    assert {a.number: a.min_photos for a in checklist.articles} == dict(township.min_photos())
    assert {a.number: a.min_documents for a in checklist.articles if a.min_documents} == dict(
        township.min_documents()
    )
    required = {
        a.number: (a.require_capture_time, a.require_location) for a in checklist.articles if a.min_photos > 0
    }
    assert {k: v for k, v in required.items() if any(v)} == dict(township.photo_requirements())
    assert set(checklist.document_types) == {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }


def test_a_raters_overall_score_stands_for_its_articles(canteen: StandardItemRules) -> None:
    """A weighted standard takes one overall score per rater instead of its checklist answers: the checklist names
    that item code per rater (``overall``), so the app counts it without knowing the rule."""
    checklist = canteen.checklist()
    overall = {r.code: r.overall for r in checklist.raters}
    assert overall == {r.code: r.code for r in checklist.raters}  # the rater's own code takes the score
    assert all(canteen.check_value(code, "value", 80) is None for code in overall.values() if code)
    sheets = {
        rater: {code: True for a in checklist.articles for r, code in a.items.items() if r == rater}
        for rater in overall
    }
    first, *others = overall
    # the first rater by its overall score, the others article by article: nothing is missing
    answers: dict[str, Any] = {overall[first]: 80}
    for rater in others:
        answers |= sheets[rater]
    assert canteen.answer_gaps(answers) == ((), (), len(canteen.articles), None, ())
    # every rater by its overall score alone
    assert canteen.answer_gaps(dict.fromkeys(overall.values(), 60)) == (
        (),
        (),
        len(canteen.articles),
        None,
        (),
    )
    # the overall score left out: that rater is what the submit asks for
    del answers[overall[first]]
    assert canteen.answer_gaps(answers)[1] == (first,)
