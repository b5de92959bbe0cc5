"""Demo data: a province, two cities, four counties, twelve centres, demo accounts (password ``demo``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import create_user
from backend.accounts.tables import ExpertProfile, User
from backend.db import write_tx
from backend.inspections.tables import Inspection, InspectionMember, Round
from backend.registry.tables import Facility, Region
from backend.standards.services import install_shipped_standards

DEMO_PASSWORD = "demo"  # noqa: S105 - demo mode only; the server warns while these accounts exist
TOWNSHIP_STANDARD = "cn-thc-capacity-2018"
COMMUNITY_STANDARD = "cn-chsc-capacity-2018"

PROVINCE = ("示范省", "440000")
CITIES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("甲市", "440100", [("东城县", "440101"), ("西山县", "440102")]),
    ("乙市", "440200", [("南湖区", "440201"), ("北岭县", "440202")]),
]
FACILITY_NAMES = [
    "城关",
    "河口",
    "青石",
    "石桥",
    "新塘",
    "白沙",
    "龙泉",
    "马鞍",
    "黄岗",
    "双溪",
    "桃源",
    "清水",
]
SPECIALTIES = ["医疗机构管理", "医疗", "护理", "公共卫生", "医院感染管理", "中医药"]


async def database_is_empty() -> bool:
    return not await User.exists() and not await Region.exists()


async def load_demo() -> dict[str, Any]:
    """Insert the demo set into an empty database; returns the ids the tests and docs refer to."""
    ids: dict[str, Any] = {"counties": [], "facilities": [], "inspectors": []}
    ids["standards"] = await install_shipped_standards()
    async with write_tx():
        name, code = PROVINCE
        province = Region(name=name, level="province", code=code)
        await province.save()
        ids["province"] = province.id
        cities = []
        for city_name, city_code, counties in CITIES:
            city = Region(name=city_name, level="city", code=city_code, parent=province.id)
            await city.save()
            cities.append(city.id)
            for county_name, county_code in counties:
                county = Region(name=county_name, level="county", code=county_code, parent=city.id)
                await county.save()
                ids["counties"].append(county.id)
        ids["cities"] = cities
        for index, short in enumerate(FACILITY_NAMES):
            township = index % 3 != 2
            kind = "township_centre" if township else "community_centre"
            first_name = f"{short}镇卫生院" if township else f"{short}社区卫生服务中心"
            facility = Facility(
                name=first_name,
                kind=kind,
                licence_number=f"PDY{440000 + index:06d}{'C' if township else 'B'}",
                licence_category="C" if township else "B",
                registered_first_name=first_name,
                region=ids["counties"][index // 3],
                medical_staff_count=6 + (index * 7) % 40,
                service_population=8000 + index * 4500,
            )
            await facility.save()
            ids["facilities"].append(facility.id)

    async def user(username: str, role: str, **links: Any) -> uuid.UUID:
        out = await create_user(
            data=CreateUserRequest(
                username=username,
                password=DEMO_PASSWORD,
                role=role,  # type: ignore[arg-type]
                display_name=links.pop("display_name", username),
                **links,
            ),
            actor_id=None,
            is_demo=True,
        )
        return out.id

    ids["admin"] = await user("admin", "admin", display_name="系统管理员")
    ids["office"] = await user("office", "office", region_id=cities[0], display_name="甲市卫健委")
    for n in range(1, 7):
        ids["inspectors"].append(await user(f"inspector{n}", "inspector", display_name=f"评审专家{n}"))
    ids["clinic"] = await user(
        "clinic1", "clinic", facility_id=ids["facilities"][0], display_name="城关镇卫生院"
    )

    async with write_tx():
        for n, inspector in enumerate(ids["inspectors"]):
            # inspector6 used to work at the first facility: the recusal rule keeps them off its teams.
            tied = [str(ids["facilities"][0])] if n == 5 else []
            await ExpertProfile(
                user=inspector,
                title="副主任医师" if n % 2 else "主任医师",
                specialties=[SPECIALTIES[n % len(SPECIALTIES)]],
                tied_facility_ids=tied,
            ).save()
        demo_round = Round(name="2026年度“优质服务基层行”活动", year=2026, region=ids["province"])
        await demo_round.save()
        ids["round"] = demo_round.id
        ids["self_inspections"] = []
        # the self-assessments have run about 7 months, past the 6 months an application needs
        started = datetime.now(UTC) - timedelta(days=213)
        for index, facility_id in enumerate(ids["facilities"]):
            standard = TOWNSHIP_STANDARD if index % 3 != 2 else COMMUNITY_STANDARD
            inspection = Inspection(
                facility=facility_id,
                round=demo_round.id,
                stage="self",
                standard_version_id=standard,
                status="in_progress",
                created_at=started,
            )
            await inspection.save()
            ids["self_inspections"].append(inspection.id)
        review = Inspection(
            facility=ids["facilities"][0],
            round=demo_round.id,
            stage="county",
            standard_version_id=TOWNSHIP_STANDARD,
            status="in_progress",
        )
        await review.save()
        ids["review_inspection"] = review.id
        for n, inspector in enumerate(ids["inspectors"][:5]):
            await InspectionMember(inspection=review.id, user=inspector, is_lead=n == 0).save()
    return ids
