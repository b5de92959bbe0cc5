"""The list gated by the verdicts: reported upward with the tier found, pools counted on 上报数, removals (剔除)
with their written opinion and the re-apply clock; applications need a finished self-assessment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from backend.inspections.tables import Application, Inspection
from backend.review.flow import walk
from sync.client import HttpxTransport, SyncClient
from tests.backend.programme.support import finish_self_assessment
from tests.backend.review.test_conclusions import put_answers
from tests.backend.review.test_verdict import graded, province_office, review, sign
from tests.conftest import login

# demo facilities of 甲市 under the township standard: 东城县 0, 1; 西山县 3, 4
TOWNSHIPS = (0, 1, 3, 4)
BASIC = {"decision": {"tier": "basic", "reason": "复核小组合议：达到基本标准"}}


def test_the_list_rule() -> None:
    # reported with the tier found, never above the one applied for
    assert walk("recommended", {"county": "basic"}).carried == "basic"
    assert walk("basic", {"county": "recommended"}).carried == "basic"
    assert walk("basic", {"county": "not_reached"}).removed_at == "county"
    assert not walk("basic", {"county": "not_evaluated"}).reported
    # a later stage finding it below the tier it carries removes it; at or above, it stays
    assert walk("recommended", {"county": "recommended", "city": "basic"}).removed_at == "city"
    assert walk("basic", {"county": "basic", "city": "recommended"}).carried == "basic"
    flow = walk("basic", {"county": "basic", "city": "basic", "province": "not_reached"})
    assert (flow.carried, flow.removed_at, flow.reported) == (None, "province", True)
    assert walk("basic", {}).carried is None


async def apply(client: httpx.AsyncClient, headers: dict[str, str], demo: dict[str, Any], index: int) -> str:
    facility = demo["facilities"][index]
    await finish_self_assessment(facility, demo["round"])
    body = {"facilityId": str(facility), "roundId": str(demo["round"]), "tier": "basic"}
    made = await client.post("/api/applications", headers=headers, json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_a_county_failed_facility_stays_out_of_the_city_pool_and_is_returned(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin, office = await login(client, "admin"), await login(client, "office")
    applications = {i: await apply(client, admin, demo, i) for i in TOWNSHIPS}
    reviews = {i: await review(demo, i, graded(0.1)) for i in TOWNSHIPS}
    for i in (0, 3, 4):
        assert (await sign(client, office, reviews[i], BASIC)).status_code == 201
    # 河口 (1) does not reach: no sign-off without the written opinion, then removed with it
    failing = {"decision": {"tier": "not_reached", "reason": "基本条款多项为D档"}}
    refused = await sign(client, office, reviews[1], failing)
    assert (refused.status_code, refused.json()["code"]) == (422, "opinion_required")
    opinion = "书面反馈复核意见：基本条款1.1至1.3未达C档，请整改后再申报"
    removed = await sign(client, office, reviews[1], {**failing, "opinion": opinion})
    assert removed.status_code == 201, removed.text
    assert removed.json()["tier"] == "not_reached"
    status = await Inspection.select(Inspection.status).where(Inspection.id == reviews[1]).first()
    assert status == {"status": "accepted"}
    returned = (
        await Application.select(Application.status, Application.decided_at)
        .where(Application.id == UUID(applications[1]))
        .first()
    )
    assert returned is not None
    assert returned["status"] == "returned"

    # the review's return, named apart from the application's, reaches the clinic's facility
    opinions = (await client.get(f"/api/facilities/{demo['facilities'][1]}/opinions", headers=office)).json()
    assert [(o["kind"], o["removal"], o["stage"], o["opinion"]) for o in opinions] == [
        ("review", True, "county", opinion)
    ]
    # and through sync, on the reference client: the removal's opinion comes with the accepted inspection,
    # its kind and removal said (the clinic's app tells a removal from a return by them)
    device = SyncClient(HttpxTransport(client, admin))
    await device.pull()
    [pulled] = device.opinions(reviews[1])
    assert (pulled.kind, pulled.removal, pulled.stage, pulled.opinion) == ("review", True, "county", opinion)
    assert pulled.facility_id == str(demo["facilities"][1])
    # its 6-month clock runs from the removal
    again = await client.post(
        "/api/applications",
        headers=admin,
        json={"facilityId": str(demo["facilities"][1]), "roundId": str(demo["round"]), "tier": "basic"},
    )
    assert (again.status_code, again.json()["code"]) == (409, "reapply_too_soon")
    allowed = datetime.fromisoformat(again.json()["allowedFrom"])
    assert timedelta(days=180) <= allowed - datetime.now(UTC) <= timedelta(days=185)

    # the city's pool counts what the counties reported (上报数: 3), not the 4 applications
    drawn = await client.post(
        f"/api/rounds/{demo['round']}/samples", headers=office, json={"level": "city", "seed": "c"}
    )
    assert drawn.status_code == 201, drawn.text
    sample = drawn.json()
    pool = {f["facilityId"] for s in sample["strata"] for f in s["facilities"]}
    assert str(demo["facilities"][1]) not in pool
    assert sample["poolSize"] == 3
    assert sorted((s["poolSize"], s["drawnCount"]) for s in sample["strata"]) == [(1, 1), (2, 1)]

    # a drawn facility the city finds below its tier is removed (剔除) and leaves the province's pool
    chosen = [f["facilityId"] for s in sample["strata"] for f in s["facilities"] if f["drawn"]]
    city_review = Inspection(
        facility=UUID(chosen[0]),
        round=demo["round"],
        stage="city",
        standard_version_id="cn-thc-capacity-2018",
        status="in_progress",
    )
    await city_review.save()
    await put_answers(city_review.id, graded(0.0))
    await Inspection.update({Inspection.status: "submitted"}).where(Inspection.id == city_review.id)
    out = await sign(
        client,
        office,
        city_review.id,
        {
            "decision": {"tier": "not_reached", "reason": "市级复核未达标"},
            "opinion": "市级复核意见：未达到基本标准",
        },
    )
    assert out.status_code == 201, out.text
    opinions = (await client.get(f"/api/facilities/{chosen[0]}/opinions", headers=office)).json()
    assert [(o["kind"], o["removal"], o["stage"]) for o in opinions] == [("review", True, "city")]
    other = chosen[1]
    inspection = Inspection(
        facility=UUID(other),
        round=demo["round"],
        stage="city",
        standard_version_id="cn-thc-capacity-2018",
        status="in_progress",
    )
    await inspection.save()
    await put_answers(inspection.id, graded(0.1))
    await Inspection.update({Inspection.status: "submitted"}).where(Inspection.id == inspection.id)
    assert (await sign(client, office, inspection.id, BASIC)).status_code == 201
    province = {"level": "province", "regionId": str(demo["province"]), "seed": "p"}
    drawn = await client.post(f"/api/rounds/{demo['round']}/samples", headers=admin, json=province)
    assert drawn.status_code == 201, drawn.text
    pool = {f["facilityId"] for s in drawn.json()["strata"] for f in s["facilities"]}
    assert chosen[0] not in pool
    assert drawn.json()["poolSize"] == 2


async def test_an_application_needs_a_finished_self_assessment_and_an_eligible_tier(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    body = {"facilityId": str(demo["facilities"][1]), "roundId": str(demo["round"]), "tier": "basic"}
    unsubmitted = await client.post("/api/applications", headers=admin, json=body)
    assert (unsubmitted.status_code, unsubmitted.json()["code"]) == (409, "self_assessment_not_submitted")
    await finish_self_assessment(demo["facilities"][1], demo["round"])
    # 河口 has 13 medical staff: 合格标准 (fewer than 10) is a tier it can never be eligible for
    never = await client.post("/api/applications", headers=admin, json={**body, "tier": "qualified"})
    assert (never.status_code, never.json()["code"]) == (409, "tier_not_eligible")
    assert not await Application.exists()
    assert (await client.post("/api/applications", headers=admin, json=body)).status_code == 201


async def test_an_application_s_return_is_named_apart_from_a_review_s(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin, office = await login(client, "admin"), await login(client, "office")
    application = await apply(client, admin, demo, 0)
    said = "申请材料不全：请补充执业许可证复印件"
    returned = await client.patch(
        f"/api/applications/{application}", headers=office, json={"status": "returned", "opinion": said}
    )
    assert returned.status_code == 200, returned.text
    clinic = await login(client, "clinic1")
    opinions = (await client.get(f"/api/facilities/{demo['facilities'][0]}/opinions", headers=clinic)).json()
    assert [(o["kind"], o["removal"], o["stage"], o["opinion"]) for o in opinions] == [
        ("application", False, None, said)
    ]


async def test_every_recommended_facility_is_reviewed_on_site_at_province(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    """Seed 000 篇一: "对上报达到推荐标准（A档次）的机构全覆盖现场复核" — no sample is drawn among the recommended,
    each one's province review opens without a draw, is on site (a desk review refused), and the province
    cannot confirm its list while one of them has no province verdict."""
    admin, office = await login(client, "admin"), await login(client, "office")
    round_id = str(demo["round"])
    recommended = (0, 3)
    for i in recommended:
        facility = demo["facilities"][i]
        await finish_self_assessment(facility, demo["round"])
        body = {"facilityId": str(facility), "roundId": round_id, "tier": "recommended"}
        made = await client.post("/api/applications", headers=admin, json=body)
        assert made.status_code == 201, made.text
    found = {"decision": {"tier": "recommended", "reason": "复核小组合议：达到推荐标准"}}
    for i in recommended:
        assert (await sign(client, office, await review(demo, i, graded(0.5)), found)).status_code == 201
    samples = f"/api/rounds/{round_id}/samples"
    province = {"level": "province", "regionId": str(demo["province"]), "tier": "recommended"}

    def create(i: int, stage: str, **extra: str) -> Any:
        body = {
            "facilityId": str(demo["facilities"][i]),
            "roundId": round_id,
            "standardVersionId": "cn-thc-capacity-2018",
            "stage": stage,
            **extra,
        }
        return client.post("/api/admin/inspections", headers=admin, json=body)

    async def signed_review(made: httpx.Response, signer: dict[str, str]) -> None:
        assert made.status_code == 201, made.text
        inspection = UUID(made.json()["id"])
        await put_answers(inspection, graded(0.5))
        await Inspection.update({Inspection.status: "submitted"}).where(Inspection.id == inspection)
        signed = await sign(client, signer, inspection, found)
        assert signed.status_code == 201, signed.text

    # the city reviews them all too: nothing to draw, every one's review opens
    city = await client.post(samples, headers=office, json={"level": "city", "tier": "recommended"})
    assert (city.status_code, city.json()["code"]) == (409, "nothing_to_draw")
    for i in recommended:
        await signed_review(await create(i, "city"), office)

    # at province: no draw among the recommended (all of them are reviewed), and none of them on paper only
    drawn = await client.post(samples, headers=admin, json=province)
    assert (drawn.status_code, drawn.json()["code"]) == (409, "nothing_to_draw")
    for i in recommended:
        desk = await create(i, "province", reviewMode="desk")
        assert (desk.status_code, desk.json()["code"]) == (409, "onsite_required")
    onsite = {i: await create(i, "province") for i in recommended}
    modes = {i: (r.status_code, r.json()["reviewMode"]) for i, r in onsite.items()}
    assert modes == dict.fromkeys(recommended, (201, "onsite"))

    # the list waits for every recommended facility's province verdict, named
    confirmation = {
        "kind": "confirmation",
        "documentNo": "示卫基层函〔2026〕7号",
        "documentDate": "2026-06-20",
    }
    confirm = f"/api/rounds/{round_id}/confirmations"
    body = {**confirmation, "regionId": str(demo["province"])}
    waiting = await client.post(confirm, headers=admin, json=body)
    assert (waiting.status_code, waiting.json()["code"]) == (409, "verdicts_pending")
    assert len(waiting.json()["waiting"]) == len(recommended)
    assert all(w.endswith("(province)") for w in waiting.json()["waiting"])
    await province_office(demo)
    sheng = await login(client, "office_sheng")
    await signed_review(onsite[recommended[0]], sheng)
    still = await client.post(confirm, headers=admin, json=body)
    assert (still.status_code, still.json()["code"]) == (409, "verdicts_pending")
    assert len(still.json()["waiting"]) == 1
    await signed_review(onsite[recommended[1]], sheng)
    done = await client.post(confirm, headers=admin, json=body)
    assert done.status_code == 201, done.text
    assert sorted(e["tier"] for e in done.json()["entries"]) == ["recommended", "recommended"]
