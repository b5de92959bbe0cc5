"""The determination engine: each scoring mode and each conclusion status, with its explanation."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from backend.standards import (
    AnswerValidationError,
    FacilityFigures,
    Standard,
    combine_raters,
    compile_standard,
    conclude,
    validate_standard,
)
from backend.standards.schemas import WeightedScoring
from tests.backend.standards.builders import ALL_PASS, article, graded, passfail, points, weighted

BASIC = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4"]


def grades(basic: str | list[str], recommended: str = "C") -> dict[str, Any]:
    values = [basic] * len(BASIC) if isinstance(basic, str) else basic
    return {**dict(zip(BASIC, values, strict=True)), "3.1": recommended, "3.2": recommended}


@pytest.fixture(scope="module")
def std() -> Standard:
    return validate_standard(graded())


# ---------------------------------------------------------------------------------------------- graded


def test_graded_highest_tier_reached(std: Standard) -> None:
    result = conclude(std, grades(["A", "A", "B", "B", "C", "C", "C", "D"]), None, ALL_PASS)
    assert (result.status, result.tier, result.tier_label) == ("determined", "recommended", "推荐标准")
    first = result.tiers[0].conditions[0]
    # Cumulative: the two A articles count as ≥ B too.
    assert (first.numerator, first.denominator, first.actual_ratio, first.required_ratio) == (4, 8, 0.5, 0.5)
    assert first.outcome == "met"
    assert [(m.number, m.value) for m in first.pulled_down] == [
        ("2.4", "D"),
        ("2.1", "C"),
        ("2.2", "C"),
        ("2.3", "C"),
    ]
    assert result.verification == "verified"


def test_graded_skips_to_next_tier_and_explains(std: Standard) -> None:
    result = conclude(std, grades(["B", "C", "C", "C", "C", "C", "D", "D"]), None, ALL_PASS)
    assert (result.status, result.tier) == ("determined", "basic")
    top = result.tiers[0]
    assert top.outcome == "not_reached"
    assert top.conditions[0].outcome == "not_met"
    assert top.conditions[0].actual_ratio == pytest.approx(1 / 8)
    assert "basic ≥ B: 1/8 = 12.5%, required 50%: not met" in top.reason
    assert result.reasons[-1].startswith("tier basic (基本标准) reached")


def test_graded_fallback(std: Standard) -> None:
    result = conclude(std, grades("D"), None, ALL_PASS)
    assert (result.status, result.tier) == ("determined", "not_reached")
    assert "no tier reached" in result.reasons[-1]
    cond = result.tiers[1].conditions[0]
    assert (cond.numerator, cond.denominator) == (0, 8)
    assert len(cond.pulled_down) == 8


def test_na_excluded_only_where_allowed() -> None:
    arts = [article(n, naAllowed=(n == "1.1")) for n in BASIC] + [article("3.1", "recommended")]
    std = validate_standard(graded(arts))
    answers = {**dict.fromkeys(BASIC, "C"), "1.1": "NA", "1.2": "D", "3.1": "C"}
    cond = conclude(std, answers, None, ALL_PASS).tiers[1].conditions[0]
    assert (cond.numerator, cond.denominator) == (6, 7)
    with pytest.raises(AnswerValidationError) as info:
        conclude(std, {**answers, "1.2": "NA"}, None, ALL_PASS)
    assert info.value.problems[0].path == '$.answers["1.2"]'


def test_not_evaluated_names_failed_and_missing_prerequisites(std: Standard) -> None:
    result = conclude(std, grades("A", "A"), None, {"P1": False})
    assert result.status == "not_evaluated"
    assert result.tier is None
    assert result.tiers == ()
    assert [(p.id, p.outcome) for p in result.prerequisites] == [("P1", "failed"), ("P2", "missing")]
    assert any("P1 failed" in r for r in result.reasons)
    assert any("P2 not answered" in r for r in result.reasons)


def test_incomplete_lists_missing_articles(std: Standard) -> None:
    answers = grades("A", "A")
    del answers["2.2"], answers["3.1"]
    result = conclude(std, answers, None, ALL_PASS)
    assert result.status == "incomplete"
    assert result.missing == ("2.2", "3.1")
    assert result.tier is None


def null_tiers() -> list[dict[str, Any]]:
    return [
        {
            "code": "recommended",
            "label": "推荐标准",
            "verification": "illustrative",
            "conditions": [
                {"scope": "basic", "gradeAtLeast": "B", "minRatio": None},
                {"scope": "recommended", "gradeAtLeast": "C", "minRatio": 1.0},
            ],
        },
        {
            "code": "qualified",
            "label": "合格标准",
            "verification": "verified",
            "eligibility": {
                "match": "all",
                "rules": [
                    {"figure": "medicalStaffCount", "op": "<", "value": 10},
                    {"figure": "servicePopulation", "op": "<", "value": 10000},
                ],
            },
            "conditions": [{"scope": "basic", "gradeAtLeast": "C", "minRatio": 0.8}],
        },
    ]


def test_null_threshold_is_undetermined_never_guessed() -> None:
    std = validate_standard(graded(tiers=null_tiers()))
    small = FacilityFigures(medical_staff_count=8, service_population=9000)
    result = conclude(std, grades("A", "A"), small, ALL_PASS)
    assert result.status == "undetermined"
    assert result.tier is None
    assert "tier recommended (推荐标准) cannot be decided: condition 1" in result.reasons[0]
    assert "not transcribed" in result.reasons[0]
    assert result.tiers[0].conditions[0].outcome == "unknown"
    assert result.tiers[0].conditions[0].actual_ratio == 1.0
    # The lower tier is still explained, though it did not decide.
    assert result.tiers[1].outcome == "reached"


def test_null_threshold_tier_ruled_out_by_a_known_condition() -> None:
    std = validate_standard(graded(tiers=null_tiers()))
    small = FacilityFigures(medical_staff_count=8, service_population=9000)
    result = conclude(std, grades("A", "D"), small, ALL_PASS)  # recommended articles at D: 0% < 100%
    assert (result.status, result.tier) == ("determined", "qualified")
    assert result.tiers[0].outcome == "not_reached"
    assert result.verification == "illustrative"  # the tier passed over is illustrative


def test_ineligible_tier_is_skipped_with_reason() -> None:
    std = validate_standard(graded(tiers=null_tiers()))
    big = FacilityFigures(medical_staff_count=25, service_population=30000)
    result = conclude(std, grades("A", "D"), big, ALL_PASS)
    assert (result.status, result.tier) == ("determined", "not_reached")
    qualified = result.tiers[1]
    assert qualified.outcome == "ineligible"
    assert "medicalStaffCount 25 is not < 10" in qualified.reason
    assert [r.holds for r in qualified.eligibility] == [False, False]


def test_unknown_facility_figure_is_undetermined() -> None:
    std = validate_standard(graded(tiers=null_tiers()))
    result = conclude(std, grades("A", "D"), FacilityFigures(medical_staff_count=3), ALL_PASS)
    assert result.status == "undetermined"
    assert "servicePopulation" in result.tiers[1].reason


def test_all_na_scope_cannot_be_decided() -> None:
    arts = [article(n) for n in BASIC] + [article("3.1", "recommended", naAllowed=True)]
    std = validate_standard(graded(arts))
    result = conclude(std, {**dict.fromkeys(BASIC, "A"), "3.1": "NA"}, None, ALL_PASS)
    assert result.status == "undetermined"
    assert "all N/A" in result.tiers[0].conditions[1].reason


def test_section_scope() -> None:
    tiers = [
        {
            "code": "t",
            "label": "T",
            "verification": "verified",
            "conditions": [{"scope": "section:2", "gradeAtLeast": "B", "minRatio": 1.0}],
        }
    ]
    std = validate_standard(graded(tiers=tiers))
    answers = grades(["D", "D", "D", "D", "B", "A", "B", "A"])
    assert conclude(std, answers, None, ALL_PASS).tier == "t"
    answers["2.1"] = "C"
    assert conclude(std, answers, None, ALL_PASS).tier == "not_reached"


def test_compiled_once_and_reusable(std: Standard) -> None:
    compiled = compile_standard(std)
    assert compile_standard(std) is compiled
    answers = grades("B")
    assert conclude(compiled, answers, None, ALL_PASS) == conclude(std, answers, None, ALL_PASS)


def test_conclusion_wire_form_is_camel_case(std: Standard) -> None:
    wire = msgspec.to_builtins(conclude(std, grades("B"), None, ALL_PASS))
    assert {"standardId", "tierLabel", "tiers"} <= set(wire)
    assert {"requiredRatio", "actualRatio", "pulledDown", "gradeAtLeast"} <= set(
        wire["tiers"][0]["conditions"][0]
    )


# ---------------------------------------------------------------------------------------------- points


def points_answers(**overrides: Any) -> dict[str, Any]:
    return {"1.1": 300, "1.2": 200, "1.3": 100, "2.1": 0.95, "2.2": 0.99, "V1": True, **overrides}


def test_points_totals_sections_and_tier() -> None:
    std = validate_standard(points())
    result = conclude(std, points_answers(**{"1.2": 150}))
    assert (result.status, result.tier) == ("determined", "demonstration")
    score = result.score
    assert score is not None
    assert (score.points, score.max_points) == (950, 1000)
    assert [(s.code, s.points, s.max_points) for s in score.sections] == [("1", 550, 600), ("2", 400, 400)]
    cond = result.tiers[0].conditions[0]
    assert (cond.numerator, cond.denominator, cond.actual_ratio) == (950, 1000, 0.95)
    assert [(m.number, m.value) for m in cond.pulled_down] == [("1.2", 150)]


def test_points_indicator_linear_to_target_and_na() -> None:
    std = validate_standard(points())
    result = conclude(std, points_answers(**{"1.3": "NA", "2.1": 0.72}))
    score = result.score
    assert score is not None
    indicator = score.indicators[0]
    assert (indicator.met, indicator.target) == (False, 0.9)
    assert indicator.points == pytest.approx(160)  # 0.72 / 0.9 of 200
    assert score.max_points == 900  # 1.3 is not applicable
    assert score.points == pytest.approx(860)
    assert result.tier == "demonstration"  # 860/900 ≥ 90%, section 2: 360/400 ≥ 80%
    assert ("2.1", 0.72) in [(m.number, m.value) for m in result.tiers[0].conditions[1].pulled_down]


def test_points_veto_fails_with_reason() -> None:
    std = validate_standard(points())
    result = conclude(std, points_answers(V1=False))
    assert (result.status, result.tier) == ("determined", "not_awarded")
    assert result.reasons[0] == "one-vote veto V1 (一票否决): 完成资源整合"
    assert result.score is not None
    assert result.score.vetoes[0].outcome == "failed"


def test_points_mandatory_target_missed_fails() -> None:
    std = validate_standard(points())
    result = conclude(std, points_answers(**{"2.2": 0.9}))
    assert result.tier == "not_awarded"
    assert "misses the mandatory target >= 0.97" in result.reasons[0]


def test_points_missing_veto_answer_is_incomplete() -> None:
    std = validate_standard(points())
    answers = points_answers()
    del answers["V1"]
    result = conclude(std, answers)
    assert (result.status, result.missing) == ("incomplete", ("V1",))


def test_points_out_of_range_refused() -> None:
    std = validate_standard(points())
    with pytest.raises(AnswerValidationError) as info:
        conclude(std, points_answers(**{"1.1": 301}))
    assert info.value.problems[0].path == '$.answers["1.1"]'


# ---------------------------------------------------------------------------------------------- pass/fail


def pf_answers(**overrides: Any) -> dict[str, Any]:
    return {**{str(i): True for i in range(1, 11)}, **overrides}


def test_passfail_ratio_of_items_passed() -> None:
    std = validate_standard(passfail())
    result = conclude(std, pf_answers(**{"2": False, "10": "NA"}))
    assert result.tier == "pass"
    assert result.score is not None
    assert (result.score.passed, result.score.applicable) == (8, 9)
    cond = result.tiers[0].conditions[0]
    assert (cond.numerator, cond.denominator) == (8, 9)
    assert [(m.number, m.value) for m in cond.pulled_down] == [("2", False)]


def test_passfail_critical_failure_fails() -> None:
    std = validate_standard(passfail())
    result = conclude(std, pf_answers(**{"1": False}))
    assert (result.status, result.tier) == ("determined", "fail")
    assert result.reasons[0] == "critical item(s) failed: 1"
    assert result.tiers[0].outcome == "reached"  # 90% would have passed: the explanation says so


def test_passfail_too_many_failures() -> None:
    std = validate_standard(passfail())
    result = conclude(std, pf_answers(**{"2": False, "3": False, "4": False}))
    assert result.tier == "fail"
    assert result.tiers[0].conditions[0].actual_ratio == pytest.approx(0.7)


# ---------------------------------------------------------------------------------------------- weighted


def test_combine_raters_seed_weights() -> None:
    std = validate_standard(weighted())
    assert isinstance(std.scoring, WeightedScoring)
    total, parts = combine_raters(
        std.scoring, {"duty_officer": 90, "students": 80, "class_teachers": 70, "representatives": 60}
    )
    assert total == pytest.approx(0.4 * 90 + 0.15 * 80 + 0.15 * 70 + 0.3 * 60)  # 76.5
    assert next((p.code, p.group, p.contribution) for p in parts) == (
        "duty_officer",
        "routine",
        pytest.approx(36),
    )
    assert math.fsum(p.weight for p in parts) == pytest.approx(1.0)
    with pytest.raises(AnswerValidationError):
        combine_raters(std.scoring, {"duty_officer": 90})


def test_weighted_conclusion_mixes_checklists_and_scores() -> None:
    std = validate_standard(weighted())
    answers: dict[str, Any] = {
        "duty_officer": {**pf_answers(), "5": False},  # 9/10 passed → 90
        "students": 80,
        "class_teachers": 70,
        "representatives": 60,
    }
    result = conclude(std, answers)
    assert result.score is not None
    assert result.score.combined_score == pytest.approx(76.5)
    assert result.tier == "pass"
    cond = result.tiers[0].conditions[0]
    assert cond.actual_ratio == pytest.approx(0.765)
    assert [(m.number, m.value) for m in cond.pulled_down] == [("duty_officer/5", False)]


def test_weighted_missing_rater_and_critical() -> None:
    std = validate_standard(weighted())
    result = conclude(std, {"duty_officer": pf_answers(), "students": 80})
    assert result.status == "incomplete"
    assert result.missing == ("class_teachers", "representatives")
    full = {
        "duty_officer": pf_answers(**{"1": False}),
        "students": 100,
        "class_teachers": 100,
        "representatives": 100,
    }
    result = conclude(std, full)
    assert result.tier == "fail"
    assert "critical item(s) failed (值日行政): duty_officer/1" in result.reasons[0]


def test_weighted_score_out_of_range_refused() -> None:
    std = validate_standard(weighted())
    with pytest.raises(AnswerValidationError) as info:
        conclude(std, {"duty_officer": 101, "students": 1, "class_teachers": 1, "representatives": 1})
    assert info.value.problems[0].path == '$.answers["duty_officer"]'
