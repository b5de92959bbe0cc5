"""The programme as a state machine: standard fit, the 6-month rule, stage order, sampling, returns, sign-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.audit.tables import AuditLog
from backend.inspections.tables import Inspection
from backend.programme.rules import add_months
from backend.programme.sampling import draw
from backend.programme.tables import ReviewSample
from backend.review.tables import ConfirmedConclusion
from backend.vocabulary import say
from tests.backend.programme.support import TOWNSHIP, finish_self_assessment, sign_off
from tests.backend.review.test_conclusions import ARTICLES, other_city_office, put_answers, set_status
from tests.conftest import login

COMMUNITY = "cn-chsc-capacity-2018"


async def _new_round(client: httpx.AsyncClient, admin: dict[str, str], demo: dict[str, Any]) -> str:
    made = await client.post(
        "/api/admin/rounds",
        headers=admin,
        json={"name": "2027年度", "year": 2027, "regionId": str(demo["province"])},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _inspection(facility: Any, round_id: Any, stage: str, standard: str = TOWNSHIP) -> dict[str, Any]:
    return {
        "facilityId": str(facility),
        "roundId": str(round_id),
        "stage": stage,
        "standardVersionId": standard,
    }


async def test_an_inspection_needs_a_published_standard_that_fits_the_facility(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    round_id = await _new_round(client, admin, demo)
    before = await AuditLog.count()
    township = demo["facilities"][0]
    cases = [
        (_inspection(township, round_id, "self", "no-such-standard"), "unknown_standard"),
        (_inspection(township, round_id, "self", COMMUNITY), "standard_does_not_fit"),
        (_inspection(demo["facilities"][2], round_id, "self", TOWNSHIP), "standard_does_not_fit"),
        (_inspection(township, round_id, "self", "school-canteen-logistics-2010"), "standard_does_not_fit"),
    ]
    for body, code in cases:
        response = await client.post("/api/admin/inspections", headers=admin, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
    refused = (await client.post("/api/admin/inspections", headers=admin, json=cases[1][0])).json()
    assert "社区卫生服务中心" in refused["detail"]
    assert "乡镇卫生院" in refused["detail"]
    assert await AuditLog.count() == before
    assert not await Inspection.exists().where(Inspection.round == round_id)
    ok = await client.post(
        "/api/admin/inspections", headers=admin, json=_inspection(township, round_id, "self")
    )
    assert ok.status_code == 201, ok.text


def test_months_are_calendar_months() -> None:
    assert add_months(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2027, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 15, tzinfo=UTC), 6) == datetime(2026, 7, 15, tzinfo=UTC)


async def test_an_application_waits_for_six_months_of_self_assessment(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    round_id = await _new_round(client, admin, demo)
    facility = demo["facilities"][1]
    body = {"facilityId": str(facility), "roundId": round_id, "tier": "basic"}
    none = await client.post("/api/applications", headers=admin, json=body)
    assert none.status_code == 409
    assert none.json()["code"] == "no_self_assessment"

    made = await client.post(
        "/api/admin/inspections", headers=admin, json=_inspection(facility, round_id, "self")
    )
    assert made.status_code == 201, made.text
    unfinished = await client.post("/api/applications", headers=admin, json=body)
    assert (unfinished.status_code, unfinished.json()["code"]) == (409, "self_assessment_not_submitted")
    await finish_self_assessment(facility, round_id)
    early = await client.post("/api/applications", headers=admin, json=body)
    assert early.status_code == 409
    assert early.json()["code"] == "self_assessment_too_short"
    assert "at least 6 months" in early.json()["detail"]
    allowed = datetime.fromisoformat(early.json()["allowedFrom"])
    assert timedelta(days=180) <= allowed - datetime.now(UTC) <= timedelta(days=185)

    await Inspection.update({Inspection.created_at: datetime.now(UTC) - timedelta(days=190)}).where(
        Inspection.id == made.json()["id"]
    )
    later = await client.post("/api/applications", headers=admin, json=body)
    assert later.status_code == 201, later.text


def test_the_draw_is_stratified_reproducible_and_at_least_the_ratio() -> None:
    pools = {"c1": ["a", "b"], "c2": ["c", "d", "e"], "c3": ["f"], "c4": [f"g{i}" for i in range(10)]}
    first = draw(pools, 0.5, "seed-1")
    assert draw(pools, 0.5, "seed-1") == first  # same seed, same draw
    assert [(s.county, len(s.drawn)) for s in first] == [("c1", 1), ("c2", 2), ("c3", 1), ("c4", 5)]
    assert all(set(s.drawn) <= set(s.pool) for s in first)
    assert "ceil(50% × 3) = 2" in first[1].why
    # every county is represented and the whole draw reaches the ratio (here 20 %)
    low = draw(pools, 0.2, "seed-1")
    assert all(len(s.drawn) >= 1 for s in low)
    assert sum(len(s.drawn) for s in low) >= 0.2 * 16
    # another seed draws differently somewhere (ten facilities in c4: 252 ways to draw five)
    draws = {tuple(draw(pools, 0.5, f"seed-{n}")[3].drawn) for n in range(20)}
    assert len(draws) > 1


async def test_the_programme_from_applications_to_the_province_sample(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin, office = await login(client, "admin"), await login(client, "office")
    facilities = demo["facilities"][:6]  # 甲市: counties 东城县 (0-2) and 西山县 (3-5)
    round_id = demo["round"]
    for index, facility in enumerate(facilities):
        tier = "recommended" if index == 0 else "basic"
        body = {"facilityId": str(facility), "roundId": str(round_id), "tier": tier}
        await finish_self_assessment(facility, round_id)
        assert (await client.post("/api/applications", headers=admin, json=body)).status_code == 201

    # stage order: no province review and no city sample before the county stage concluded
    early = await client.post(
        "/api/admin/inspections", headers=admin, json=_inspection(facilities[0], round_id, "province")
    )
    assert early.status_code == 409
    assert early.json()["code"] == "stage_order"
    city = {"level": "city", "seed": "s1"}
    refused = await client.post(f"/api/rounds/{round_id}/samples", headers=office, json=city)
    assert refused.status_code == 409
    assert refused.json()["code"] == "stage_order"
    assert len(refused.json()["waiting"]) == 6

    for index, facility in enumerate(facilities):
        standard = COMMUNITY if index % 3 == 2 else TOWNSHIP
        tier = "recommended" if index == 0 else "basic"  # the county found the tier applied for
        await sign_off(facility, round_id, "county", demo["office"], standard, tier)
    not_yet = await client.post(
        "/api/admin/inspections", headers=office, json=_inspection(facilities[1], round_id, "city")
    )
    assert not_yet.status_code == 409
    assert not_yet.json()["code"] == "sample_not_drawn"

    drawn = await client.post(f"/api/rounds/{round_id}/samples", headers=office, json=city)
    assert drawn.status_code == 201, drawn.text
    sample = drawn.json()
    assert (sample["ratio"], sample["seed"], sample["poolSize"], sample["drawnCount"]) == (0.5, "s1", 5, 3)
    assert sorted((s["poolSize"], s["drawnCount"]) for s in sample["strata"]) == [(2, 1), (3, 2)]
    assert "3 of 5 basic-tier applicant(s) drawn" in sample["explanation"]
    said = sample["explanationMessage"]
    assert say(said["code"], "zh", **said["params"]).startswith("市级复核抽样：基本标准申请 5 家中抽取 3 家")
    chosen = {f["facilityId"] for s in sample["strata"] for f in s["facilities"] if f["drawn"]}
    entry = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert entry is not None
    assert entry["action"] == "sample.draw"
    assert entry["user_id"] == str(demo["office"])

    # the same seed draws the same; before use, a re-draw replaces the sample (audited)
    again = await client.post(f"/api/rounds/{round_id}/samples", headers=office, json=city)
    assert again.status_code == 201
    assert {f["facilityId"] for s in again.json()["strata"] for f in s["facilities"] if f["drawn"]} == chosen
    assert await ReviewSample.count() == 1
    entry = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert entry is not None
    assert entry["action"] == "sample.redraw"

    left_out = next(str(f) for f in facilities[1:] if str(f) not in chosen)
    picked = next(iter(sorted(chosen)))
    index_of = {str(f): i for i, f in enumerate(facilities)}

    def standard_of(facility: str) -> str:  # the draw depends on the facilities' random ids
        return COMMUNITY if index_of[facility] % 3 == 2 else TOWNSHIP

    out = await client.post(
        "/api/admin/inspections",
        headers=office,
        json=_inspection(left_out, round_id, "city", standard_of(left_out)),
    )
    assert out.status_code == 409
    assert out.json()["code"] == "not_in_sample"
    for facility in (picked, str(facilities[0])):
        made = await client.post(
            "/api/admin/inspections",
            headers=office,
            json=_inspection(facility, round_id, "city", standard_of(facility)),
        )
        assert made.status_code == 201, made.text

    # in use: no re-draw
    in_use = await client.post(f"/api/rounds/{round_id}/samples", headers=office, json={"level": "city"})
    assert in_use.status_code == 409
    assert in_use.json()["code"] == "sample_in_use"
    listed = await client.get(f"/api/rounds/{round_id}/samples", headers=office)
    assert listed.status_code == 200
    assert [s["inUse"] for s in listed.json()] == [True]

    # the province sample: a city office cannot draw it; admin can once the city stage concluded
    city_office = await client.post(
        f"/api/rounds/{round_id}/samples", headers=office, json={"level": "province"}
    )
    assert city_office.status_code == 409
    assert city_office.json()["code"] == "wrong_region_level"
    province = {"level": "province", "regionId": str(demo["province"]), "seed": "p1"}
    waiting = await client.post(f"/api/rounds/{round_id}/samples", headers=admin, json=province)
    assert waiting.status_code == 409
    assert waiting.json()["code"] == "stage_order"
    for facility in (picked, *(str(f) for f in chosen), str(facilities[0])):
        if not await ConfirmedConclusion.exists().where(
            (ConfirmedConclusion.facility == facility) & (ConfirmedConclusion.stage == "city")
        ):
            found = "recommended" if facility == str(facilities[0]) else "basic"
            await sign_off(facility, round_id, "city", demo["admin"], standard_of(facility), found)
    provincial = await client.post(f"/api/rounds/{round_id}/samples", headers=admin, json=province)
    assert provincial.status_code == 201, provincial.text
    assert provincial.json()["ratio"] == 0.2
    assert sorted((s["poolSize"], s["drawnCount"]) for s in provincial.json()["strata"]) == [(2, 1), (3, 1)]
    top = await client.post(
        "/api/admin/inspections", headers=admin, json=_inspection(facilities[0], round_id, "province")
    )
    assert top.status_code == 201, top.text


async def test_a_return_carries_an_opinion_that_the_clinic_reads(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office, clinic = await login(client, "office"), await login(client, "clinic1")
    review = demo["review_inspection"]
    url = f"/api/inspections/{review}/return"
    not_submitted = await client.post(url, headers=office, json={"opinion": "请补充台账"})
    assert not_submitted.status_code == 409
    assert not_submitted.json()["code"] == "inspection_not_submitted"
    await set_status(review, "submitted")
    before = await Inspection.select(Inspection.version).where(Inspection.id == review).first()
    assert before is not None
    empty = await client.post(url, headers=office, json={"opinion": ""})
    assert empty.status_code == 400
    await other_city_office(demo)
    elsewhere = await client.post(url, headers=await login(client, "office_yi"), json={"opinion": "x"})
    assert elsewhere.status_code == 403

    returned = await client.post(url, headers=office, json={"opinion": "第2章佐证材料不足，请补充后重新提交"})
    assert returned.status_code == 201, returned.text
    after = (
        await Inspection.select(Inspection.status, Inspection.version).where(Inspection.id == review).first()
    )
    assert after is not None
    assert after["status"] == "returned"
    assert after["version"] > before["version"]
    entry = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert entry is not None
    assert entry["action"] == "inspection.return"
    assert "佐证材料不足" in entry["details"]

    facility = demo["facilities"][0]
    opinions = await client.get(f"/api/facilities/{facility}/opinions", headers=clinic)
    assert opinions.status_code == 200
    [opinion] = opinions.json()
    assert (opinion["inspectionId"], opinion["stage"]) == (str(review), "county")
    assert opinion["opinion"] == "第2章佐证材料不足，请补充后重新提交"
    assert opinion["returnedByName"] == "甲市卫健委"
    assert (await client.get(f"/api/inspections/{review}", headers=clinic)).status_code == 200
    other = await client.get(f"/api/facilities/{demo['facilities'][1]}/opinions", headers=clinic)
    assert other.status_code == 403

    # the clinic's app gets the returned inspection and its opinion through sync pull
    pull = {"protocolVersion": 1, "clientGroupId": "clinic-phone", "cookie": None}
    pulled = await client.post("/api/sync/pull", headers=clinic, json=pull)
    assert pulled.status_code == 200, pulled.text
    ops = {op["key"]: op.get("value") for op in pulled.json()["patch"]}
    assert ops[f"inspection/{review}"]["status"] == "returned"
    assert ops[f"opinion/{opinion['id']}"]["opinion"] == "第2章佐证材料不足，请补充后重新提交"
    assert ops[f"opinion/{opinion['id']}"]["inspectionId"] == str(review)
    # a return's opinion, named apart from an application's and from a removal's
    assert (ops[f"opinion/{opinion['id']}"]["kind"], ops[f"opinion/{opinion['id']}"]["removal"]) == (
        "review",
        False,
    )
    assert datetime.fromisoformat(ops[f"opinion/{opinion['id']}"]["returnedAt"]).tzinfo is not None


async def test_a_result_with_unanswered_prerequisites_is_not_signed_off(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    office = await login(client, "office")
    await put_answers(review, {"P1": True, **dict.fromkeys(ARTICLES, "A")})
    await set_status(review, "submitted")
    url = f"/api/inspections/{review}/conclusion/confirm"
    refused = await client.post(url, headers=office)
    assert refused.status_code == 409
    assert refused.json()["code"] == "conclusion_incomplete"
    assert refused.json()["missing"] == ["P2", "P3"]
    assert await ConfirmedConclusion.count() == 0

    await put_answers(review, {"P2": False, "P3": True})
    signed = await client.post(url, headers=office)
    assert signed.status_code == 201, signed.text
    assert (signed.json()["status"], signed.json()["tier"]) == ("not_evaluated", "not_evaluated")
    assert signed.json()["decidedBy"] == "standard"
