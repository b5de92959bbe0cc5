"""Determination and scoring: pure functions from (standard, answers, facility, prerequisites) to a Conclusion.

Order of decision (DESIGN §8): prerequisites gate (`not_evaluated`) → every article answered (`incomplete`)
→ decisive failures (one-vote veto, critical item, mandatory indicator target → fallback tier) → tiers in
order, skipping a tier whose eligibility does not hold → fallback tier. A condition whose threshold is `null`
is never decided as met: when the first tier that is not ruled out has one, the answer is `undetermined`.

Speed: per standard, everything that does not depend on the answers (grade ranks, which scopes an article
belongs to, the explanation marks for each article × grade) is computed once in `compile_standard` and
reused; a conclusion is then one pass over the answers plus a few additions per condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

import backend.standards.knowledge as knowledge_
from backend.standards.answer_checks import check_answers
from backend.standards.compiled import (
    EPS,
    CompiledCondition,
    CompiledStandard,
    CompiledTier,
    compile_standard,
)
from backend.standards.conclusion import (
    Conclusion,
    ConclusionStatus,
    PrerequisiteResult,
    RuleResult,
    TierResult,
)
from backend.standards.conclusion import ConditionResult as _ConditionResult
from backend.standards.problems import AnswerValidationError, Problem
from backend.standards.schemas import AnswerValue, FacilityFigures, Standard, Tier, Verification
from backend.standards.tally import TALLIES, Tally, combine_raters, tally_answers
from backend.vocabulary import Message

__all__ = [
    "CompiledStandard",
    "SubmitReadiness",
    "combine_raters",
    "compile_standard",
    "conclude",
    "eligibility",
    "submit_readiness",
]

FIGURE_ATTRS = {
    "medicalStaffCount": "medical_staff_count",
    "servicePopulation": "service_population",
    "bedCount": "bed_count",
}
_NO_FACILITY = FacilityFigures()


# ---------------------------------------------------------------------------------------------- conditions, tiers


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


def _condition(cond: CompiledCondition, tally: Tally) -> _ConditionResult:
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
    return _ConditionResult(
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


def _tier(ct: CompiledTier, tally: Tally, facility: FacilityFigures) -> TierResult:
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


# ---------------------------------------------------------------------------------------------- conclude


def conclude(
    standard: Standard | CompiledStandard,
    answers: Mapping[str, AnswerValue],
    facility: FacilityFigures | None = None,
    prerequisites: Mapping[str, bool] | None = None,
    targets: Mapping[str, float] | None = None,
) -> Conclusion:
    """The conclusion for one facility (or inspection) under `standard`.

    answers: article number → grade code or "NA" (graded), points or a measured indicator value (points;
      veto items by id → True when the requirement is met), True/False or "NA" (pass/fail); weighted:
      rater code → overall score, or a mapping of that rater's checklist answers.
    facility: figures used by tier eligibility (None: none known).
    prerequisites: prerequisite id → passed.
    targets: a points standard's indicator targets the subject set for itself (article → value), scored against
      instead of the national value; each indicator result says which it used (``targetSource``).
    Raises AnswerValidationError (with JSON paths) for answers that do not fit the standard.
    """
    c = standard if isinstance(standard, CompiledStandard) else compile_standard(standard)
    std = c.standard
    prereq = prerequisites if prerequisites is not None else {}
    tally = tally_answers(c, answers, targets)
    known_prereqs = sum(1 for p in std.prerequisites if p.id in prereq)
    if tally.invalid or known_prereqs != len(prereq) or any(not isinstance(v, bool) for v in prereq.values()):
        problems = check_answers(std, answers, prereq) or [
            Problem("$.answers", "answers do not fit the standard")
        ]
        raise AnswerValidationError(problems)

    # 1. Prerequisites gate.
    prereq_results = []
    blocking = []
    verified = True
    for p in std.prerequisites:
        value = prereq.get(p.id)
        outcome: Literal["passed", "failed", "missing"] = (
            "missing" if value is None else ("passed" if value else "failed")
        )
        prereq_results.append(PrerequisiteResult(id=p.id, text=p.text, outcome=outcome))
        if outcome != "passed":
            blocking.append(
                f"prerequisite {p.id} {'failed' if outcome == 'failed' else 'not answered'}: {p.text}"
            )
            verified = verified and p.verification == "verified"
    if blocking:
        failed = any(r.outcome == "failed" for r in prereq_results)
        said = [
            Message(code=f"explain_prerequisite_{r.outcome}", params={"id": r.id, "text": r.text})
            for r in prereq_results
            if r.outcome != "passed"
        ]  # explain_prerequisite_failed, explain_prerequisite_missing
        known = knowledge_.unknown_for_all(
            std,
            f"not evaluated: {'; '.join(blocking)}",
            Message(code="explain_not_evaluated", params={"prerequisites": said}),
            "not_reached" if failed else "undetermined",
        )
        return Conclusion(
            standard_id=std.id,
            status="not_evaluated",
            tier=None,
            tier_label=None,
            reasons=("not evaluated: a prerequisite (前置条件) is not met", *blocking),
            verification="verified" if verified else "illustrative",
            prerequisites=tuple(prereq_results),
            standings=known[0],
            known=known[3],
            known_message=known[4],
        )
    prereqs = tuple(prereq_results)

    # 2. Completeness.
    if tally.missing:
        shown = ", ".join(tally.missing[:20]) + (" …" if len(tally.missing) > 20 else "")
        known = knowledge_.unknown_for_all(
            std,
            f"incomplete: {len(tally.missing)} not answered: {shown}",
            Message(code="explain_incomplete", params={"n": len(tally.missing), "items": shown}),
        )
        return Conclusion(
            standard_id=std.id,
            status="incomplete",
            tier=None,
            tier_label=None,
            reasons=(f"incomplete: {len(tally.missing)} not answered: {shown}",),
            verification=std.verification,
            prerequisites=prereqs,
            missing=tuple(tally.missing),
            score=tally.score,
            standings=known[0],
            known=known[3],
            known_message=known[4],
        )

    fallback = std.determination.fallback
    figures = facility if facility is not None else _NO_FACILITY
    tier_results = tuple(_tier(ct, tally, figures) for ct in c.tiers)

    # 3. Decisive failures: veto, critical item, mandatory indicator.
    if tally.decisive:
        return _result(
            knowledge_.decisive(std, tally.decisive),
            c,
            "determined",
            fallback.code,
            fallback.label,
            [*tally.decisive, f"→ {fallback.code} ({fallback.label})"],
            len(c.tiers),
            prereqs,
            tier_results,
            tally,
        )

    # 4. Tiers in order, then the fallback.
    reasons = []
    for i, result in enumerate(tier_results):
        reasons.append(result.reason)
        if result.outcome == "reached":
            return _result(
                knowledge_.from_tiers(tier_results, fallback),
                c,
                "determined",
                result.code,
                result.label,
                reasons,
                i,
                prereqs,
                tier_results,
                tally,
            )
        if result.outcome == "undecidable":
            reasons.append(
                f"undetermined: {result.code} ({result.label}) can be neither confirmed nor ruled out"
            )
            return _result(
                knowledge_.from_tiers(tier_results, fallback),
                c,
                "undetermined",
                None,
                None,
                reasons,
                i,
                prereqs,
                tier_results,
                tally,
            )
    reasons.append(f"no tier reached → {fallback.code} ({fallback.label})")
    return _result(
        knowledge_.from_tiers(tier_results, fallback),
        c,
        "determined",
        fallback.code,
        fallback.label,
        reasons,
        len(c.tiers),
        prereqs,
        tier_results,
        tally,
    )


def _result(
    known: knowledge_.Knowledge,
    c: CompiledStandard,
    status: ConclusionStatus,
    tier: str | None,
    label: str | None,
    reasons: Sequence[str],
    upto: int,
    prereqs: tuple[PrerequisiteResult, ...],
    tiers: tuple[TierResult, ...],
    tally: Tally,
) -> Conclusion:
    # Verified only if every article and every tier rule passed through up to the decision is verified.
    verified = c.all_verified and all(t.verified for t in c.tiers[: upto + 1])
    verification: Verification = "verified" if verified else "illustrative"
    return Conclusion(
        standard_id=c.standard.id,
        status=status,
        tier=tier,
        tier_label=label,
        reasons=tuple(reasons),
        verification=verification,
        prerequisites=prereqs,
        tiers=tiers,
        score=tally.score,
        standings=known[0],
        highest_certain=known[1],
        highest_certain_label=known[2],
        known=known[3],
        known_message=known[4],
    )


class SubmitReadiness(NamedTuple):
    """Whether an inspection may be submitted: every prerequisite and every article (N/A where allowed counts as
    an answer; in points mode every veto item, in weighted mode every rater) answered."""

    ready: bool
    missing_prerequisites: tuple[str, ...]
    missing: tuple[str, ...]
    reason: str  # English, for logs and API clients
    message: Message  # the reason as a person reads it


def submit_readiness(
    standard: Standard | CompiledStandard,
    answers: Mapping[str, AnswerValue],
    prerequisites: Mapping[str, bool] | None = None,
) -> SubmitReadiness:
    """The rule ``submitInspection`` should apply (pure). Raises AnswerValidationError as ``conclude`` does."""
    c = standard if isinstance(standard, CompiledStandard) else compile_standard(standard)
    prereq = prerequisites if prerequisites is not None else {}
    tally = TALLIES[c.mode](c, answers)
    if tally.invalid:
        raise AnswerValidationError(
            check_answers(c.standard, answers, prereq)
            or [Problem("$.answers", "answers do not fit the standard")]
        )
    unanswered = tuple(p.id for p in c.standard.prerequisites if not isinstance(prereq.get(p.id), bool))
    missing = tuple(tally.missing)
    parts = []
    said: list[Message] = []
    if unanswered:
        parts.append(f"prerequisite(s) not answered: {', '.join(unanswered)}")
        said.append(Message(code="missing_prerequisites", params={"items": ", ".join(unanswered)}))
    if missing:
        shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
        parts.append(f"{len(missing)} not answered: {shown}")
        said.append(Message(code="missing_articles", params={"n": len(missing), "items": shown}))
    return SubmitReadiness(
        ready=not parts,
        missing_prerequisites=unanswered,
        missing=missing,
        reason="; ".join(parts) if parts else "every prerequisite and every article is answered",
        message=Message(code="missing_parts", params={"parts": said})
        if said
        else Message(code="missing_none"),
    )
