"""One tier's verdict: whether the facility may hold it (eligibility) and, per condition, the share reached
against the share required, each with its explanation (pure; the engine calls it for every tier in order)."""

from __future__ import annotations

from typing import Literal

from backend.standards.compiled import EPS, CompiledCondition, CompiledTier
from backend.standards.conclusion import ConditionResult, RuleResult, TierResult
from backend.standards.schemas import FacilityFigures, Tier
from backend.standards.tally import Tally
from backend.vocabulary import Message

FIGURE_ATTRS = {
    "medicalStaffCount": "medical_staff_count",
    "servicePopulation": "service_population",
    "bedCount": "bed_count",
}


def _pct(value: float) -> str:
    return f"{value * 100:.4g}%"


def scope_message(scope: str, grade_at_least: str | None) -> Message:
    """A condition's scope as a person reads it: 基本条款 ≥ B 档, 第 2 章, 全部条款."""
    if scope.startswith("section:"):
        where = Message(code="scope_section", params={"section": scope.removeprefix("section:")})
    else:
        where = Message(code=f"scope_{scope}")  # scope_all, scope_basic, scope_recommended
    if grade_at_least:
        return Message(code="scope_at_grade", params={"scope": where, "grade": grade_at_least})
    return where


def _condition(cond: CompiledCondition, tally: Tally) -> ConditionResult:
    num, den, pulled = tally.stats(cond)
    c = cond.condition
    label = f"{c.scope} ≥ {c.grade_at_least}" if c.grade_at_least else c.scope
    said: dict[str, str | int | float | Message | list[Message]] = {
        "scope": scope_message(c.scope, c.grade_at_least)
    }
    required = c.min_ratio
    actual: float | None = None
    outcome: Literal["met", "not_met", "unknown"]
    if den <= 0:
        outcome = "unknown"
        reason = f"{label}: nothing applicable in this scope (all N/A), cannot decide"
        message = Message(code="explain_condition_all_na", params=said)
    else:
        actual = num / den
        share = f"{num:g}/{den:g} = {_pct(actual)}"
        said |= {"num": f"{num:g}", "den": f"{den:g}", "actual": _pct(actual)}
        if required is None:
            outcome = "unknown"
            reason = f"{label}: {share}; the required ratio is not transcribed yet (null), cannot decide"
            message = Message(code="explain_condition_null", params=said)
        elif num >= required * den - EPS * max(1.0, den):
            outcome = "met"
            reason = f"{label}: {share}, required {_pct(required)}: met"
            message = Message(code="explain_condition_met", params=said | {"required": _pct(required)})
        else:
            outcome = "not_met"
            reason = f"{label}: {share}, required {_pct(required)}: not met"
            message = Message(code="explain_condition_not_met", params=said | {"required": _pct(required)})
    return ConditionResult(
        scope=c.scope,
        grade_at_least=c.grade_at_least,
        required_ratio=required,
        actual_ratio=actual,
        numerator=num,
        denominator=den,
        outcome=outcome,
        pulled_down=pulled,
        reason=reason,
        message=message,
    )


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
}


def eligibility(tier: Tier, facility: FacilityFigures) -> tuple[bool | None, tuple[RuleResult, ...]]:
    """Whether the facility may hold ``tier`` at all (None: a figure it needs is unknown), with each rule."""
    if tier.eligibility is None:
        return True, ()
    rules = tuple(
        RuleResult(
            figure=rule.figure,
            op=rule.op,
            value=rule.value,
            actual=(actual := getattr(facility, FIGURE_ATTRS[rule.figure])),
            holds=None if actual is None else bool(_OPS[rule.op](actual, rule.value)),
        )
        for rule in tier.eligibility.rules
    )
    flags = [r.holds for r in rules]
    if tier.eligibility.match == "all":
        return (False if False in flags else (None if None in flags else True)), rules
    return (True if True in flags else (None if None in flags else False)), rules


def tier_result(ct: CompiledTier, tally: Tally, facility: FacilityFigures) -> TierResult:
    tier = ct.tier
    name = f"tier {tier.code} ({tier.label})"
    rules: tuple[RuleResult, ...] = ()
    if tier.eligibility is not None:
        eligible, rules = eligibility(tier, facility)
        if eligible is False:
            failing = ", ".join(
                f"{r.figure} {r.actual:g} is not {r.op} {r.value:g}"
                for r in rules
                if r.holds is False and r.actual is not None
            )
            rules_said = [
                Message(
                    code="explain_rule_fails",
                    params={
                        "figure": Message(code=f"figure_{r.figure}"),
                        "actual": f"{r.actual:g}",
                        "op": r.op,
                        "value": f"{r.value:g}",
                    },
                )
                for r in rules
                if r.holds is False and r.actual is not None
            ]
            return TierResult(
                code=tier.code,
                label=tier.label,
                outcome="ineligible",
                reason=f"{name} skipped: the facility is not eligible ({failing})",
                eligibility=rules,
                conditions=(),
                message=Message(
                    code="explain_tier_ineligible", params={"tier": tier.label, "rules": rules_said}
                ),
            )
        if eligible is None:
            unknown = ", ".join(r.figure for r in rules if r.holds is None)
            figures = [Message(code=f"figure_{r.figure}") for r in rules if r.holds is None]
            return TierResult(
                code=tier.code,
                label=tier.label,
                outcome="undecidable",
                reason=f"{name}: eligibility cannot be checked, facility figure(s) not known: {unknown}",
                eligibility=rules,
                conditions=(),
                message=Message(
                    code="explain_tier_figures_unknown", params={"tier": tier.label, "figures": figures}
                ),
            )
    conditions = tuple(_condition(cond, tally) for cond in ct.conditions)
    failed = [i for i, r in enumerate(conditions) if r.outcome == "not_met"]
    unknown_idx = [i for i, r in enumerate(conditions) if r.outcome == "unknown"]
    said = [conditions[i].message for i in (failed or unknown_idx)]
    if failed:
        outcome: Literal["reached", "not_reached", "undecidable"] = "not_reached"
        reason = f"{name} not reached: " + "; ".join(conditions[i].reason for i in failed)
        code = "explain_tier_not_reached"
    elif unknown_idx:
        outcome = "undecidable"
        reason = f"{name} cannot be decided: " + "; ".join(
            f"condition {i + 1} ({conditions[i].reason})" for i in unknown_idx
        )
        code = "explain_tier_undecidable"
    else:
        outcome = "reached"
        reason = f"{name} reached: every condition met"
        code = "explain_tier_reached"
    return TierResult(
        code=tier.code,
        label=tier.label,
        outcome=outcome,
        reason=reason,
        eligibility=rules,
        conditions=conditions,
        message=Message(
            code=code, params={"tier": tier.label, "conditions": [m for m in said if m is not None]}
        ),
    )
