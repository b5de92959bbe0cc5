"""Import validation: each refusal names the JSON path of the offending value."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from backend.standards import StandardValidationError, parse_standard, validate_standard
from tests.backend.standards.builders import article, graded, points, weighted


def refused(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(StandardValidationError) as info:
        validate_standard(raw)
    assert info.value.problems
    return {p.path: p.message for p in info.value.problems}


def test_valid_builders_pass() -> None:
    assert validate_standard(graded()).id == "test-graded"
    assert validate_standard(points()).scoring.total == 1000  # type: ignore[union-attr]


def test_duplicate_article_number() -> None:
    raw = graded()
    raw["sections"][1]["articles"][2]["number"] = "1.1"
    problems = refused(raw)
    assert "$.sections[1].articles[2].number" in problems
    assert "duplicate article number '1.1'" in problems["$.sections[1].articles[2].number"]


def test_duplicate_article_number_in_nested_section() -> None:
    raw = graded()
    raw["sections"][0]["sections"] = [{"code": "1.9", "title": "子节", "articles": [article("2.3")]}]
    assert "$.sections[1].articles[2].number" in refused(raw)  # 2.3 is seen first in the nested one


def test_unknown_grade_in_condition() -> None:
    raw = graded()
    raw["determination"]["tiers"][1]["conditions"][0]["gradeAtLeast"] = "E"
    problems = refused(raw)
    assert problems["$.determination.tiers[1].conditions[0].gradeAtLeast"] == "unknown grade code 'E'"


def test_unknown_grade_in_level() -> None:
    raw = graded()
    raw["sections"][0]["articles"][1]["levels"] = [
        {"grade": "C", "items": [{"id": "C-1", "text": "基本要求"}]},
        {"grade": "S", "items": [{"id": "S-1", "text": "超出"}]},
    ]
    assert refused(raw) == {"$.sections[0].articles[1].levels[1].grade": "unknown grade code 'S'"}


def test_requirement_item_must_carry_its_grade() -> None:
    raw = graded()
    raw["sections"][0]["articles"][0]["levels"] = [{"grade": "B", "items": [{"id": "C-1", "text": "x"}]}]
    assert "$.sections[0].articles[0].levels[0].items[0].id" in refused(raw)


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_condition_ratio_outside_unit_interval(ratio: float) -> None:
    raw = graded()
    raw["determination"]["tiers"][0]["conditions"][1]["minRatio"] = ratio
    problems = refused(raw)
    assert "outside [0, 1]" in problems["$.determination.tiers[0].conditions[1].minRatio"]


def test_sample_ratio_outside_unit_interval_and_unknown_tier() -> None:
    raw = graded(
        programmeSettings={"reviewChain": [{"level": "city", "sampleRatios": {"basic": 1.2, "gold": 0.5}}]}
    )
    problems = refused(raw)
    assert "outside [0, 1]" in problems['$.programmeSettings.reviewChain[0].sampleRatios["basic"]']
    assert "unknown tier" in problems['$.programmeSettings.reviewChain[0].sampleRatios["gold"]']


def test_cumulative_grades_loop() -> None:
    raw = graded()
    raw["scoring"]["grades"][2]["cumulativeOf"] = "A"  # A ⊃ B ⊃ C ⊃ A
    problems = refused(raw)
    assert "loop" in problems["$.scoring.grades[0].cumulativeOf"]
    assert "A ⊃ B ⊃ C ⊃ A" in problems["$.scoring.grades[0].cumulativeOf"]


def test_cumulative_of_unknown_grade() -> None:
    raw = graded()
    raw["scoring"]["grades"][1]["cumulativeOf"] = "X"
    assert refused(raw) == {"$.scoring.grades[1].cumulativeOf": "unknown grade code 'X'"}


def test_section_maxima_must_add_up_to_total() -> None:
    raw = points()
    raw["scoring"]["total"] = 900
    problems = refused(raw)
    assert problems == {"$.scoring.total": "section maxima add up to 1000, not 900"}


def test_article_points_must_add_up_to_section_max() -> None:
    raw = points()
    raw["sections"][1]["articles"][1]["points"] = 150
    problems = refused(raw)
    assert problems == {"$.sections[1].maxPoints": "articles and subsections add up to 350, not 400"}


def test_points_mode_article_needs_points() -> None:
    raw = points()
    del raw["sections"][0]["articles"][0]["points"]
    assert "$.sections[0].articles[0].points" in refused(raw)


def test_indicator_target_may_not_undercut_floor() -> None:
    raw = points()
    raw["sections"][1]["articles"][0]["indicator"]["value"] = 0.85
    assert "undercuts the floor" in refused(raw)["$.sections[1].articles[0].indicator.value"]


def test_rater_weights_must_add_up() -> None:
    raw = weighted()
    raw["scoring"]["groups"][0]["raters"][1]["weight"] = 0.25
    problems = refused(raw)
    assert problems["$.scoring.groups[0].weight"] == "raters' weights add up to 0.8, not 0.7"


def test_group_weights_must_add_up_to_one() -> None:
    raw = weighted()
    raw["scoring"]["groups"][1]["weight"] = 0.2
    raw["scoring"]["groups"][1]["raters"][0]["weight"] = 0.2
    assert refused(raw) == {"$.scoring.groups": "group weights add up to 0.9, not 1"}


def test_unknown_scope_name() -> None:
    raw = graded()
    raw["determination"]["tiers"][1]["conditions"][0]["scope"] = "basic_articles"
    problems = refused(raw)
    assert "unknown scope 'basic_articles'" in problems["$.determination.tiers[1].conditions[0].scope"]


def test_unknown_section_scope_and_rank_scope() -> None:
    raw = graded(programmeSettings={"rankScopes": ["county", "planet"]})
    raw["determination"]["tiers"][1]["conditions"][0]["scope"] = "section:7"
    problems = refused(raw)
    assert set(problems) == {
        "$.determination.tiers[1].conditions[0].scope",
        "$.programmeSettings.rankScopes[1]",
    }


def test_section_scope_is_known() -> None:
    raw = graded()
    raw["determination"]["tiers"][1]["conditions"][0]["scope"] = "section:2"
    validate_standard(raw)


def test_msgspec_type_error_keeps_the_path() -> None:
    raw = graded()
    raw["sections"][1]["articles"][3]["number"] = 24
    assert refused(raw) == {"$.sections[1].articles[3].number": "Expected `str`, got `int`"}


def test_msgspec_unknown_mode_and_unknown_field() -> None:
    raw = graded()
    raw["scoring"]["mode"] = "stars"
    assert refused(raw) == {"$.scoring.mode": "Invalid value 'stars'"}
    raw = graded()
    raw["sections"][0]["articles"][0]["minPhoto"] = 2
    assert refused(raw) == {"$.sections[0].articles[0]": "Object contains unknown field `minPhoto`"}


def test_several_problems_reported_together() -> None:
    raw = graded()
    raw["sections"][1]["articles"][0]["number"] = "1.1"
    raw["determination"]["tiers"][0]["conditions"][0]["minRatio"] = 2
    raw["determination"]["tiers"][0]["conditions"][1]["scope"] = "everything"
    assert len(refused(raw)) == 3


def test_parse_standard_bad_json_and_non_object() -> None:
    with pytest.raises(StandardValidationError) as info:
        parse_standard(b'{"id": ')
    assert info.value.problems[0].path == "$"
    with pytest.raises(StandardValidationError):
        parse_standard(b"[1, 2]")


def test_validation_does_not_mutate_input() -> None:
    raw = graded()
    before = copy.deepcopy(raw)
    validate_standard(raw)
    assert raw == before


def test_evidence_can_ask_for_documents_and_not_a_negative_number() -> None:
    raw = graded()
    raw["sections"][0]["articles"][0]["evidence"] = {
        "minPhotos": 0,
        "minDocuments": 1,
        "docs": ["核定床位文件"],
    }
    standard = validate_standard(copy.deepcopy(raw))
    first = standard.sections[0].articles[0]
    assert first.evidence is not None
    assert (first.evidence.min_photos, first.evidence.min_documents) == (0, 1)
    raw["sections"][0]["articles"][0]["evidence"]["minDocuments"] = -1
    problems = refused(raw)
    assert any(path.endswith(".evidence.minDocuments") for path in problems), problems
