"""A school's routine schedule (``logistics.py``): one school inspection (stage ``self``) per visit day, every
``everyDays`` days over the term, and the visits with their tally of the checklist."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import ensure_round_covers, round_by_id
from backend.inspections.scope import ensure_facility_visible
from backend.inspections.tables import Inspection
from backend.programme.kinds import kind_of
from backend.programme.logistics import tally_visit, visit_days
from backend.programme.logistics_schemas import CreateScheduleRequest, ScheduleOut, VisitOut
from backend.programme.logistics_tables import RoutineSchedule, RoutineVisit
from backend.programme.rules import fitting_standard
from backend.review.answers import read_answers
from backend.standards.schemas import PassFailScoring, Standard
from backend.standards.services import get_standard

MAX_VISITS = 200


async def _school_standard(facility_id: UUID, standard_id: str) -> Standard:
    """The routine checklist of a schedule: a pass/fail standard of the school logistics kind."""
    standard = await fitting_standard(standard_id, facility_id)
    kind = kind_of(standard)
    if kind is None or kind.code != "school_logistics" or not isinstance(standard.scoring, PassFailScoring):
        raise Conflict(
            f"{standard_id} is not a routine pass/fail checklist of school logistics",
            code="not_a_routine_checklist",
        )
    return standard


async def create_schedule(
    *, user: AuthUser, facility_id: UUID, round_id: UUID, data: CreateScheduleRequest
) -> ScheduleOut:
    ensure_role(user, "admin", "office", "clinic")
    await ensure_facility_visible(user, facility_id)
    round_row = await round_by_id(round_id)
    await ensure_round_covers(round_row, facility_id)
    await _school_standard(facility_id, data.standard_version_id)
    if data.ends_on < data.starts_on:
        raise RuleRefused("endsOn is before startsOn", code="bad_dates")
    for edge in (data.starts_on, data.ends_on):
        if (round_row["starts_on"] and edge < round_row["starts_on"]) or (
            round_row["ends_on"] and edge > round_row["ends_on"]
        ):
            raise RuleRefused("the schedule runs outside the round's dates", code="outside_round")
    count = (data.ends_on - data.starts_on).days // data.every_days + 1
    if count > MAX_VISITS:
        raise RuleRefused(f"{count} visits; at most {MAX_VISITS} per schedule", code="too_many_visits")
    days = visit_days(data.starts_on, data.ends_on, data.every_days)
    async with write_tx():
        if await RoutineSchedule.exists().where(
            (RoutineSchedule.facility == facility_id) & (RoutineSchedule.round == round_id)
        ):
            raise Conflict("the school has a routine schedule at this round", code="duplicate_schedule")
        schedule = RoutineSchedule(
            facility=facility_id,
            round=round_id,
            standard_version_id=data.standard_version_id,
            every_days=data.every_days,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            fix_within_days=data.fix_within_days,
            created_by=user.id,
        )
        await schedule.save()
        for day in days:
            inspection = Inspection(
                facility=facility_id,
                round=round_id,
                stage="self",
                standard_version_id=data.standard_version_id,
            )
            await inspection.save()
            await RoutineVisit(schedule=schedule.id, due_on=day, inspection=inspection.id).save()
        await record(
            user_id=str(user.id),
            action="routine.schedule",
            entity=f"facility/{facility_id}",
            details={"round": str(round_id), "everyDays": data.every_days, "visits": len(days)},
        )
    return await get_schedule(user=user, facility_id=facility_id, round_id=round_id)


async def schedule_row(facility_id: UUID, round_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await RoutineSchedule.select()
        .where((RoutineSchedule.facility == facility_id) & (RoutineSchedule.round == round_id))
        .first()
    )
    if row is None:
        raise NotFound("the school has no routine schedule at this round", code="schedule_not_found")
    return row


async def schedule_visits(schedule_id: UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await RoutineVisit.select(
            RoutineVisit.due_on,
            RoutineVisit.inspection,
            RoutineVisit.inspection.status.as_alias("status"),
        )
        .where(RoutineVisit.schedule == schedule_id)
        .order_by(RoutineVisit.due_on)
    )
    return rows


async def visit_outs(standard: Standard, visits: list[dict[str, Any]]) -> list[VisitOut]:
    out = []
    for visit in visits:
        answers = await read_answers(visit["inspection"])
        passed, applicable, critical = tally_visit(standard, answers.items)
        out.append(
            VisitOut(
                inspection_id=visit["inspection"],
                due_on=visit["due_on"],
                status=visit["status"],
                passed=passed,
                applicable=applicable,
                critical_failed=critical,
            )
        )
    return out


async def get_schedule(*, user: AuthUser, facility_id: UUID, round_id: UUID) -> ScheduleOut:
    await ensure_facility_visible(user, facility_id)
    row = await schedule_row(facility_id, round_id)
    standard = await get_standard(standard_id=row["standard_version_id"])
    return ScheduleOut(
        id=row["id"],
        facility_id=facility_id,
        round_id=round_id,
        standard_id=row["standard_version_id"],
        every_days=row["every_days"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        fix_within_days=row["fix_within_days"],
        visits=await visit_outs(standard, await schedule_visits(row["id"])),
    )
