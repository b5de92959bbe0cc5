"""Demo data for the programme kinds beside 基层行 (loaded after ``backend/demo.py`` by ``fieldcheck demo``):

- MCH demonstration counties (seed 001): each demo county's programme as a subject (kind ``county_programme``),
  a round whose report date (8月5日) is still ahead, each county's self-evaluation on the 1,000-point
  standard; accounts ``county1`` (东城县卫生健康局, scores the self-evaluation) and ``province`` (the province
  office: samples, names, re-checks). The city check is run by the existing ``office`` (甲市).
- School logistics (seed 004): one school as a subject, weekly routine inspections from today for four weeks
  (the duty officer's checklist), two logistics staff, and the account ``school1`` (its duty officer).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import create_user
from backend.db import write_tx
from backend.inspections.tables import Inspection, Round
from backend.programme.kinds import kind_by_code, report_due_on
from backend.programme.logistics import visit_days
from backend.programme.logistics_tables import RoutineSchedule, RoutineVisit, SchoolStaff
from backend.programme.mch import today_in_china
from backend.registry.tables import Facility, Region

MCH_STANDARD = "cn-mch-demo-2015"
CANTEEN_STANDARD = "school-canteen-logistics-2010"  # the staff appraisal (weighted raters)
ROUTINE_STANDARD = "school-canteen-routine-2010"  # the duty officer's routine checklist
DEMO_PASSWORD = "demo"  # noqa: S105 - demo mode only, as backend/demo.py


def mch_round_year(today: date | None = None) -> int:
    """This year if its report date is still ahead, else next year (so the demo county can still report)."""
    today = today or datetime.now(UTC).date()
    kind = kind_by_code("mch_county")
    assert kind is not None
    due = report_due_on(kind, today.year)
    return today.year if due is None or today <= due else today.year + 1


async def add_county_subject(county_id: uuid.UUID) -> uuid.UUID:
    """The county's MCH programme as a subject, in that county (inside the caller's transaction)."""
    county = await Region.select(Region.name, Region.code).where(Region.id == county_id).first()
    assert county is not None
    subject = Facility(
        name=f"{county['name']}妇幼健康优质服务示范工程",
        kind="county_programme",
        licence_number=f"MCH-{county['code']}",
        licence_category="-",
        registered_first_name=f"{county['name']}卫生健康局",
        region=county_id,
    )
    await subject.save()
    return subject.id


async def load_programme_demo(ids: dict[str, Any]) -> dict[str, Any]:
    """Add the MCH and school logistics demo sets to the 基层行 demo set ``ids``; returns the new ids."""
    out: dict[str, Any] = {"county_subjects": [], "mch_self_inspections": []}
    year = mch_round_year()
    async with write_tx():
        mch_round = Round(name=f"{year}年妇幼健康优质服务示范工程", year=year, region=ids["province"])
        await mch_round.save()
        out["mch_round"] = mch_round.id
        for county_id in ids["counties"]:
            subject = await add_county_subject(county_id)
            out["county_subjects"].append(subject)
            inspection = Inspection(
                facility=subject,
                round=mch_round.id,
                stage="self",
                standard_version_id=MCH_STANDARD,
                status="in_progress",
            )
            await inspection.save()
            out["mch_self_inspections"].append(inspection.id)
        school = Facility(
            name="城关第一中学",
            kind="school",
            licence_number="SCH-4401010001",
            licence_category="-",
            registered_first_name="城关第一中学",
            region=ids["counties"][0],
        )
        await school.save()
        out["school"] = school.id
        school_round = Round(name=f"{year}学年后勤服务检查", year=year, region=ids["counties"][0])
        await school_round.save()
        out["school_round"] = school_round.id

    async def user(username: str, role: str, display_name: str, **links: Any) -> uuid.UUID:
        made = await create_user(
            data=CreateUserRequest(
                username=username,
                password=DEMO_PASSWORD,
                role=role,  # type: ignore[arg-type]
                display_name=display_name,
                **links,
            ),
            actor_id=None,
            is_demo=True,
        )
        return made.id

    out["county_user"] = await user(
        "county1", "clinic", "东城县卫生健康局", facility_id=out["county_subjects"][0]
    )
    out["province_office"] = await user("province", "office", "示范省卫健委", region_id=ids["province"])
    out["school_user"] = await user("school1", "clinic", "城关第一中学值日行政", facility_id=out["school"])
    # weekly routine inspections from today for four weeks, and two logistics staff
    start = today_in_china()
    async with write_tx():
        schedule = RoutineSchedule(
            facility=out["school"],
            round=out["school_round"],
            standard_version_id=ROUTINE_STANDARD,
            every_days=7,
            starts_on=start,
            ends_on=start + timedelta(days=28),
            fix_within_days=3,
            created_by=out["school_user"],
        )
        await schedule.save()
        out["routine_visits"] = []
        for day in visit_days(start, start + timedelta(days=28), 7):
            visit = Inspection(
                facility=out["school"],
                round=out["school_round"],
                stage="self",
                standard_version_id=ROUTINE_STANDARD,
            )
            await visit.save()
            await RoutineVisit(schedule=schedule.id, due_on=day, inspection=visit.id).save()
            out["routine_visits"].append(visit.id)
        out["staff"] = []
        for name, post in (("王师傅", "canteen"), ("李阿姨", "shop")):
            staff = SchoolStaff(facility=out["school"], name=name, post=post)
            await staff.save()
            out["staff"].append(staff.id)
    return out
