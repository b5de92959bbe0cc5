"""A round's stage calendar (seed 000 篇一: applications by 4月15日, county by 5月10日, city by 6月1日, province
by 6月20日), the application window, and the office's late-application override.

- The programme proposes its dates (``programmeSettings.stageDeadlines``, "MM-DD", read from the published
  standards; where two disagree, the earlier date); a round's own calendar is set by admin or an office whose
  region holds the round's (audited ``round.calendar``), from the programme's dates or its own.
- A date is a day in China's calendar: the stage closes at the end of that day (UTC+8).
- Once a round's application deadline has passed, ``POST /api/applications`` is refused (409
  ``application_window_closed``) unless an office has let that facility in late with a written reason
  (``LateApplication``, audited ``application.late_override``). A round without its own calendar has no window.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import as_utc, write_tx
from backend.errors import Conflict, Forbidden, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import ensure_round_covers, round_by_id, round_visible
from backend.inspections.scope import ensure_facility_visible, visible_facility_ids
from backend.inspections.tables import Application
from backend.programme.stage_schemas import (
    CalendarOut,
    LateApplicationOut,
    LateApplicationRequest,
    ProgrammeDeadlineOut,
    SetCalendarRequest,
)
from backend.programme.tables import LateApplication, RoundDeadline
from backend.registry.scope import region_subtree
from backend.standards.services import get_standard
from backend.standards.tables import StandardVersion

DEADLINE_STAGES = ("application", "county", "city", "province")
CHINA = timezone(timedelta(hours=8), "UTC+8")  # no daylight saving in China


def closes_at(due_on: date) -> datetime:
    """The end of ``due_on`` in China, as a UTC instant."""
    return datetime.combine(due_on + timedelta(days=1), time(), CHINA).astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


async def programme_deadlines(year: int) -> dict[str, tuple[date, list[str]]]:
    """The programme's date per stage in ``year`` (the earliest where published standards disagree), with the
    standards that propose it."""
    out: dict[str, tuple[date, list[str]]] = {}
    rows = await StandardVersion.select(StandardVersion.id).where(StandardVersion.status == "published")
    for row in sorted(rows, key=lambda r: r["id"]):
        standard = await get_standard(standard_id=row["id"])
        for stage, month_day in standard.programme_settings.stage_deadlines.items():
            month, day = (int(part) for part in month_day.split("-"))
            try:
                due = date(year, month, day)
            except ValueError:  # 02-29 in a common year
                due = date(year, month, day - 1)
            if stage not in out or due < out[stage][0]:
                out[stage] = (due, [standard.id])
            elif due == out[stage][0]:
                out[stage][1].append(standard.id)
    return out


async def round_deadlines(round_id: UUID) -> dict[str, dict[str, Any]]:
    rows = await RoundDeadline.select(
        *RoundDeadline.all_columns(),
        RoundDeadline.set_by.display_name.as_alias("set_by_name"),
        RoundDeadline.set_by.username.as_alias("set_by_username"),
    ).where(RoundDeadline.round == round_id)
    return {row["stage"]: row for row in rows}


async def _round_in_scope(user: AuthUser, round_id: UUID) -> dict[str, Any]:
    ensure_role(user, "admin", "office")
    row = await round_by_id(round_id)
    if not await round_visible(user, row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    return row


async def calendar_base(user: AuthUser, round_id: UUID) -> tuple[dict[str, Any], CalendarOut]:
    """The round and its calendar without progress (``stage_progress`` adds it)."""
    round_row = await _round_in_scope(user, round_id)
    own = await round_deadlines(round_id)
    proposed = await programme_deadlines(round_row["year"])
    latest = max(own.values(), key=lambda r: as_utc(r["set_at"]), default=None)
    return round_row, CalendarOut(
        round_id=round_id,
        year=round_row["year"],
        set=bool(own),
        stages=[],
        programme=[
            ProgrammeDeadlineOut(stage=stage, due_on=proposed[stage][0], standard_ids=proposed[stage][1])  # type: ignore[arg-type]
            for stage in DEADLINE_STAGES
            if stage in proposed
        ],
        set_by_name=(latest["set_by_name"] or latest["set_by_username"]) if latest else None,
        set_at=latest["set_at"] if latest else None,
    )


async def set_calendar(*, user: AuthUser, round_id: UUID, data: SetCalendarRequest) -> None:
    round_row = await _round_in_scope(user, round_id)
    # the plan's dates are its owner's: an office whose region holds the round's
    if user.role == "office" and (
        round_row["region"] is None
        or user.region_id is None
        or round_row["region"] not in await region_subtree(user.region_id)
    ):
        raise Forbidden(
            "a round's calendar is set by the office of the round's region (or above) or by admin",
            code="calendar_above_scope",
        )
    wanted: dict[str, date] = {}
    if data.from_programme:
        wanted = {stage: due for stage, (due, _) in (await programme_deadlines(round_row["year"])).items()}
    wanted.update(data.deadlines.given())
    dated = [(stage, wanted[stage]) for stage in DEADLINE_STAGES if stage in wanted]
    for (first, first_due), (then, then_due) in pairwise(dated):
        if then_due < first_due:
            raise RuleRefused(
                f"the {then} deadline ({then_due}) comes before the {first} deadline ({first_due})",
                code="deadlines_out_of_order",
                stage=then,
            )
    before = {stage: row["due_on"].isoformat() for stage, row in (await round_deadlines(round_id)).items()}
    after = {stage: due.isoformat() for stage, due in dated}
    async with write_tx():
        await RoundDeadline.delete().where(RoundDeadline.round == round_id)
        if dated:
            await RoundDeadline.insert(
                *[
                    RoundDeadline(round=round_id, stage=stage, due_on=due, set_by=user.id)
                    for stage, due in dated
                ]
            )
        await record(
            user_id=str(user.id),
            action="round.calendar",
            entity=f"round/{round_id}",
            details={"before": before, "after": after, "fromProgramme": data.from_programme},
        )


async def late_override(facility_id: UUID, round_id: UUID) -> UUID | None:
    row = (
        await LateApplication.select(LateApplication.id)
        .where((LateApplication.facility == facility_id) & (LateApplication.round == round_id))
        .order_by(LateApplication.granted_at, ascending=False)
        .first()
    )
    return row["id"] if row else None


async def ensure_application_window(facility_id: UUID, round_id: UUID) -> UUID | None:
    """Refuse an application after the round's application deadline (409 ``application_window_closed``) unless
    an office let the facility in late; returns that override's id (None when the window is open)."""
    row = (
        await RoundDeadline.select(RoundDeadline.due_on)
        .where((RoundDeadline.round == round_id) & (RoundDeadline.stage == "application"))
        .first()
    )
    if row is None or _now() < closes_at(row["due_on"]):
        return None
    override = await late_override(facility_id, round_id)
    if override is None:
        raise Conflict(
            f"applications to this round closed at the end of {row['due_on']} (China time); "
            "an office may let a facility in late with a written reason",
            code="application_window_closed",
            closed_on=row["due_on"].isoformat(),
        )
    return override


async def grant_late_application(
    *, user: AuthUser, round_id: UUID, data: LateApplicationRequest
) -> LateApplicationOut:
    round_row = await _round_in_scope(user, round_id)
    await ensure_facility_visible(user, data.facility_id)
    await ensure_round_covers(round_row, data.facility_id)
    reason = data.reason.strip()
    if not reason:
        raise RuleRefused("a late application is let in with a written reason", code="reason_required")
    deadline = (await round_deadlines(round_id)).get("application")
    if deadline is None or _now() < closes_at(deadline["due_on"]):
        raise Conflict(
            "the round's application window is still open (or has no deadline): the facility applies as usual",
            code="application_window_open",
        )
    async with write_tx():
        late = LateApplication(round=round_id, facility=data.facility_id, reason=reason, granted_by=user.id)
        await late.save()
        await record(
            user_id=str(user.id),
            action="application.late_override",
            entity=f"facility/{data.facility_id}",
            details={
                "round": str(round_id),
                "override": str(late.id),
                "reason": reason,
                "closedOn": deadline["due_on"].isoformat(),
            },
        )
    return (await list_late_applications(user=user, round_id=round_id, only=late.id))[0]


async def list_late_applications(
    *, user: AuthUser, round_id: UUID, only: UUID | None = None
) -> list[LateApplicationOut]:
    await _round_in_scope(user, round_id)
    visible = await visible_facility_ids(user)
    query = (
        LateApplication.select(
            *LateApplication.all_columns(),
            LateApplication.facility.name.as_alias("facility_name"),
            LateApplication.granted_by.display_name.as_alias("granted_by_name"),
            LateApplication.granted_by.username.as_alias("granted_by_username"),
        )
        .where(LateApplication.round == round_id)
        .order_by(LateApplication.granted_at)
    )
    if only is not None:
        query = query.where(LateApplication.id == only)
    rows = [r for r in await query if visible is None or r["facility"] in visible]
    applied = {
        r["facility"]
        for r in await Application.select(Application.facility).where(
            (Application.round == round_id) & (Application.status != "withdrawn")
        )
    }
    return [
        LateApplicationOut(
            id=r["id"],
            round_id=round_id,
            facility_id=r["facility"],
            facility_name=r["facility_name"],
            reason=r["reason"],
            granted_by_name=r["granted_by_name"] or r["granted_by_username"],
            granted_at=r["granted_at"],
            applied=r["facility"] in applied,
        )
        for r in rows
    ]
