"""Determination and scoring: pure functions from (standard, answers, facility, prerequisites) to a Conclusion.

Order of decision (DESIGN §8): prerequisites gate (`not_evaluated`) → every article answered (`incomplete`)
→ decisive failures (one-vote veto, critical item, mandatory indicator target → fallback tier) → tiers in
order, skipping a tier whose eligibility does not hold → fallback tier. A condition whose threshold is `null`
is never decided as met: when the first tier that is not ruled out has one, the answer is `undetermined`.

Speed: per standard, everything that does not depend on the answers (grade ranks, which scopes an article
belongs to, the explanation marks for each article × grade) is computed once in `compile_standard` and
reused; a conclusion is then one pass over the answers plus a few additions per condition. One tier's
verdict is backend/standards/tiers.py; whether an inspection may be submitted, backend/standards/readiness.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import backend.standards.knowledge as knowledge_
from backend.standards.answer_checks import check_answers
from backend.standards.compiled import CompiledStandard, compile_standard
from backend.standards.conclusion import Conclusion, ConclusionStatus, PrerequisiteResult, TierResult
from backend.standards.problems import AnswerValidationError, Problem
from backend.standards.schemas import AnswerValue, FacilityFigures, Standard, Verification
from backend.standards.tally import Tally, tally_answers
from backend.standards.tiers import tier_result
from backend.vocabulary import Message

__all__ = ["conclude"]

_NO_FACILITY = FacilityFigures()


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
    tier_results = tuple(tier_result(ct, tally, figures) for ct in c.tiers)

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
