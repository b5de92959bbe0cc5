"""The staff of a school and their appraisal (``logistics.py``): Σ weight × score over the appraisal standard's
raters; the duty officer's score is the share of the post's items passed at the term's submitted visits, the
other raters' scores are given and averaged per rater kind. And what the term report shows."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.scope import ensure_facility_visible
from backend.programme.kinds import kind_of
from backend.programme.logistics import (
    DUTY_OFFICER,
    POST_SECTION,
    SUBMITTED,
    checklist_answer,
    checklist_articles,
)
from backend.programme.logistics_schedule import schedule_row, schedule_visits, visit_outs
from backend.programme.logistics_schemas import (
    AppraisalOut,
    RaterScoreOut,
    ScoreIn,
    StaffIn,
    StaffOut,
    VisitOut,
)
from backend.programme.logistics_tables import AppraisalScore, SchoolStaff
from backend.registry.tables import Facility
from backend.review.answers import read_answers
from backend.standards import combine_raters
from backend.standards.schemas import Standard, WeightedScoring
from backend.standards.services import get_standard


async def appraisal_standard(routine: Standard) -> Standard:
    """The weighted standard whose raters appraise the staff (the kind's ``appraisalStandard``)."""
    kind = kind_of(routine)
    if kind is None or kind.appraisal_standard is None:
        raise Conflict(f"the programme of {routine.id} appraises no staff", code="no_appraisal_standard")
    standard = await get_standard(standard_id=kind.appraisal_standard)
    if not isinstance(standard.scoring, WeightedScoring):
        raise Conflict(f"{standard.id} weighs no raters", code="no_appraisal_standard")
    return standard


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
    return standard, await visit_outs(standard, visits), appraisals
