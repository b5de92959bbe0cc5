"""The improvement plan's read side on both databases: suggestions from grades (for the tier aimed at),
the improved-grade link, each clinic's plan and progress for the office, the needs-support list, the CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pypdfium2
import pytest
from litestar import Litestar

from backend.accounts.schemas import AuthUser
from backend.errors import Forbidden
from backend.improvement.report import plan_fragment
from backend.improvement.targets import aimed_tier, article_targets, improved
from backend.inspections.tables import Inspection
from backend.standards import load_shipped
from tests.backend.exports.test_exports import run_jobs
from tests.backend.programme.support import finish_self_assessment
from tests.backend.sync_api.sync_support import Devices
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("demo")


def test_targets_follow_the_tier_aimed_at() -> None:
    standard = load_shipped("township-2018")
    basic, source = aimed_tier(standard, None)
    assert basic is not None
    assert (basic.code, source) == ("basic", "lowest")
    targets = article_targets(standard, basic)
    # thresholds not transcribed: the floor C for basic articles; recommended ones are not in the basic tier
    assert targets["1.1.1"] == "C"
    assert "2.1.4" not in targets
    recommended, source = aimed_tier(standard, "recommended")
    assert recommended is not None
    assert source == "application"
    assert article_targets(standard, recommended)["2.1.4"] == "C"
    # a tier with ratios: the grade most articles must reach (80% at C)
    qualified, _ = aimed_tier(standard, "qualified")
    assert article_targets(standard, qualified)["1.1.1"] == "C"
    ranks = {"A": 3, "B": 2, "C": 1, "D": 0}
    assert improved("C", "B", ranks)
    assert not improved("B", "B", ranks)
    assert not improved(None, "B", ranks)


async def test_suggestions_improved_link_and_the_office_view(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    clinic = await devices.auth("clinic1")
    office = await devices.auth("office")
    plan = demo["self_inspections"][0]
    phone = await devices.device("clinic1")
    for item, grade in (("1.1.1", "D"), ("1.2.1", "C"), ("1.2.2", "D"), ("2.1.4", "D")):
        phone.set_answer(plan, item, "value", grade)
    await phone.sync()

    url = f"/api/improvement/inspections/{plan}/targets"
    answer = (await client.get(url, headers=clinic)).json()
    assert (answer["tier"], answer["tierSource"]) == ("basic", "lowest")
    assert answer["ranks"]["A"] > answer["ranks"]["D"]
    assert [s["itemCode"] for s in answer["suggestions"]] == ["1.1.1", "1.2.2"]
    assert answer["suggestions"][0]["sectionCode"] == "1"
    assert answer["suggestions"][0]["grade"] == "D"
    assert answer["suggestions"][0]["target"] == "C"
    # an application needs the self-assessment submitted; reopened afterwards, as the plan's follow-up
    # grades it again below
    await finish_self_assessment(demo["facilities"][0], demo["round"])
    applied = await client.post(
        "/api/applications",
        headers=clinic,
        json={"facilityId": str(demo["facilities"][0]), "roundId": str(demo["round"]), "tier": "recommended"},
    )
    assert applied.status_code == 201, applied.text
    await Inspection.update({Inspection.status: "in_progress"}).where(Inspection.id == plan)
    answer = (await client.get(url, headers=clinic)).json()
    assert answer["tier"] == "recommended"
    assert [s["itemCode"] for s in answer["suggestions"]] == ["1.1.1", "1.2.2", "2.1.4"]

    # accepting a suggestion takes it off the list; fixing it and grading better links the two
    fix = phone.create_improvement(plan, "1.1.1", "执业许可证过期", "soon", due_date="2020-01-01")
    wait = phone.create_improvement(plan, "1.2.2", "需要增加编制", "needs_support")
    phone.create_improvement(plan, "2.1.4", "中医馆建设", "continuous", due_date="2099-12-31")
    phone.set_improvement_status(fix, "done")
    await phone.sync()
    phone.set_answer(plan, "1.1.1", "value", "B")
    await phone.sync()
    answer = (await client.get(url, headers=clinic)).json()
    assert answer["suggestions"] == []
    items = (await client.get(f"/api/improvement/inspections/{plan}/items", headers=office)).json()
    by_code = {i["itemCode"]: i for i in items}
    assert by_code["1.1.1"]["improved"] is True
    assert (by_code["1.1.1"]["gradeBefore"], by_code["1.1.1"]["currentGrade"]) == ("D", "B")
    assert by_code["1.1.1"]["overdue"] is False  # done items are never overdue
    assert by_code["1.2.2"]["improved"] is False
    assert by_code["1.1.1"]["sectionTitle"] == "功能任务与资源配置"
    assert by_code["2.1.4"]["overdue"] is False

    # an overdue open item, and the office's summary per clinic
    late = phone.create_improvement(plan, "1.2.1", "制度未更新", "soon", due_date="2021-06-30")
    await phone.sync()
    plans = (await client.get(f"/api/improvement/rounds/{demo['round']}/plans", headers=office)).json()
    mine = next(p for p in plans if p["inspectionId"] == str(plan))
    assert (mine["total"], mine["done"], mine["overdue"], mine["needsSupport"], mine["improved"]) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert mine["byKind"]["soon"] == {"total": 2, "done": 1}
    assert mine["byKind"]["needs_support"] == {"total": 1, "done": 0}
    # every self-assessment of the office's region is listed, with or without a plan
    assert len(plans) == sum(1 for p in plans if p["total"] == 0) + 1
    assert mine["county"]

    support = (
        await client.get(f"/api/improvement/rounds/{demo['round']}/needs-support", headers=office)
    ).json()
    assert [(s["facilityName"], s["item"]["id"]) for s in support] == [(mine["facilityName"], str(wait))]

    exported = await client.get(f"/api/improvement/rounds/{demo['round']}/export", headers=office)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    text = exported.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    # Chinese column titles, kinds and states spelled out, no bare ids; a readable file name
    assert "filename*=UTF-8''" in exported.headers["content-disposition"]
    assert "facility_id" not in text
    assert sorted(r["条款编号"] for r in rows) == ["1.1.1", "1.2.1", "1.2.2", "2.1.4"]
    row = next(r for r in rows if r["条款编号"] == "1.2.1")
    assert (row["类别"], row["状态"], row["已逾期"], row["差距"]) == (
        "近期能够实现",
        "未开始",
        "是",
        "制度未更新",
    )
    assert next(r for r in rows if r["条款编号"] == "1.1.1")["已改进"] == "是"
    assert str(late)


async def test_a_review_inspection_has_no_plan(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    office = await login(client, "office")
    answer = await client.get(
        f"/api/improvement/inspections/{demo['review_inspection']}/items", headers=office
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "not_self_assessment"


async def test_the_printable_plan(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    devices = Devices(client)
    phone = await devices.device("clinic1")
    plan = demo["self_inspections"][0]
    phone.set_answer(plan, "1.1.1", "value", "C")
    fixed = phone.create_improvement(plan, "1.1.1", "制度<未>更新 & 缺记录", "soon", owner="院办")
    phone.create_improvement(plan, "1.2.2", "需要增加编制", "needs_support", due_date="2020-01-01")
    phone.set_improvement_status(fixed, "done")
    await phone.sync()
    phone.set_answer(plan, "1.1.1", "value", "A")
    await phone.sync()
    clinic = AuthUser(id=demo["clinic"], username="clinic1", role="clinic", facility_id=demo["facilities"][0])
    title, filename, body = await plan_fragment(
        user=clinic, facility_id=demo["facilities"][0], round_id=demo["round"]
    )
    assert title.startswith("整改计划 · ")
    assert filename == "城关镇卫生院-2026年度“优质服务基层行”活动-整改计划"
    assert "制度&lt;未&gt;更新 &amp; 缺记录" in body
    assert "<未>" not in body
    assert "近期能够实现（1/1）" in body
    assert "需要政府或部门支持（0/1）" in body
    assert "已完成（已改进 C→A）" in body
    assert '<td class="gap-wide">2020年1月1日（已逾期）</td>' in body
    other = AuthUser(id=demo["clinic"], username="clinic1", role="clinic", facility_id=demo["facilities"][1])
    with pytest.raises(Forbidden):
        await plan_fragment(user=other, facility_id=demo["facilities"][0], round_id=demo["round"])


async def test_the_plan_prints_to_a_pdf_by_the_report_path(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    phone = await devices.device("clinic1")
    phone.create_improvement(demo["self_inspections"][0], "1.2.2", "需要增加编制", "needs_support")
    await phone.sync()
    clinic = await login(client, "clinic1")
    params = f"facilityId={demo['facilities'][0]}&roundId={demo['round']}"
    page = await client.get(f"/api/printables/improvement-plan?{params}", headers=clinic)
    assert page.status_code == 200, page.text
    assert page.json()["title"].startswith("整改计划 · ")
    assert "需要增加编制" in page.json()["html"]
    other = f"facilityId={demo['facilities'][1]}&roundId={demo['round']}"
    assert (await client.get(f"/api/printables/improvement-plan?{other}", headers=clinic)).status_code == 403
    body = {"kind": "improvement-plan", "format": "pdf", "facilityId": str(demo["facilities"][0])}
    started = await client.post("/api/exports", json={**body, "roundId": str(demo["round"])}, headers=clinic)
    assert started.status_code == 202, started.text
    assert await run_jobs(app) == 1
    done = (await client.get(f"/api/exports/{started.json()['id']}", headers=clinic)).json()
    assert done["status"] == "done", done
    pdf = (await client.get(done["downloadUrl"], headers=clinic)).content
    document = pypdfium2.PdfDocument(pdf)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "需要增加编制" in text
    assert "整改计划" in text
