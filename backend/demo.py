"""Demo data: a province, two cities, four counties, twelve centres, demo accounts (password ``demo``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import create_user
from backend.accounts.tables import ExpertProfile, User
from backend.db import write_tx
from backend.guards import AuthUser
from backend.inspections.tables import Application, Inspection, InspectionMember, Round
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


# ---------------------------------------------------------------------------------------------- the verdicts

# The demo province's own thresholds where the standards leave them open: a setting for the demo, NOT the
# national standard (whose thresholds are not transcribed yet; docs/standards.md).
DEMO_THRESHOLDS = {
    TOWNSHIP_STANDARD: {"recommended": [0.9, 0.5, 0.2, 0.8], "basic": [0.8, 0.3, 0.05]},
    COMMUNITY_STANDARD: {"recommended": [0.9, 0.5, 0.2, 0.8], "basic": [0.8, 0.3, 0.05]},
}
DEMO_DOCUMENT = "示卫基层发〔2026〕8号（演示）"
DEMO_RESULTS_ROUND = "2026年度 示范省结果（演示）"  # sorts before the demo round, which stays the default
# facility index → (tier applied for, county grades, city grades, province grades); "good" reaches 推荐 under
# the demo thresholds, "fair" 基本, "poor" none
DEMO_PLAN: dict[int, tuple[str, str, str, str]] = {
    1: ("basic", "fair", "fair", "fair"),
    3: ("recommended", "good", "good", "good"),
    4: ("basic", "poor", "", ""),
    6: ("basic", "fair", "poor", "fair"),
    7: ("basic", "fair", "poor", "fair"),
    9: ("basic", "fair", "fair", "fair"),
    10: ("basic", "fair", "fair", "fair"),
}


def demo_grades(articles: list[str], quality: str) -> dict[str, str]:
    shares = {"good": (0.3, 0.6, 1.0), "fair": (0.1, 0.4, 1.0), "poor": (0.0, 0.2, 0.6)}[quality]
    out = {}
    for i, number in enumerate(articles):
        position = (i + 0.5) / len(articles)
        a, b, c = shares
        out[number] = "A" if position < a else "B" if position < b else "C" if position < c else "D"
    return out


async def _answers(inspection_id: uuid.UUID, items: dict[str, Any]) -> None:
    from sync.tables import AnswerRegister

    rows = [
        AnswerRegister(
            key=f"{inspection_id}/{item}/value",
            inspection_id=inspection_id,
            item_code=item,
            field="value",
            value=msgspec.json.encode(value).decode(),
            version=n,
        )
        for n, (item, value) in enumerate(items.items(), 1)
    ]
    await AnswerRegister.insert(*rows)
    await Inspection.update({Inspection.version: len(rows)}).where(Inspection.id == inspection_id)


async def load_demo_verdicts(ids: dict[str, Any]) -> dict[str, Any]:
    """A concluded demo round beside the open one: the province's thresholds (marked as the demo's), county,
    city and province verdicts, two removals with their opinions, the confirmed list and the national filing;
    the office's 达标名单, the dashboard's tiers and the public page show them."""
    from backend.programme.samples import draw_sample
    from backend.programme.schemas import DrawSampleRequest
    from backend.review.schemas import ConfirmRequest, SetThresholdsRequest
    from backend.review.services import confirm_conclusion
    from backend.review.thresholds import set_thresholds
    from backend.standards import load_shipped
    from backend.standards.validation import walk_articles
    from backend.verdict.confirm import confirm_list
    from backend.verdict.schemas import ConfirmListRequest
    from backend.wiring import wired_hooks

    hooks = wired_hooks()
    sheng_id = (
        await create_user(
            data=CreateUserRequest(
                username="office_sheng",
                password=DEMO_PASSWORD,
                role="office",
                region_id=ids["province"],
                display_name="示范省卫健委",
            ),
            actor_id=None,
            is_demo=True,
        )
    ).id
    sheng = AuthUser(id=sheng_id, username="office_sheng", role="office", region_id=ids["province"])
    admin = AuthUser(id=ids["admin"], username="admin", role="admin")
    for standard_id, thresholds in DEMO_THRESHOLDS.items():
        await set_thresholds(
            user=sheng,
            data=SetThresholdsRequest(
                standard_id=standard_id,
                thresholds=thresholds,  # type: ignore[arg-type]
                document_no=DEMO_DOCUMENT,
                document_date=date(2026, 3, 1),
                note="演示省份的设定，并非国家标准",  # shown as written: Chinese, as the screens are
            ),
        )
    township = load_shipped("township-2018")
    articles = [a.number for _, a, _ in walk_articles(township)]
    prerequisites = {p.id: True for p in township.prerequisites}
    started = datetime.now(UTC) - timedelta(days=230)
    async with write_tx():
        results_round = Round(name=DEMO_RESULTS_ROUND, year=2026, region=ids["province"])
        await results_round.save()
        for index, (tier, county, _, _) in DEMO_PLAN.items():
            own = Inspection(
                facility=ids["facilities"][index],
                round=results_round.id,
                stage="self",
                standard_version_id=TOWNSHIP_STANDARD,
                status="submitted",
                created_at=started,
            )
            await own.save()
            await _answers(own.id, {**prerequisites, **demo_grades(articles, county)})
            await Application(facility=ids["facilities"][index], round=results_round.id, tier=tier).save()
    ids["results_round"] = results_round.id

    async def review(index: int, stage: str, quality: str) -> None:
        inspection = Inspection(
            facility=ids["facilities"][index],
            round=results_round.id,
            stage=stage,
            standard_version_id=TOWNSHIP_STANDARD,
            status="submitted",
        )
        async with write_tx():
            await inspection.save()
            await _answers(inspection.id, {**prerequisites, **demo_grades(articles, quality)})
        opinion = None
        if quality == "poor":
            opinion = "书面反馈复核意见：基本条款多项未达C档，请对照整改后，6个月后再申报。（演示）"
        await confirm_conclusion(
            user=sheng,
            inspection_id=inspection.id,
            hooks=hooks,
            data=ConfirmRequest(opinion=opinion) if opinion else None,
        )

    for index, (_, county, _, _) in DEMO_PLAN.items():
        await review(index, "county", county)
    for level in ("city", "province"):
        regions = ids["cities"] if level == "city" else [ids["province"]]
        drawn: set[str] = set()
        for region in regions:
            sample = await draw_sample(
                user=admin,
                round_id=results_round.id,
                data=DrawSampleRequest(level=level, region_id=region, seed=f"demo-{level}"),
            )
            drawn.update(str(f.facility_id) for s in sample.strata for f in s.facilities if f.drawn)
        for index, (tier, _, city, province) in DEMO_PLAN.items():
            quality = city if level == "city" else province
            on_list = await Application.exists().where(
                (Application.facility == ids["facilities"][index])
                & (Application.round == results_round.id)
                & (Application.status == "applied")
            )
            if on_list and quality and (tier == "recommended" or str(ids["facilities"][index]) in drawn):
                await review(index, level, quality)
    await confirm_list(
        user=sheng,
        round_id=results_round.id,
        data=ConfirmListRequest(
            kind="confirmation", document_no="示卫基层函〔2026〕30号（演示）", document_date=date(2026, 6, 25)
        ),
    )
    await confirm_list(
        user=sheng,
        round_id=results_round.id,
        data=ConfirmListRequest(
            kind="filing", document_no="示卫基层函〔2026〕31号（演示）", document_date=date(2026, 6, 28)
        ),
    )
    return ids
