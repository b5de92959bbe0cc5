"""Unannounced re-checks of a held title (不定期抽查, ``mch.py``): a province review opened without an
application; a failure gives a deadline to fix (限期整改, ``fixWithinMonths``), a failure while fixing revokes
the title (取消称号), a pass while fixing closes the fix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import ensure_round_covers, round_by_id, round_visible
from backend.inspections.scope import ensure_facility_visible
from backend.inspections.tables import Inspection
from backend.programme.mch import ACTIVE, effective_status, today_in_china
from backend.programme.mch_titles import (
    RECHECK_COLUMNS,
    after_recheck,
    decide,
    latest_conclusion,
    recheck_out,
    title_out,
    write_title_move,
)
from backend.programme.rules import ensure_office_level, fitting_standard
from backend.programme.title_schemas import DecideRecheckRequest, OpenRecheckRequest, RecheckOut, TitleOut
from backend.programme.title_tables import ProgrammeTitle, TitleRecheck
from backend.review.tables import ConfirmedConclusion


async def _title_row(title_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = await ProgrammeTitle.select().where(ProgrammeTitle.id == title_id).first()
    if row is None:
        raise NotFound(f"title {title_id} does not exist", code="title_not_found")
    return row


async def open_recheck(
    *, user: AuthUser, title_id: UUID, data: OpenRecheckRequest, now: datetime | None = None
) -> RecheckOut:
    """An unannounced re-check: a province review of the named county at a later round, with no application
    (the county is not told; its accounts see no review inspection). The team is set as for any review."""
    ensure_role(user, "admin", "office")
    await ensure_office_level(user, "province", "re-check titles at")
    title = await _title_row(title_id)
    await ensure_facility_visible(user, title["facility"])
    today = today_in_china(now)
    status = effective_status(title, today)
    if status not in ACTIVE:
        raise Conflict(f"the title is {status}; only a held title is re-checked", code="title_not_active")
    if data.round_id == title["round"]:
        raise RuleRefused("a re-check runs at a later round than the naming", code="same_round")
    round_row = await round_by_id(data.round_id)
    if not await round_visible(user, round_row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    await ensure_round_covers(round_row, title["facility"])
    standard_id = data.standard_version_id or title["standard_version_id"]
    await fitting_standard(standard_id, title["facility"])
    async with write_tx():
        if await Inspection.exists().where(
            (Inspection.facility == title["facility"])
            & (Inspection.round == data.round_id)
            & (Inspection.stage == "province")
        ):
            raise Conflict(
                "the county already has a province review at that round", code="duplicate_inspection"
            )
        inspection = Inspection(
            facility=title["facility"],
            round=data.round_id,
            stage="province",
            standard_version_id=standard_id,
        )
        await inspection.save()
        recheck = TitleRecheck(
            title=title_id, inspection=inspection.id, checks=title["status"], opened_by=user.id
        )
        await recheck.save()
        await record(
            user_id=str(user.id),
            action="title.recheck_open",
            entity=f"inspection/{inspection.id}",
            details={"title": str(title_id), "round": str(data.round_id), "checks": title["status"]},
        )
    row = await TitleRecheck.select(*RECHECK_COLUMNS).where(TitleRecheck.id == recheck.id).first()
    assert row is not None
    return recheck_out(row)


async def decide_recheck(
    *, user: AuthUser, recheck_id: UUID, data: DecideRecheckRequest, now: datetime | None = None
) -> TitleOut:
    """The re-check's outcome from its signed conclusion: a failure of a held title gives a fix deadline, a failure
    while fixing revokes the title, a pass while fixing closes the fix."""
    ensure_role(user, "admin", "office")
    await ensure_office_level(user, "province", "decide re-checks at")
    recheck = await TitleRecheck.select().where(TitleRecheck.id == recheck_id).first()
    if recheck is None:
        raise NotFound(f"re-check {recheck_id} does not exist", code="recheck_not_found")
    title = await _title_row(recheck["title"])
    await ensure_facility_visible(user, title["facility"])
    if recheck["outcome"] != "open":
        raise Conflict(f"the re-check is already decided ({recheck['outcome']})", code="recheck_decided")
    conclusion = await latest_conclusion(ConfirmedConclusion.inspection == recheck["inspection"])
    if conclusion is None:
        raise Conflict("the re-check has no signed conclusion yet", code="recheck_not_concluded")
    if conclusion["status"] in ("determined", "not_evaluated"):
        passed, decided_by, reason = decide(conclusion, title["tier"], None)
        if data.outcome is not None and (data.outcome == "passed") != passed:
            raise Conflict(
                f"the signed conclusion ({conclusion['tier_label'] or conclusion['status']}) decides the "
                f"re-check: {'passed' if passed else 'failed'}",
                code="outcome_contradicts_conclusion",
            )
    else:
        if data.outcome is None:
            raise Conflict(
                "no threshold decides the re-check's conclusion: the province gives the outcome and its reason",
                code="decision_needs_reason",
            )
        _, decided_by, reason = decide(conclusion, title["tier"], data.reason)
        passed = data.outcome == "passed"
    today = today_in_china(now)
    moved = after_recheck(title, passed=passed, today=today)
    async with write_tx():
        await TitleRecheck.update(
            {
                TitleRecheck.outcome: "passed" if passed else "failed",
                TitleRecheck.decided_by: decided_by,
                TitleRecheck.reason: reason,
                TitleRecheck.fix_due_on: moved.fix_due_on,
                TitleRecheck.decided_at: datetime.now(UTC),
            }
        ).where((TitleRecheck.id == recheck_id) & (TitleRecheck.outcome == "open"))
        await write_title_move(title["id"], moved)
        await record(
            user_id=str(user.id),
            action="title.recheck_decide",
            entity=f"facility/{title['facility']}",
            details={
                "title": str(title["id"]),
                "recheck": str(recheck_id),
                "outcome": "passed" if passed else "failed",
                "decidedBy": decided_by,
                "status": moved.status,
                **({"fixDueOn": moved.fix_due_on.isoformat()} if moved.fix_due_on else {}),
            },
        )
    return await title_out(title["id"], today)
