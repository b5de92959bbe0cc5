"""Properties of determination over generated standards and answers (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.standards import Conclusion, FacilityFigures, Standard, conclude, validate_standard
from tests.backend.standards.builders import ALL_PASS, article, graded, passfail

GRADE_ORDER = ["D", "C", "B", "A"]
RATIOS = st.one_of(st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.8, 1.0]), st.floats(0, 1))


@st.composite
def graded_cases(
    draw: st.DrawFn, allow_null: bool = True
) -> tuple[Standard, dict[str, str], FacilityFigures]:
    n = draw(st.integers(1, 9))
    arts = []
    for i in range(n):
        kind = draw(st.sampled_from(["basic", "recommended"]))
        arts.append(article(f"{i % 3 + 1}.{i}", kind, naAllowed=draw(st.booleans())))
    section_codes = sorted({a["number"].split(".")[0] for a in arts})
    scopes = ["all", "basic", "recommended", *(f"section:{c}" for c in section_codes)]
    threshold = st.one_of(st.none(), RATIOS) if allow_null else RATIOS
    tiers = []
    for t in range(draw(st.integers(1, 3))):
        conditions = [
            {
                "scope": draw(st.sampled_from(scopes)),
                "gradeAtLeast": draw(st.sampled_from("ABCD")),
                "minRatio": draw(threshold),
            }
            for _ in range(draw(st.integers(1, 3)))
        ]
        tier: dict[str, Any] = {
            "code": f"t{t}",
            "label": f"T{t}",
            "verification": "verified",
            "conditions": conditions,
        }
        if draw(st.booleans()):
            tier["eligibility"] = {
                "match": draw(st.sampled_from(["all", "any"])),
                "rules": [{"figure": "medicalStaffCount", "op": "<", "value": draw(st.integers(0, 20))}],
            }
        tiers.append(tier)
    standard = validate_standard(graded(arts, tiers))
    answers = {
        a["number"]: draw(st.sampled_from([*GRADE_ORDER, "NA"] if a["naAllowed"] else GRADE_ORDER))
        for a in arts
    }
    facility = FacilityFigures(medical_staff_count=draw(st.integers(0, 20)), service_population=5000)
    return standard, answers, facility


def position(standard: Standard, result: Conclusion) -> int:
    """Where the decision stopped in tier order: 0 = first (highest) tier, len(tiers) = the fallback."""
    codes = [t.code for t in standard.determination.tiers]
    if result.status == "determined":
        return codes.index(result.tier) if result.tier in codes else len(codes)
    assert result.status == "undetermined"
    return next(i for i, t in enumerate(result.tiers) if t.outcome == "undecidable")


@settings(max_examples=300, deadline=None)
@given(case=graded_cases(), data=st.data())
def test_raising_a_grade_never_lowers_the_tier(
    case: tuple[Standard, dict[str, str], FacilityFigures], data: st.DataObject
) -> None:
    standard, answers, facility = case
    raisable = [n for n, g in answers.items() if g in GRADE_ORDER[:-1]]
    if not raisable:
        return
    number = data.draw(st.sampled_from(raisable))
    higher = data.draw(st.sampled_from(GRADE_ORDER[GRADE_ORDER.index(answers[number]) + 1 :]))
    before = conclude(standard, answers, facility, ALL_PASS)
    after = conclude(standard, {**answers, number: higher}, facility, ALL_PASS)
    assert position(standard, after) <= position(standard, before)
    if before.status == after.status == "determined":
        order = [*(t.code for t in standard.determination.tiers), standard.determination.fallback.code]
        assert order.index(after.tier or "") <= order.index(before.tier or "")


@settings(max_examples=200, deadline=None)
@given(case=graded_cases(), data=st.data())
def test_removing_an_answer_never_raises_the_tier(
    case: tuple[Standard, dict[str, str], FacilityFigures], data: st.DataObject
) -> None:
    standard, answers, facility = case
    number = data.draw(st.sampled_from(sorted(answers)))
    reduced = {k: v for k, v in answers.items() if k != number}
    result = conclude(standard, reduced, facility, ALL_PASS)
    assert result.status == "incomplete"
    assert result.tier is None
    assert number in result.missing


@settings(max_examples=300, deadline=None)
@given(case=graded_cases())
def test_a_null_threshold_never_yields_its_tier(
    case: tuple[Standard, dict[str, str], FacilityFigures],
) -> None:
    standard, answers, facility = case
    result = conclude(standard, answers, facility, ALL_PASS)
    for tier in standard.determination.tiers:
        if any(c.min_ratio is None for c in tier.conditions):
            assert result.tier != tier.code
            explained = next(t for t in result.tiers if t.code == tier.code)
            assert explained.outcome != "reached"


@settings(max_examples=200, deadline=None)
@given(case=graded_cases(allow_null=False))
def test_known_thresholds_always_determine(case: tuple[Standard, dict[str, str], FacilityFigures]) -> None:
    standard, answers, facility = case
    result = conclude(standard, answers, facility, ALL_PASS)
    if result.status == "undetermined":
        # With every threshold known, only a scope with nothing applicable (all N/A) can leave a tier open.
        stuck = next(t for t in result.tiers if t.outcome == "undecidable")
        unknown = [c for c in stuck.conditions if c.outcome == "unknown"]
        assert unknown
        assert all(c.denominator == 0 for c in unknown)
    else:
        assert result.status == "determined"


@settings(max_examples=200, deadline=None)
@given(
    case=graded_cases(),
    prereqs=st.dictionaries(st.sampled_from(["P1", "P2"]), st.booleans()).filter(
        lambda d: not (d.get("P1") is True and d.get("P2") is True)
    ),
)
def test_failing_or_missing_prerequisites_always_not_evaluated(
    case: tuple[Standard, dict[str, str], FacilityFigures], prereqs: dict[str, bool]
) -> None:
    standard, answers, facility = case
    result = conclude(standard, answers, facility, prereqs)
    assert result.status == "not_evaluated"
    assert result.tier is None


@settings(max_examples=200, deadline=None)
@given(flags=st.lists(st.booleans(), min_size=10, max_size=10), data=st.data())
def test_passfail_passing_an_item_never_lowers_the_tier(flags: list[bool], data: st.DataObject) -> None:
    standard = validate_standard(passfail())
    answers: dict[str, Any] = {str(i + 1): flag for i, flag in enumerate(flags)}
    failed = [k for k, v in answers.items() if v is False]
    if not failed:
        return
    number = data.draw(st.sampled_from(failed))
    before = conclude(standard, answers)
    after = conclude(standard, {**answers, number: True})
    order = ["pass", "fail"]
    assert order.index(after.tier or "") <= order.index(before.tier or "")
