"""Preliminary conclusions (初步结论): computed now from the answers, confirmed and stored.

Who may do what (guards check the role; these functions check the scope again):
- computed conclusion: whoever may read the inspection; a clinic only for a self-assessment.
- confirm: an office whose region holds the facility (stages up to its own level) or admin; the inspection
  must be a submitted review with no open conflicts and a complete result.
- stored conclusions: office in scope and admin (backend/review/stored_conclusions.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.audit.services import record
from backend.db import current_engine, write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.hooks import Hooks
from backend.inspections.schemas import REVIEW_STAGES
from backend.inspections.scope import ensure_facility_visible, ensure_inspection_visible
from backend.inspections.services import LEVEL_RANK
from backend.inspections.tables import Inspection
from backend.registry.tables import Region
from backend.review import submissions
from backend.review.answers import (
    Answers,
    conclude_row,
    engine_input,
    facility_figures,
    inspection_columns,
    read_answers,
    read_registers,
)
from backend.review.schemas import (
    ComputedFrom,
    ConclusionView,
    ConfirmRequest,
    FiguresUsed,
    IncompleteSubmissionOut,
    StoredConclusion,
    SubmitIncompleteRequest,
)
from backend.review.stored_conclusions import read_stored
from backend.review.tables import ConfirmedConclusion, IncompleteSubmission
from backend.review.verdicts import decided, ensure_round_open, move_list, proposed, rules_for
from backend.standards.services import get_standard
from sync.api import EDITABLE, lock_inspection, move_inspection


async def _inspection(inspection_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await Inspection.select(
            *inspection_columns(),
        )
        .where(Inspection.id == inspection_id)
        .first()
    )
    if row is None:
        raise NotFound(f"inspection {inspection_id} does not exist", code="inspection_not_found")
    return row


def _ensure_may_read_conclusion(user: AuthUser, row: Mapping[str, Any]) -> None:
    if user.role == "clinic" and row["stage"] != "self":
        # A clinic sees returned opinions, but the review's conclusion is the office's until it is filed.
        raise Forbidden("a clinic reads the conclusion of its own self-assessment only", code="out_of_scope")


async def compute_conclusion(*, user: AuthUser, inspection_id: UUID) -> ConclusionView:
    await ensure_inspection_visible(user, inspection_id)
    row = await _inspection(inspection_id)
    _ensure_may_read_conclusion(user, row)
    return await _view(row)


async def _view(row: Mapping[str, Any]) -> ConclusionView:
    standard = await get_standard(standard_id=row["standard_version_id"])
    answers = await read_answers(row["id"])
    figures = facility_figures(row)
    result, answer_count, prereq_count = await conclude_row(standard, answers, row)
    provisional_reason = None
    if answers.open_conflicts:
        provisional_reason = (
            f"{answers.open_conflicts} open conflict(s) on {', '.join(sorted(answers.conflicted_items))}: "
            "the current values there are provisional"
        )
    return ConclusionView(
        inspection_id=row["id"],
        facility_id=row["facility"],
        round_id=row["round"],
        stage=row["stage"],
        standard_id=standard.id,
        provisional=answers.open_conflicts > 0,
        provisional_reason=provisional_reason,
        computed_at=datetime.now(UTC),
        computed_from=ComputedFrom(
            inspection_version=answers.version,
            inspection_status=answers.status,
            answer_count=answer_count,
            prerequisite_count=prereq_count,
            open_conflicts=answers.open_conflicts,
            conflicted_items=sorted(answers.conflicted_items),
            facility=FiguresUsed(
                medical_staff_count=figures.medical_staff_count,
                service_population=figures.service_population,
            ),
        ),
        conclusion=result,
        submitted_incomplete=(
            await submissions.current_mark(row["id"], row["submitted_at"])
            if row["status"] == "submitted"
            else None
        ),
        verdict=(
            await proposed(
                row,
                standard,
                await rules_for(row, standard, result, engine_input(standard, answers.items)),
            )
            if row["stage"] in REVIEW_STAGES and result.status != "incomplete"
            else None
        ),
    )


async def _ensure_office_level(user: AuthUser, stage: str) -> None:
    """An office confirms stages up to its own level (a city office does not sign the provincial review)."""
    if user.role != "office":
        return
    region = await Region.select(Region.level).where(Region.id == user.region_id).first()
    level = region["level"] if region else "county"
    if LEVEL_RANK[stage] > LEVEL_RANK.get(level, 0):
        raise Forbidden(f"a {level} office cannot confirm the {stage} review", code="stage_above_scope")


async def _lock_inspection(inspection_id: UUID) -> None:
    # SQLite's write transaction is BEGIN IMMEDIATE (already exclusive); PostgreSQL needs the row lock that
    # sync push takes, so no push moves the inspection between the read and the stored conclusion.
    await lock_inspection(current_engine(), inspection_id)


async def _office_review(user: AuthUser, inspection_id: UUID, refusal: str) -> dict[str, Any]:
    """The review-stage inspection an office acts on: in its region and at its level, or refused."""
    ensure_role(user, "admin", "office")
    row = await _inspection(inspection_id)
    await ensure_facility_visible(user, row["facility"])
    if row["stage"] not in REVIEW_STAGES:
        raise Conflict(refusal, code="not_a_review")
    await _ensure_office_level(user, row["stage"])
    return row


async def confirm_conclusion(
    *, user: AuthUser, inspection_id: UUID, hooks: Hooks, data: ConfirmRequest | None = None
) -> StoredConclusion:
    row = await _office_review(
        user,
        inspection_id,
        "a self-assessment is not signed off; the preliminary conclusion belongs to a review stage",
    )
    standard = await get_standard(standard_id=row["standard_version_id"])
    async with write_tx():
        await _lock_inspection(inspection_id)
        row = await _inspection(inspection_id)
        if row["status"] != "submitted":
            raise Conflict(
                f"the inspection is {row['status']}; only a submitted inspection is confirmed",
                code="inspection_not_submitted",
            )
        mark = await submissions.current_mark(inspection_id, row["submitted_at"])
        if mark is not None:
            raise Conflict(
                f"the inspection was submitted incomplete by {mark.submitted_by_name} ({mark.reason}); "
                "its conclusion is not signed off as a tier: return it for the team to complete",
                code="submitted_incomplete",
            )
        answers = await read_registers(inspection_id, row["version"], row["status"])
        ensure_no_open_conflicts(answers)
        result, answer_count, _ = await conclude_row(standard, answers, row)
        if result.status == "incomplete":
            raise Conflict(
                f"the result is incomplete: {len(result.missing)} item(s) not answered",
                code="conclusion_incomplete",
                missing=list(result.missing),
            )
        unanswered = [p.id for p in result.prerequisites if p.outcome == "missing"]
        if result.status == "not_evaluated" and unanswered:
            # "not evaluated" is a result only when a prerequisite failed; unanswered ones are a gap
            raise Conflict(
                f"prerequisite(s) {', '.join(unanswered)} not answered: the result is not known yet",
                code="conclusion_incomplete",
                missing=unanswered,
            )
        if await ConfirmedConclusion.exists().where(
            (ConfirmedConclusion.inspection == inspection_id)
            & (ConfirmedConclusion.computed_from_version == answers.version)
        ):
            raise Conflict(
                "this inspection's conclusion is already confirmed at its current version",
                code="already_confirmed",
            )
        rules = await rules_for(row, standard, result, engine_input(standard, answers.items))
        await ensure_round_open(row["round"], rules.province)
        decision = decided(standard, rules, facility_figures(row), data)
        await move_list(
            user=user, hooks=hooks, row=row, inspection_id=inspection_id, tier=decision.tier, data=data
        )
        stored = ConfirmedConclusion(
            inspection=inspection_id,
            facility=row["facility"],
            round=row["round"],
            stage=row["stage"],
            standard_version_id=standard.id,
            status="not_evaluated" if decision.tier == "not_evaluated" else "determined",
            tier=decision.tier,
            tier_label=decision.tier_label,
            verification=decision.conclusion.verification,
            explanation=msgspec.json.encode(decision.conclusion).decode(),
            computed_from_version=answers.version,
            answer_count=answer_count,
            confirmed_by=user.id,
            confirmed_at=datetime.now(UTC),
            decided_by=decision.decided_by,
            decision_reason=decision.reason,
            computed_tier=decision.computed_tier,
            overridden=decision.overridden,
            threshold_setting=(
                rules.setting["id"]
                if rules.setting is not None and decision.conclusion is rules.provincial
                else None
            ),
        )
        # signed off: the inspection is accepted (its devices and the clinic pull the new status); the
        # conclusion keeps the version the sign-off left it at
        moved = await move_inspection(current_engine(), inspection_id, "accept")
        stored.signed_version = moved.version
        await stored.save()
        await record(
            user_id=str(user.id),
            action="conclusion.override" if decision.overridden else "conclusion.confirm",
            entity=f"inspection/{inspection_id}",
            details={
                "conclusion": str(stored.id),
                "status": result.status,
                "tier": decision.tier,
                "decidedBy": decision.decided_by,
                "computedTier": decision.computed_tier,
                "reason": decision.reason,
                "setting": str(rules.setting["id"]) if rules.setting else None,
                "version": answers.version,
                "verification": result.verification,
            },
        )
    return (await read_stored(ConfirmedConclusion.id == stored.id))[0]


async def submit_incomplete(
    *,
    user: AuthUser,
    inspection_id: UUID,
    data: SubmitIncompleteRequest,
) -> IncompleteSubmissionOut:
    """Submit an inspection that is not complete, with the office's reason (audited; review/submissions.py).

    An HTTP route, not a mutation variant: it is the office's decision at its desk (online, with its regional
    scope and stage level), never an offline edit of a team's device; it is accepted or refused at once and
    leaves the mark the sign-off reads. Like a return, it moves the inspection's version so devices pull it."""
    row = await _office_review(
        user,
        inspection_id,
        "a self-assessment is the clinic's to submit; the office submits a review stage incomplete",
    )
    reason = data.reason.strip()
    if not reason:
        raise RuleRefused(
            "submitting an incomplete inspection needs a written reason", code="reason_required"
        )
    standard = await get_standard(standard_id=row["standard_version_id"])
    now = datetime.now(UTC)
    async with write_tx():
        await _lock_inspection(inspection_id)
        row = await _inspection(inspection_id)
        if row["status"] not in EDITABLE:
            raise Conflict(
                f"the inspection is {row['status']}; only one still open for edits is submitted",
                code="inspection_locked",
            )
        answers = await read_registers(inspection_id, row["version"], row["status"])
        ensure_no_open_conflicts(answers)
        missing, missing_message = submissions.missing_words(standard, answers.items)
        await move_inspection(current_engine(), inspection_id, "submit", at=now)
        saved = IncompleteSubmission(
            inspection=inspection_id,
            reason=reason,
            missing=missing,
            missing_message=msgspec.json.encode(missing_message).decode(),
            submitted_by=user.id,
            submitted_at=now,
        )
        await saved.save()
        await record(
            user_id=str(user.id),
            action="inspection.submit_incomplete",
            entity=f"inspection/{inspection_id}",
            details={"from": row["status"], "to": "submitted", "reason": reason, "missing": missing},
        )
    return (await submissions.marks(IncompleteSubmission.id == saved.id))[0]


def ensure_no_open_conflicts(answers: Answers) -> None:
    """A sign-off and an incomplete submit both wait for the team's open conflicts to be resolved."""
    if answers.open_conflicts:
        raise Conflict(
            f"{answers.open_conflicts} conflict(s) are open on "
            f"{', '.join(sorted(answers.conflicted_items))}; resolve them first",
            code="conflicts_open",
            items=sorted(answers.conflicted_items),
        )
