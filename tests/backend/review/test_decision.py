"""Who decides, as pure rules: the province fills only open thresholds; the sources in order; overrides."""

from __future__ import annotations

import pytest

from backend.review.decision import DecisionRefused, check_thresholds, decide, proposal, with_province
from backend.standards import FacilityFigures, conclude, load_shipped
from backend.standards.validation import walk_articles

TOWNSHIP = load_shipped("township-2018")
ARTICLES = [a.number for _, a, _ in walk_articles(TOWNSHIP)]
PASSED = {"P1": True, "P2": True, "P3": True}
LARGE = FacilityFigures(medical_staff_count=30, service_population=30000)
PROVINCE = {"recommended": [0.9, 0.5, 0.2, 0.8], "basic": [0.8, 0.3, 0.05]}


def test_the_province_fills_only_what_the_standard_leaves_open() -> None:
    filled = with_province(TOWNSHIP, {**PROVINCE, "qualified": [0.1, 0.1, 0.1]})
    ratios = {t.code: [c.min_ratio for c in t.conditions] for t in filled.determination.tiers}
    assert ratios["recommended"] == [0.9, 0.5, 0.2, 0.8]
    assert ratios["qualified"] == [0.8, 0.2, 0.05]  # the standard's own, never replaced
    # the shipped standard itself is untouched
    assert all(c.min_ratio is None for c in TOWNSHIP.determination.tiers[0].conditions)
    assert check_thresholds(TOWNSHIP, PROVINCE) == []
    assert "sets this threshold itself" in check_thresholds(TOWNSHIP, {"qualified": [0.5, None, None]})[0]
    assert "condition(s)" in check_thresholds(TOWNSHIP, {"basic": [0.5]})[0]
    assert "no such tier" in check_thresholds(TOWNSHIP, {"gold": [0.5]})[0]
    assert "no threshold given" in check_thresholds(TOWNSHIP, {"basic": [None, None, None]})[0]


def test_the_sources_in_order_and_an_override() -> None:
    answers = dict.fromkeys(ARTICLES, "B")
    own = conclude(TOWNSHIP, answers, LARGE, PASSED)
    assert own.status == "undetermined"
    # nothing decides: the group must, with a reason
    assert proposal(TOWNSHIP, own, None)[:2] == (None, None)
    with pytest.raises(DecisionRefused) as refused:
        decide(TOWNSHIP, own, None, LARGE)
    assert refused.value.code == "decision_required"
    with pytest.raises(DecisionRefused) as refused:
        decide(TOWNSHIP, own, None, LARGE, "basic", "  ")
    assert refused.value.code == "reason_required"
    with pytest.raises(DecisionRefused) as refused:
        decide(TOWNSHIP, own, None, LARGE, "qualified", "small")
    assert refused.value.code == "tier_not_eligible"
    group = decide(TOWNSHIP, own, None, LARGE, "basic", "合议")
    assert (group.tier, group.decided_by, group.overridden) == ("basic", "group", False)
    # the province's setting decides where the standard leaves it open: all B fails ≥A 5 %
    provincial = conclude(with_province(TOWNSHIP, PROVINCE), answers, LARGE, PASSED)
    by_province = decide(TOWNSHIP, own, provincial, LARGE)
    assert (by_province.tier, by_province.decided_by) == ("not_reached", "province")
    # a different tier is an override, with its reason
    override = decide(TOWNSHIP, own, provincial, LARGE, "basic", "现场补充材料")
    assert (override.decided_by, override.computed_tier, override.overridden) == (
        "group",
        "not_reached",
        True,
    )
    # a failed prerequisite is the standard's own decision and is not overridden
    failed = conclude(TOWNSHIP, answers, LARGE, {**PASSED, "P2": False})
    assert decide(TOWNSHIP, failed, None, LARGE).tier == "not_evaluated"
    with pytest.raises(DecisionRefused) as refused:
        decide(TOWNSHIP, failed, None, LARGE, "basic", "…")
    assert refused.value.code == "prerequisite_failed"
