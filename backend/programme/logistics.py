"""The school logistics programme (学校后勤服务, seed 004) on the shared machinery.

- Routine inspections: a schedule opens one school inspection (stage ``self``: the school's duty officer
  inspects its own canteen and shop) per visit day, every ``everyDays`` days over the term; the duty officer ticks
  the pass/fail checklist as the ``duty_officer`` rater (answers ``duty_officer:<article>``) offline with photos,
  through sync and the uploads like any inspection.
- Fixes (``fixes.py``): a visit submitted with a failed critical item raises a fix due ``fixWithinDays`` after
  the visit day, stored in the submit's own transaction; it closes only when a later submitted visit passes that
  item with a photo on it (the photo of the fix). A pass without a photo leaves it open (``passedWithoutPhoto``).
- Staff appraisal: Σ weight × score over the standard's raters (routine 70 % = duty officer 40 % + students
  15 % + class teachers 15 %; end of term 30 %). The duty officer's score of a staff member is the share of their
  post's items (canteen: section 1, shop: section 2) passed over the term's submitted visits × 100; the other
  raters give scores, several per rater kind, averaged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
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
from backend.programme.logistics_schemas import (
    AppraisalOut,
    CreateScheduleRequest,
    RaterScoreOut,
    ScheduleOut,
    ScoreIn,
    StaffIn,
    StaffOut,
    VisitOut,
)
from backend.programme.logistics_tables import (
    AppraisalScore,
    RoutineSchedule,
    RoutineVisit,
    SchoolStaff,
)
from backend.programme.rules import fitting_standard
from backend.registry.tables import Facility
from backend.review.answers import read_answers
from backend.standards import combine_raters
from backend.standards.schemas import (
    RATER_SEPARATOR,
    Answer,
    Article,
    PassFailScoring,
    Section,
    Standard,
    WeightedScoring,
)
from backend.standards.services import get_standard

DUTY_OFFICER = "duty_officer"
POST_SECTION = {"canteen": "1", "shop": "2"}
MAX_VISITS = 200
SUBMITTED = ("submitted", "accepted")


def visit_days(starts_on: date, ends_on: date, every_days: int) -> list[date]:
    """The visit days of a schedule: from ``starts_on`` every ``every_days`` days, up to ``ends_on``."""
    count = (ends_on - starts_on).days // every_days + 1 if ends_on >= starts_on else 0
    return [starts_on + timedelta(days=every_days * n) for n in range(count)]


def checklist_articles(sections: tuple[Section, ...], under: str | None = None) -> list[Article]:
    found: list[Article] = []
    for section in sections:
        inside = under is None or section.code == under
        if inside:
            found.extend(section.articles)
        found.extend(checklist_articles(section.sections, None if inside else under))
    return found


def checklist_answer(items: Mapping[str, Answer], article: str) -> Answer | None:
    return items.get(f"{DUTY_OFFICER}{RATER_SEPARATOR}{article}", items.get(article))


def tally_visit(standard: Standard, items: Mapping[str, Answer]) -> tuple[int, int, list[str]]:
    """(passed, applicable, failed critical articles) of one visit's duty-officer answers."""
    passed = applicable = 0
    critical: list[str] = []
    for article in checklist_articles(standard.sections):
        value = checklist_answer(items, article.number)
        if value is True:
            passed += 1
            applicable += 1
        elif value is False:
            applicable += 1
            if article.critical:
                critical.append(article.number)
    return passed, applicable, critical


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


async def appraisal_standard(routine: Standard) -> Standard:
    """The weighted standard whose raters appraise the staff (the kind's ``appraisalStandard``)."""
    kind = kind_of(routine)
    if kind is None or kind.appraisal_standard is None:
        raise Conflict(f"the programme of {routine.id} appraises no staff", code="no_appraisal_standard")
    standard = await get_standard(standard_id=kind.appraisal_standard)
    if not isinstance(standard.scoring, WeightedScoring):
        raise Conflict(f"{standard.id} weighs no raters", code="no_appraisal_standard")
    return standard


# ------------------------------------------------------------------------------------------------- schedule


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


async def _visit_outs(standard: Standard, visits: list[dict[str, Any]]) -> list[VisitOut]:
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
        visits=await _visit_outs(standard, await schedule_visits(row["id"])),
    )


# ------------------------------------------------------------------------------------------------- appraisal


async def add_staff(*, user: AuthUser, facility_id: UUID, data: StaffIn) -> StaffOut:
    ensure_role(user, "admin", "office", "clinic")
    await ensure_facility_visible(user, facility_id)
    if not await Facility.exists().where((Facility.id == facility_id) & (Facility.kind == "school")):
        raise Conflict("logistics staff belong to a school", code="not_a_school")
    async with write_tx():
        if await SchoolStaff.exists().where(
            (SchoolStaff.facility == facility_id) & (SchoolStaff.name == data.name.strip())
        ):
            raise Conflict(f"{data.name} is already on the school's staff", code="duplicate_staff")
        staff = SchoolStaff(facility=facility_id, name=data.name.strip(), post=data.post)
        await staff.save()
        await record(
            user_id=str(user.id),
            action="staff.add",
            entity=f"facility/{facility_id}",
            details={"staff": str(staff.id), "name": staff.name, "post": data.post},
        )
    return StaffOut(id=staff.id, facility_id=facility_id, name=staff.name, post=data.post)


async def list_staff(*, user: AuthUser, facility_id: UUID) -> list[StaffOut]:
    await ensure_facility_visible(user, facility_id)
    rows = await SchoolStaff.select().where(SchoolStaff.facility == facility_id).order_by(SchoolStaff.name)
    return [StaffOut(id=r["id"], facility_id=facility_id, name=r["name"], post=r["post"]) for r in rows]


async def _staff_row(staff_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = await SchoolStaff.select().where(SchoolStaff.id == staff_id).first()
    if row is None:
        raise NotFound(f"staff member {staff_id} does not exist", code="staff_not_found")
    return row


async def record_score(*, user: AuthUser, staff_id: UUID, round_id: UUID, data: ScoreIn) -> AppraisalOut:
    """One rater's score of a staff member (the duty officer's comes from the routine visits)."""
    ensure_role(user, "admin", "office", "clinic")
    staff = await _staff_row(staff_id)
    await ensure_facility_visible(user, staff["facility"])
    schedule = await schedule_row(staff["facility"], round_id)
    standard = await appraisal_standard(await get_standard(standard_id=schedule["standard_version_id"]))
    assert isinstance(standard.scoring, WeightedScoring)
    raters = {r.code for g in standard.scoring.groups for r in g.raters}
    if data.rater == DUTY_OFFICER:
        raise Conflict(
            "the duty officer's score is the share of items passed at the routine visits",
            code="rater_from_routine",
        )
    if data.rater not in raters:
        raise RuleRefused(
            f"unknown rater {data.rater}; one of {', '.join(sorted(raters))}", code="unknown_rater"
        )
    async with write_tx():
        await AppraisalScore(
            staff=staff_id,
            round=round_id,
            rater=data.rater,
            rater_name=data.rater_name.strip(),
            score=data.score,
            given_by=user.id,
        ).save()
        await record(
            user_id=str(user.id),
            action="appraisal.score",
            entity=f"staff/{staff_id}",
            details={"round": str(round_id), "rater": data.rater, "score": data.score},
        )
    return await appraisal(user=user, staff_id=staff_id, round_id=round_id)


async def duty_officer_score(
    routine: Standard, scale: float, visits: list[dict[str, Any]], post: str
) -> float | None:
    """The share of the post's items passed over the submitted visits, × the appraisal's scale."""
    numbers = [a.number for a in checklist_articles(routine.sections, POST_SECTION.get(post))]
    passed = applicable = 0
    for visit in visits:
        if visit["status"] not in SUBMITTED:
            continue
        items = (await read_answers(visit["inspection"])).items
        for number in numbers:
            value = checklist_answer(items, number)
            if value is True:
                passed += 1
            if value is True or value is False:
                applicable += 1
    return round(passed / applicable * scale, 2) if applicable else None


async def appraisal(*, user: AuthUser, staff_id: UUID, round_id: UUID) -> AppraisalOut:
    staff = await _staff_row(staff_id)
    await ensure_facility_visible(user, staff["facility"])
    schedule = await schedule_row(staff["facility"], round_id)
    routine = await get_standard(standard_id=schedule["standard_version_id"])
    return await appraisal_of(staff, round_id, routine, await schedule_visits(schedule["id"]))


async def appraisal_of(
    staff: dict[str, Any], round_id: UUID, routine: Standard, visits: list[dict[str, Any]]
) -> AppraisalOut:
    standard = await appraisal_standard(routine)
    assert isinstance(standard.scoring, WeightedScoring)
    given: dict[str, list[float]] = {}
    for row in await AppraisalScore.select(AppraisalScore.rater, AppraisalScore.score).where(
        (AppraisalScore.staff == staff["id"]) & (AppraisalScore.round == round_id)
    ):
        given.setdefault(row["rater"], []).append(row["score"])
    scores: dict[str, float] = {}
    counts: dict[str, int] = {}
    routine_score = await duty_officer_score(routine, standard.scoring.scale, visits, staff["post"])
    if routine_score is not None:
        scores[DUTY_OFFICER] = routine_score
        counts[DUTY_OFFICER] = sum(1 for v in visits if v["status"] in SUBMITTED)
    for rater, values in given.items():
        scores[rater] = round(sum(values) / len(values), 2)
        counts[rater] = len(values)
    order = [(g, r) for g in standard.scoring.groups for r in g.raters]
    missing = [r.code for _, r in order if r.code not in scores]
    combined: float | None = None
    if not missing:
        total, _ = combine_raters(standard.scoring, scores)
        combined = round(total, 2)
    return AppraisalOut(
        staff_id=staff["id"],
        name=staff["name"],
        post=staff["post"],
        round_id=round_id,
        raters=[
            RaterScoreOut(
                rater=r.code,
                label=r.label,
                group=g.code,
                weight=r.weight,
                score=scores.get(r.code),
                count=counts.get(r.code, 0),
                contribution=round(r.weight * scores[r.code], 2) if r.code in scores else None,
            )
            for g, r in order
        ],
        combined=combined,
        missing=missing,
    )


async def term_data(
    facility_id: UUID, round_id: UUID, staff_id: UUID | None = None
) -> tuple[Standard, list[VisitOut], list[AppraisalOut]]:
    """What the term report shows (the caller checks the scope): visits, and each staff member's appraisal."""
    schedule = await schedule_row(facility_id, round_id)
    standard = await get_standard(standard_id=schedule["standard_version_id"])
    visits = await schedule_visits(schedule["id"])
    query = SchoolStaff.select().where(SchoolStaff.facility == facility_id).order_by(SchoolStaff.name)
    if staff_id is not None:
        query = query.where(SchoolStaff.id == staff_id)
    staff_rows = await query
    if staff_id is not None and not staff_rows:
        raise NotFound(f"staff member {staff_id} is not on this school's staff", code="staff_not_found")
    appraisals = [await appraisal_of(s, round_id, standard, visits) for s in staff_rows]
    return standard, await _visit_outs(standard, visits), appraisals
