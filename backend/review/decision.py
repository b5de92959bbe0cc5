"""Who decides a stage's tier, and how the verdict is worded (pure: no I/O).

Three sources, in this order (docs/standards.md § Who decides):
1. ``standard``: the standard's own thresholds decide (the engine's conclusion is determined or not_evaluated);
2. ``province``: where the standard leaves a threshold open (``minRatio`` null), the province's setting for
   that standard fills it, and the engine decides with it;
3. ``group``: where neither rule decides, the review group decides at sign-off with a written reason.
A group decision that differs from what the rules found is an override: it carries its reason too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from backend.errors import RuleRefused
from backend.standards.conclusion import Conclusion
from backend.standards.schemas import FacilityFigures, Standard
from backend.standards.tiers import eligibility

NOT_REACHED = "not_reached"
NOT_EVALUATED = "not_evaluated"
DecidedBy = Literal["standard", "province", "group"]
Thresholds = Mapping[str, Sequence[float | None]]


class DecisionRefused(RuleRefused):
    """A decision the rules refuse (no tier where the rules leave it undetermined, no reason for the group's
    tier, an unknown or ineligible tier, a failed prerequisite): 422 as raised, nobody converts it."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message, code=code, **extra)


def with_province(standard: Standard, thresholds: Thresholds) -> Standard:
    """The standard with the province's ratios filled in where the standard's own are null (never replacing
    a threshold the standard sets)."""
    tiers = []
    for tier in standard.determination.tiers:
        ratios = thresholds.get(tier.code)
        if not ratios:
            tiers.append(tier)
            continue
        conditions = tuple(
            msgspec.structs.replace(cond, min_ratio=ratio)
            if cond.min_ratio is None and index < len(ratios) and (ratio := ratios[index]) is not None
            else cond
            for index, cond in enumerate(tier.conditions)
        )
        tiers.append(msgspec.structs.replace(tier, conditions=conditions))
    determination = msgspec.structs.replace(standard.determination, tiers=tuple(tiers))
    return msgspec.structs.replace(standard, determination=determination)


def check_thresholds(standard: Standard, thresholds: Thresholds) -> list[str]:
    """What is wrong with a province's setting for ``standard`` (empty: it may be saved)."""
    problems = []
    tiers = {t.code: t for t in standard.determination.tiers}
    filled = 0
    for code, ratios in thresholds.items():
        tier = tiers.get(code)
        if tier is None:
            problems.append(f"{code}: the standard has no such tier ({', '.join(tiers)})")
            continue
        if len(ratios) != len(tier.conditions):
            problems.append(f"{code}: {len(tier.conditions)} condition(s), {len(ratios)} ratio(s) given")
            continue
        for index, (cond, ratio) in enumerate(zip(tier.conditions, ratios, strict=True)):
            if ratio is None:
                continue
            if cond.min_ratio is not None:
                problems.append(
                    f"{code}[{index}]: the standard sets this threshold itself ({cond.min_ratio:g}); "
                    "a province fills only thresholds the standard leaves open"
                )
            elif not 0.0 <= ratio <= 1.0:
                problems.append(f"{code}[{index}]: {ratio} is not a ratio between 0 and 1")
            else:
                filled += 1
    if not problems and not filled:
        problems.append("no threshold given: name at least one ratio the standard leaves open")
    return problems


def signed_tier(standard: Standard, result: Conclusion) -> str | None:
    """The tier a conclusion decides: a tier code, not_reached, not_evaluated; None while undetermined."""
    if result.status == "not_evaluated":
        # "not evaluated" is a result only when a prerequisite failed; unanswered ones leave it unknown
        if any(p.outcome == "missing" for p in result.prerequisites):
            return None
        return NOT_EVALUATED
    if result.status != "determined" or result.tier is None:
        return None
    return NOT_REACHED if result.tier == standard.determination.fallback.code else result.tier


def tier_label(standard: Standard, tier: str) -> str:
    for t in standard.determination.tiers:
        if t.code == tier:
            return t.label
    if tier == NOT_REACHED:
        return standard.determination.fallback.label
    return "不予评价" if tier == NOT_EVALUATED else tier


@dataclass(frozen=True, slots=True)
class Decision:
    tier: str
    tier_label: str
    decided_by: DecidedBy
    # the tier the rules gave (None: undetermined) and the conclusion they gave it from
    computed_tier: str | None
    conclusion: Conclusion
    reason: str | None = None
    overridden: bool = False
    used_province: bool = False


def proposal(
    standard: Standard, own: Conclusion, provincial: Conclusion | None
) -> tuple[DecidedBy | None, str | None, Conclusion]:
    """What the rules decide before anyone signs: (source, tier, conclusion); source None = undetermined."""
    tier = signed_tier(standard, own)
    if tier is not None:
        return "standard", tier, own
    if provincial is not None and (tier := signed_tier(standard, provincial)) is not None:
        return "province", tier, provincial
    return None, None, provincial or own


def decide(
    standard: Standard,
    own: Conclusion,
    provincial: Conclusion | None,
    figures: FacilityFigures,
    group_tier: str | None = None,
    reason: str | None = None,
) -> Decision:
    """The tier signed off: the rules' tier, or the group's decision (required where the rules leave it
    undetermined; an override with its reason where it differs from the rules' tier)."""
    source, computed, basis = proposal(standard, own, provincial)
    reason = (reason or "").strip() or None
    if group_tier is None or group_tier == computed:
        if source is None or computed is None:
            raise DecisionRefused(
                "decision_required",
                "the rules leave this conclusion undetermined (待定): the review group decides the tier "
                "at sign-off, with a written reason",
                undetermined=[s.code for s in basis.standings if s.standing == "undetermined"],
            )
        return Decision(computed, tier_label(standard, computed), source, computed, basis, reason)
    if reason is None:
        raise DecisionRefused("reason_required", "the review group's decision carries a written reason")
    codes = {t.code: t for t in standard.determination.tiers}
    if group_tier not in codes and group_tier != NOT_REACHED:
        raise DecisionRefused(
            "unknown_tier",
            f"{group_tier} is not a tier of {standard.name} ({', '.join([*codes, NOT_REACHED])})",
        )
    if computed == NOT_EVALUATED:
        raise DecisionRefused(
            "prerequisite_failed",
            "a prerequisite failed: the facility is not evaluated, whatever the decision",
        )
    if group_tier in codes and eligibility(codes[group_tier], figures)[0] is False:
        raise DecisionRefused(
            "tier_not_eligible",
            f"the facility is not eligible for {codes[group_tier].label}: it cannot be decided for it",
        )
    standing = {s.code: s.standing for s in basis.standings}
    ruled_out = standing.get(group_tier) == "not_reached"
    overridden = computed is not None or ruled_out
    return Decision(
        group_tier,
        tier_label(standard, group_tier),
        "group",
        computed,
        basis,
        reason,
        overridden=overridden,
        used_province=provincial is not None and basis is provincial,
    )


# ---------------------------------------------------------------------------------------------- wording


def said(code: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "params": params}


def statement(
    standard: Standard,
    decision_tier: str | None,
    decided_by: str | None,
    basis: Conclusion,
    *,
    applied: str | None = None,
    reason: str | None = None,
    overridden: bool = False,
    computed_tier: str | None = None,
    document_no: str | None = None,
    document_date: str | None = None,
) -> list[dict[str, Any]]:
    """The verdict in codes (pwa_static/vocabulary/verdict.json), saying apart: a tier not eligible for
    and a tier not reached; a prerequisite not answered and one not met; the tier applied for and found."""
    out = []
    if applied is not None:
        out.append(said("verdict.applied", tier=tier_label(standard, applied)))
    if decision_tier is None:
        out.append(said("verdict.found_undetermined"))
    elif decision_tier == NOT_REACHED:
        out.append(said("verdict.found_not_reached"))
    elif decision_tier == NOT_EVALUATED:
        out.append(said("verdict.found_not_evaluated"))
    else:
        out.append(said("verdict.found", tier=tier_label(standard, decision_tier)))
    if decided_by == "standard":
        out.append(said("verdict.by_standard"))
    elif decided_by == "province":
        out.append(
            said("verdict.by_province", documentNo=document_no or "", documentDate=document_date or "")
        )
    elif decided_by == "group":
        out.append(said("verdict.by_group", reason=reason or ""))
    if overridden:
        computed = tier_label(standard, computed_tier) if computed_tier else "—"
        out.append(said("verdict.override", computed=computed, reason=reason or ""))
    for p in basis.prerequisites:
        if p.outcome == "missing":
            out.append(said("verdict.prerequisite_not_answered", id=p.id, text=p.text))
        elif p.outcome == "failed":
            out.append(said("verdict.prerequisite_not_met", id=p.id, text=p.text))
    for t in basis.tiers:
        if t.outcome == "ineligible":
            out.append(said("verdict.tier_not_eligible", tier=t.label))
        elif t.outcome == "not_reached":
            out.append(said("verdict.tier_not_reached", tier=t.label))
        elif t.outcome == "undecidable":
            out.append(said("verdict.tier_undetermined", tier=t.label))
        elif t.outcome == "reached":
            out.append(said("verdict.tier_reached", tier=t.label))
    return out
