"""Fixes of the school logistics programme (限期整改 of a failed critical item, seed 004), raised and closed when a
routine visit is submitted, and stored then: the submit's push calls :func:`fixes_at_submit` inside its own
transaction (``Hooks.inspections_submitted``), so a submitted visit and its fixes commit together and reading
the fixes computes nothing.

- A visit submitted with a failed critical item raises a fix per item, due ``fixWithinDays`` after the visit day.
- A fix closes when a visit due after it passes the item with a photo on it (the photo of the fix): the visit
  submitted now closes the open fixes raised before its day; a fix raised now (visits submitted out of order)
  is closed at once by an already submitted later visit that shows the fix.
- A pass without a photo leaves the fix open; the list says so (``passedWithoutPhoto``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.guards import AuthUser
from backend.inspections.scope import ensure_facility_visible
from backend.programme.logistics import (
    DUTY_OFFICER,
    SUBMITTED,
    checklist_answer,
    checklist_articles,
    tally_visit,
)
from backend.programme.logistics_schedule import schedule_row, schedule_visits
from backend.programme.logistics_schemas import FixOut
from backend.programme.logistics_tables import RoutineFix, RoutineSchedule, RoutineVisit
from backend.programme.mch import today_in_china
from backend.review.answers import read_answers
from backend.standards.schemas import RATER_SEPARATOR, Answer
from backend.standards.services import get_standard
from sync.tables import Photo


async def fix_photo(inspection_id: UUID, article: str) -> UUID | None:
    """The first photo on ``article`` (plain or as the duty officer's item) of a visit."""
    row = (
        await Photo.select(Photo.id)
        .where(
            (Photo.inspection_id == inspection_id)
            & Photo.item_code.is_in([article, f"{DUTY_OFFICER}{RATER_SEPARATOR}{article}"])
            & (Photo.deleted == False)  # noqa: E712 - a SQL comparison
        )
        .order_by(Photo.created_at)
        .first()
    )
    return row["id"] if row else None


async def _closing(
    article: str, after: date, visits: list[dict[str, Any]], answers: Mapping[UUID, Mapping[str, Answer]]
) -> tuple[dict[str, Any], UUID] | None:
    """The first submitted visit due after ``after`` that passed ``article`` with a photo, and that photo."""
    for visit in visits:
        if visit["due_on"] <= after or checklist_answer(answers[visit["inspection"]], article) is not True:
            continue
        photo = await fix_photo(visit["inspection"], article)
        if photo is not None:
            return visit, photo
    return None


async def _close(fix_id: UUID, article: str, facility_id: UUID, visit: dict[str, Any], photo: UUID) -> None:
    await RoutineFix.update(
        {
            RoutineFix.status: "closed",
            RoutineFix.closing_inspection: visit["inspection"],
            RoutineFix.closing_photo_id: photo,
            RoutineFix.closed_on: visit["due_on"],
        }
    ).where(RoutineFix.id == fix_id)
    await record(
        user_id=None,
        action="routine.fix_closed",
        entity=f"facility/{facility_id}",
        details={"fix": str(fix_id), "article": article, "photo": str(photo)},
    )


async def fixes_at_submit(inspection_ids: Collection[UUID]) -> None:
    """Raise and close the fixes a routine visit's submit decides. Runs inside the submit's write transaction
    (its answers, photos and status are written already); an inspection that is no routine visit is left alone."""
    for inspection_id in inspection_ids:
        visit = (
            await RoutineVisit.select(RoutineVisit.schedule, RoutineVisit.due_on)
            .where(RoutineVisit.inspection == inspection_id)
            .first()
        )
        if visit is None:
            continue
        schedule = await RoutineSchedule.select().where(RoutineSchedule.id == visit["schedule"]).first()
        assert schedule is not None
        await _decide(schedule, inspection_id, visit["due_on"])


async def _decide(schedule: dict[str, Any], inspection_id: UUID, due_on: date) -> None:
    standard = await get_standard(standard_id=schedule["standard_version_id"])
    visits = [v for v in await schedule_visits(schedule["id"]) if v["status"] in SUBMITTED]
    answers = {v["inspection"]: (await read_answers(v["inspection"])).items for v in visits}
    if inspection_id not in answers:  # not submitted after all (a refused submit raises nothing)
        return
    facility, round_id = schedule["facility"], schedule["round"]
    # the open fixes raised before this visit's day that it passes with a photo
    this_visit = [v for v in visits if v["inspection"] == inspection_id]
    for open_fix in await RoutineFix.select().where(
        (RoutineFix.facility == facility) & (RoutineFix.round == round_id) & (RoutineFix.status == "open")
    ):
        if open_fix["raised_on"] >= due_on or open_fix["inspection"] == inspection_id:
            continue
        closing = await _closing(open_fix["article"], open_fix["raised_on"], this_visit, answers)
        if closing is not None:
            await _close(open_fix["id"], open_fix["article"], facility, *closing)
    # this visit's failed critical items
    _, _, critical = tally_visit(standard, answers[inspection_id])
    for article in critical:
        if await RoutineFix.exists().where(
            (RoutineFix.inspection == inspection_id) & (RoutineFix.article == article)
        ):
            continue
        fix = RoutineFix(
            facility=facility,
            round=round_id,
            inspection=inspection_id,
            article=article,
            raised_on=due_on,
            due_on=due_on + timedelta(days=schedule["fix_within_days"]),
        )
        await fix.save()
        await record(
            user_id=None,
            action="routine.fix_raised",
            entity=f"facility/{facility}",
            details={"fix": str(fix.id), "article": article, "inspection": str(inspection_id)},
        )
        closing = await _closing(article, due_on, visits, answers)
        if closing is not None:
            await _close(fix.id, article, facility, *closing)


async def list_fixes(
    *, user: AuthUser, facility_id: UUID, round_id: UUID, now: datetime | None = None
) -> list[FixOut]:
    """The stored fixes of a school's term; ``overdue`` and ``passedWithoutPhoto`` are read, nothing is raised."""
    await ensure_facility_visible(user, facility_id)
    schedule = await schedule_row(facility_id, round_id)
    standard = await get_standard(standard_id=schedule["standard_version_id"])
    titles = {a.number: a.title for a in checklist_articles(standard.sections)}
    visits = [v for v in await schedule_visits(schedule["id"]) if v["status"] in SUBMITTED]
    today = today_in_china(now)
    rows = (
        await RoutineFix.select()
        .where((RoutineFix.facility == facility_id) & (RoutineFix.round == round_id))
        .order_by(RoutineFix.raised_on)
    )
    answers: dict[UUID, Mapping[str, Answer]] = {}
    out = []
    for row in rows:
        passed_without_photo = False
        if row["status"] == "open":
            for later in visits:
                if later["due_on"] <= row["raised_on"]:
                    continue
                if later["inspection"] not in answers:
                    answers[later["inspection"]] = (await read_answers(later["inspection"])).items
                if checklist_answer(answers[later["inspection"]], row["article"]) is True:
                    passed_without_photo = True
        out.append(
            FixOut(
                id=row["id"],
                inspection_id=row["inspection"],
                article=row["article"],
                title=titles.get(row["article"], ""),
                raised_on=row["raised_on"],
                due_on=row["due_on"],
                status=row["status"],
                overdue=row["status"] == "open" and today > row["due_on"],
                passed_without_photo=passed_without_photo,
                closing_inspection_id=row["closing_inspection"],
                closing_photo_id=row["closing_photo_id"],
                closed_on=row["closed_on"],
            )
        )
    return out
