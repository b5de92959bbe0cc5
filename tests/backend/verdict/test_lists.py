"""The round's lists in every state, the province's confirmation, the public page and the clinic's result."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pypdfium2
from litestar import Litestar

from backend.demo import load_demo_verdicts
from backend.review.tables import ConfirmedConclusion
from tests.backend.exports.test_exports import run_jobs
from tests.backend.verdict.support import OPINION, REMOVED, county_stage, later_stages
from tests.conftest import login

DOCUMENT = {"documentNo": "示卫基层函〔2026〕30号", "documentDate": "2026-06-25"}


async def test_lists_confirmation_and_the_public_page(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office, admin = await login(client, "office"), await login(client, "admin")
    round_id = demo["round"]
    await county_stage(client, demo)
    lists = (await client.get(f"/api/rounds/{round_id}/lists", headers=office)).json()
    assert lists["counts"] == {"reported": 3, "removed": 1}
    [removed] = [e for e in lists["entries"] if e["state"] == "removed"]
    assert (removed["facilityName"], removed["removedAt"], removed["removalOpinion"]) == (
        "河口镇卫生院",
        "county",
        OPINION,
    )
    assert removed["licenceNumber"].startswith("PDY")
    reported = [e for e in lists["entries"] if e["state"] == "reported"]
    assert {(e["appliedTier"], e["found"]["county"], e["carriedTier"]) for e in reported} == {
        ("basic", "basic", "basic")
    }
    only = (
        await client.get(f"/api/rounds/{round_id}/lists", headers=office, params={"state": "removed"})
    ).json()
    assert [e["facilityName"] for e in only["entries"]] == ["河口镇卫生院"]

    # nothing public before the province confirms
    page = await client.get(f"/public/rounds/{round_id}")
    assert page.status_code == 200
    assert 'data-testid="public-none"' in page.text

    sheng = await later_stages(client, demo)
    confirmation = {"kind": "confirmation", **DOCUMENT}
    city_refused = await client.post(
        f"/api/rounds/{round_id}/confirmations", headers=office, json=confirmation
    )
    assert (city_refused.status_code, city_refused.json()["code"]) == (403, "not_a_province")
    too_early = await client.post(
        f"/api/rounds/{round_id}/confirmations", headers=sheng, json={"kind": "filing", **DOCUMENT}
    )
    assert (too_early.status_code, too_early.json()["code"]) == (409, "not_confirmed")
    done = await client.post(f"/api/rounds/{round_id}/confirmations", headers=sheng, json=confirmation)
    assert done.status_code == 201, done.text
    assert sorted(e["facilityName"] for e in done.json()["entries"]) == [
        "城关镇卫生院",
        "新塘镇卫生院",
        "石桥镇卫生院",
    ]
    again = await client.post(f"/api/rounds/{round_id}/confirmations", headers=sheng, json=confirmation)
    assert (again.status_code, again.json()["code"]) == (409, "already_confirmed")
    lists = (await client.get(f"/api/rounds/{round_id}/lists", headers=admin)).json()
    assert lists["counts"] == {"confirmed": 3, "removed": 1}
    assert {e["confirmationDocument"] for e in lists["entries"] if e["state"] == "confirmed"} == {
        DOCUMENT["documentNo"]
    }

    # the public page: confirmed facilities only, no sign-in
    public = await client.get(f"/api/public/rounds/{round_id}/results")
    assert public.status_code == 200, public.text
    assert sorted(e["facilityName"] for e in public.json()["entries"]) == [
        "城关镇卫生院",
        "新塘镇卫生院",
        "石桥镇卫生院",
    ]
    assert public.json()["documentNo"] == DOCUMENT["documentNo"]
    page = await client.get(f"/public/rounds/{round_id}")
    assert page.text.count('data-testid="public-entry"') == 3
    assert "河口镇卫生院" not in page.text
    assert "基本标准" in page.text
    assert "basic standard" in (await client.get(f"/public/rounds/{round_id}", params={"lang": "en"})).text

    # a concluded round takes no further sign-off
    from tests.backend.review.test_verdict import graded
    from tests.backend.verdict.support import reviewed

    before = await ConfirmedConclusion.count()
    from backend.inspections.tables import Inspection

    late = Inspection(
        facility=demo["facilities"][REMOVED],
        round=round_id,
        stage="city",
        standard_version_id="cn-thc-capacity-2018",
        status="submitted",
    )
    await late.save()
    from tests.backend.review.test_conclusions import put_answers

    await put_answers(late.id, graded(0.1))
    refused = await client.post(
        f"/api/inspections/{late.id}/conclusion/confirm",
        headers=sheng,
        json={"decision": {"tier": "basic", "reason": "…"}},
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "round_concluded")
    assert await ConfirmedConclusion.count() == before
    del reviewed

    filed = await client.post(
        f"/api/rounds/{round_id}/confirmations", headers=sheng, json={"kind": "filing", **DOCUMENT}
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["entries"] == []  # no recommended-tier facility in this round


async def test_the_clinic_sees_its_grades_and_places_and_nothing_per_expert(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    await county_stage(client, demo)
    clinic = await login(client, "clinic1")
    result = await client.get(
        f"/api/facilities/{demo['facilities'][0]}/rounds/{demo['round']}/result", headers=clinic
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert (body["signed"], body["stage"], body["tier"], body["appliedTier"]) == (
        True,
        "county",
        "basic",
        "basic",
    )
    assert body["state"] == "reported"
    assert body["rankScopes"] == ["county", "city", "province"]
    assert body["improvementKinds"] == ["近期能够实现", "持续改进", "需要政府或部门支持"]
    first = body["articles"][0]
    assert first["value"] in ("A", "B")
    assert {p["scope"] for p in first["places"]} == {"county", "city", "province"}
    # 城关 and 河口 in 东城县; 城关, 河口, 石桥, 新塘 in 甲市 (the county-removed facility still ranks)
    county_place = next(p for p in first["places"] if p["scope"] == "county")
    assert county_place["of"] == 2
    # its low-ranked articles are offered for the improvement plan
    low = {s["item"] for s in body["suggestions"]}
    assert low == {a["item"] for a in body["articles"] if a["rankedLow"]}
    assert all(a["value"] == "B" for a in body["articles"] if a["rankedLow"])
    # nothing of per-expert grades or inspectors' notes
    text = result.text
    for word in ("note", "author", "inspector", "by", "members", "candidates"):
        assert f'"{word}"' not in text
    other = await client.get(
        f"/api/facilities/{demo['facilities'][1]}/rounds/{demo['round']}/result", headers=clinic
    )
    assert other.status_code == 403


async def test_the_lists_export_and_the_two_documents_with_their_pdf(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office = await login(client, "office")
    round_id = str(demo["round"])
    await county_stage(client, demo)
    sheng = await later_stages(client, demo)
    # the confirmation notice as a draft before the province confirms, then with its document number
    draft = await client.get(
        "/api/printables/confirmation-notice", headers=sheng, params={"roundId": round_id}
    )
    assert draft.status_code == 200, draft.text
    assert 'data-testid="doc-draft"' in draft.json()["html"]
    city = await client.get(
        "/api/printables/confirmation-notice", headers=office, params={"roundId": round_id}
    )
    assert (city.status_code, city.json()["code"]) == (403, "not_a_province")
    confirmed = await client.post(
        f"/api/rounds/{round_id}/confirmations", headers=sheng, json={"kind": "confirmation", **DOCUMENT}
    )
    assert confirmed.status_code == 201, confirmed.text
    notice = (
        await client.get("/api/printables/confirmation-notice", headers=sheng, params={"roundId": round_id})
    ).json()
    assert DOCUMENT["documentNo"] in notice["html"]
    assert notice["html"].count("<tr><td>") == 3
    assert "河口镇卫生院" not in notice["html"]
    filing = (
        await client.get("/api/printables/national-filing", headers=sheng, params={"roundId": round_id})
    ).json()
    assert filing["html"].count("<tr><td>") == 0  # no recommended-tier facility in this round

    started = await client.post(
        "/api/exports",
        headers=sheng,
        json={"kind": "confirmation-notice", "format": "pdf", "roundId": round_id},
    )
    assert started.status_code == 202, started.text
    lists = await client.post(
        "/api/exports", headers=office, json={"kind": "lists", "format": "csv", "roundId": round_id}
    )
    assert lists.status_code == 202, lists.text
    assert await run_jobs(app) == 2
    pdf = await client.get(f"/api/exports/{started.json()['id']}/file", headers=sheng)
    assert pdf.status_code == 200, pdf.text
    document = pypdfium2.PdfDocument(pdf.content)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "城关镇卫生院" in text
    assert DOCUMENT["documentNo"] in text
    table = await client.get(f"/api/exports/{lists.json()['id']}/file", headers=office)
    assert table.status_code == 200, table.text
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["省", "市", "县（区）", "机构名称", "执业许可证登记号", "申报等级"]
    by_name = {r[3]: r for r in rows[1:]}
    assert by_name["河口镇卫生院"][11:13] == ["已剔除", "县级初审"]
    assert by_name["城关镇卫生院"][10:12] == ["基本标准", "省级已确认"]
    assert not any(len(cell) == 36 and cell.count("-") == 4 for row in rows for cell in row)  # no bare UUIDs


async def test_a_low_place_is_read_in_the_narrowest_scope_with_three_peers(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    # the demo's concluded round: facility 4 was removed at county, where it has one peer (2 of 2 says
    # nothing of "low"); its city has three, where it ranks last: the articles are read there
    await load_demo_verdicts(demo)
    office = await login(client, "office")
    round_id = next(
        r["id"] for r in (await client.get("/api/rounds", headers=office)).json() if "示范省结果" in r["name"]
    )
    weak = demo["facilities"][4]
    body = (await client.get(f"/api/facilities/{weak}/rounds/{round_id}/result", headers=office)).json()
    assert body["signed"]
    first = {p["scope"]: (p["rank"], p["of"]) for p in body["articles"][0]["places"]}
    assert first["county"][1] == 2
    assert body["suggestions"]
    assert {s["scope"] for s in body["suggestions"]} == {"city"}
    low = {a["item"] for a in body["articles"] if a["rankedLow"]}
    assert low == {s["item"] for s in body["suggestions"]}
    for s in body["suggestions"]:
        assert s["of"] >= 3
        assert s["rank"] > (s["of"] + 1) // 2
