"""What a conclusion knows for certain: each tier reached / not reached / undetermined, and the highest certain."""

from __future__ import annotations

from typing import Any

import pytest

from backend.standards import FacilityFigures, conclude, load_shipped, validate_standard
from backend.standards.validation import walk_articles
from tests.backend.standards.builders import ALL_PASS, graded

BASIC = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4"]
SMALL = FacilityFigures(medical_staff_count=8, service_population=9000)


def _grades(values: list[str], recommended: str = "C") -> dict[str, Any]:
    return {**dict(zip(BASIC, values, strict=True)), "3.1": recommended, "3.2": recommended}


def _standings(result: Any) -> dict[str, str]:
    return {s.code: s.standing for s in result.standings}


def test_township_says_at_least_qualified_while_the_upper_thresholds_are_missing() -> None:
    std = load_shipped("township-2018")
    answers = {a.number: "A" for _, a, _ in walk_articles(std)}
    p_all = {p.id: True for p in std.prerequisites}
    result = conclude(std, answers, SMALL, p_all)
    assert result.status == "undetermined"
    assert result.tier is None
    assert (result.highest_certain, result.highest_certain_label) == ("qualified", "合格标准")
    assert _standings(result) == {
        "recommended": "undetermined",
        "basic": "undetermined",
        "qualified": "reached",
    }
    assert result.known == (
        "at least 合格标准 (qualified); 推荐标准 (recommended) and 基本标准 (basic) undetermined: "
        "thresholds not transcribed yet"
    )
    reasons = {s.code: s.reason for s in result.standings}
    assert "not transcribed" in reasons["basic"]

    # Unknown facility figures leave 合格 undetermined too: then nothing is certain, and the summary says why.
    unknown = conclude(std, answers, FacilityFigures(), p_all)
    assert unknown.highest_certain is None
    assert _standings(unknown)["qualified"] == "undetermined"
    assert "facility figure(s) not known: medicalStaffCount, servicePopulation" in unknown.known
    assert unknown.known.startswith("no tier is certain")

    # All D: 合格 is ruled out, the others still undetermined (a null threshold is not taken as failed either).
    low = conclude(std, dict.fromkeys(answers, "D"), SMALL, p_all)
    assert _standings(low) == {
        "recommended": "undetermined",
        "basic": "undetermined",
        "qualified": "not_reached",
    }
    assert low.highest_certain is None
    assert low.known.endswith("合格标准 (qualified) not reached")


def test_a_determined_result_is_its_own_highest_certain_tier() -> None:
    std = validate_standard(graded())
    top = conclude(std, _grades(["A", "A", "B", "B", "C", "C", "C", "D"]), None, ALL_PASS)
    assert (top.status, top.tier, top.highest_certain) == ("determined", "recommended", "recommended")
    assert top.known == "推荐标准 (recommended) reached"
    assert _standings(top) == {"recommended": "reached", "basic": "reached"}

    basic = conclude(std, _grades(["B", "C", "C", "C", "C", "C", "D", "D"]), None, ALL_PASS)
    assert (basic.tier, basic.highest_certain) == ("basic", "basic")
    assert _standings(basic) == {"recommended": "not_reached", "basic": "reached"}

    fallback = conclude(std, _grades(["D"] * 8), None, ALL_PASS)
    assert (fallback.tier, fallback.highest_certain) == ("not_reached", "not_reached")
    assert fallback.known == "no tier reached: 未达标 (not_reached)"
    assert set(_standings(fallback).values()) == {"not_reached"}


def test_an_ineligible_tier_is_not_reached_with_its_reason() -> None:
    tiers = [
        {
            "code": "small",
            "label": "小型合格",
            "verification": "verified",
            "eligibility": {
                "match": "all",
                "verification": "verified",
                "rules": [{"figure": "medicalStaffCount", "op": "<", "value": 10}],
            },
            "conditions": [{"scope": "basic", "gradeAtLeast": "C", "minRatio": 0.5}],
        }
    ]
    std = validate_standard(graded(tiers=tiers))
    big = conclude(std, _grades(["A"] * 8), FacilityFigures(medical_staff_count=40), ALL_PASS)
    [standing] = big.standings
    assert standing.standing == "not_reached"
    assert "not eligible" in standing.reason


@pytest.mark.parametrize(
    ("prerequisites", "standing"),
    [({"P1": True, "P2": False}, "not_reached"), ({"P1": True}, "undetermined")],
)
def test_not_evaluated_and_incomplete_certify_no_tier(prerequisites: dict[str, bool], standing: str) -> None:
    std = validate_standard(graded())
    result = conclude(std, _grades(["A"] * 8), None, prerequisites)
    assert result.status == "not_evaluated"
    assert result.highest_certain is None
    assert set(_standings(result).values()) == {standing}
    assert result.known.startswith("not evaluated: prerequisite P2")

    partial = conclude(std, {"1.1": "A"}, None, ALL_PASS)
    assert partial.status == "incomplete"
    assert partial.highest_certain is None
    assert set(_standings(partial).values()) == {"undetermined"}
    assert partial.known.startswith("incomplete: 9 not answered")


def test_a_veto_makes_the_fallback_certain() -> None:
    from tests.backend.standards.builders import points

    std = validate_standard(points())
    answers: dict[str, Any] = {}
    for _, art, _ in walk_articles(std):
        answers[art.number] = art.points if art.indicator is None else art.indicator.value
    for veto in std.veto_items:
        answers[veto.id] = False
    result = conclude(std, answers, None, dict.fromkeys((p.id for p in std.prerequisites), True))
    assert result.status == "determined"
    assert result.highest_certain == std.determination.fallback.code
    assert set(_standings(result).values()) == {"not_reached"}
