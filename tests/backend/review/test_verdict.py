"""Who decides a stage's tier: the standard's own rule, the province's setting, the review group's decision.

Answers are written straight into the registers (tests/backend/review/test_conclusions.py: put_answers)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import create_user
from backend.audit.tables import AuditLog
from backend.inspections.tables import Inspection
from backend.review.tables import ConfirmedConclusion, ProvinceThreshold
from tests.backend.review.test_conclusions import (
    ARTICLES,
    BASIC,
    PASSED,
    THRESHOLDS_ID,
    TOWNSHIP,
    install_thresholds_standard,
    put_answers,
)
from tests.conftest import login

# demo facilities (backend/demo.py): 0 城关 (6 staff, 8,000 people: eligible for 合格), 1 河口 (13 staff),
# 3 石桥 and 4 新塘: township centres of 甲市
SMALL, LARGE, THIRD, FOURTH = 0, 1, 3, 4
DOCUMENT = {"documentNo": "示卫基层发〔2026〕12号", "documentDate": "2026-03-01"}
PROVINCE_RATIOS = {"recommended": [0.9, 0.5, 0.2, 0.8], "basic": [0.8, 0.3, 0.05]}


async def review(
    demo: dict[str, Any], index: int, answers: dict[str, Any], standard: str = TOWNSHIP.id
) -> UUID:
    """A submitted county review of demo facility ``index`` with ``answers``."""
    inspection = Inspection(
        facility=demo["facilities"][index],
        round=demo["round"],
        stage="county",
        standard_version_id=standard,
        status="in_progress",
    )
    await inspection.save()
    await put_answers(inspection.id, answers)
    await Inspection.update({Inspection.status: "submitted"}).where(Inspection.id == inspection.id)
    return inspection.id


def graded(share_a: float) -> dict[str, Any]:
    """Every prerequisite passed; every article B, the first ``share_a`` of the basic articles A."""
    top = set(BASIC[: round(share_a * len(BASIC))])
    return {**PASSED, **{a: "A" if a in top else "B" for a in ARTICLES}}


async def province_office(demo: dict[str, Any]) -> None:
    """office_sheng: the province's office (示范省)."""
    await create_user(
        data=CreateUserRequest(
            username="office_sheng", password="demo", role="office", region_id=demo["province"]
        ),
        actor_id=None,
        is_demo=True,
    )


async def sign(
    client: httpx.AsyncClient, headers: dict[str, str], inspection: UUID, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(f"/api/inspections/{inspection}/conclusion/confirm", headers=headers, json=body)


async def test_a_tier_from_each_of_the_three_sources(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    office, admin = await login(client, "office"), await login(client, "admin")

    # 1. the review group: the shipped township standard leaves 推荐/基本 open and the province set nothing
    group = await review(demo, THIRD, graded(0.1))
    view = (await client.get(f"/api/inspections/{group}/conclusion", headers=office)).json()
    assert view["conclusion"]["status"] == "undetermined"
    assert (view["verdict"]["decidedBy"], view["verdict"]["tier"]) == (None, None)
    assert {"code": "verdict.found_undetermined", "params": {}} in view["verdict"]["statement"]
    refused = await sign(client, office, group)
    assert (refused.status_code, refused.json()["code"]) == (422, "decision_required")
    not_eligible = await sign(client, office, group, {"decision": {"tier": "qualified", "reason": "小机构"}})
    assert (not_eligible.status_code, not_eligible.json()["code"]) == (422, "tier_not_eligible")
    unknown = await sign(client, office, group, {"decision": {"tier": "gold", "reason": "…"}})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_tier")
    assert await ConfirmedConclusion.count() == 0
    by_group = await sign(client, office, group, {"decision": {"tier": "basic", "reason": "复核小组合议"}})
    assert by_group.status_code == 201, by_group.text
    signed = by_group.json()
    assert (signed["tier"], signed["decidedBy"], signed["decisionReason"]) == (
        "basic",
        "group",
        "复核小组合议",
    )
    assert (signed["computedTier"], signed["overridden"], signed["setting"]) == (None, False, None)
    # the engine's ratios travel beside the decision
    assert signed["explanation"]["tiers"][0]["conditions"][0]["actualRatio"] == 1.0

    # 2. the province's setting: a city office may not set it; the province office sets it with its document
    assert (
        await client.post(
            "/api/thresholds",
            headers=office,
            json={"standardId": TOWNSHIP.id, "thresholds": PROVINCE_RATIOS, **DOCUMENT},
        )
    ).json()["code"] == "not_a_province"
    await province_office(demo)
    sheng = await login(client, "office_sheng")
    own_rule = await client.post(
        "/api/thresholds",
        headers=sheng,
        json={"standardId": TOWNSHIP.id, "thresholds": {"qualified": [0.5, None, None]}, **DOCUMENT},
    )
    assert (own_rule.status_code, own_rule.json()["code"]) == (422, "thresholds_invalid")
    assert "sets this threshold itself" in own_rule.json()["problems"][0]
    assert await ProvinceThreshold.count() == 0
    audit_before = await AuditLog.count()
    setting = await client.post(
        "/api/thresholds",
        headers=sheng,
        json={"standardId": TOWNSHIP.id, "thresholds": PROVINCE_RATIOS, **DOCUMENT},
    )
    assert setting.status_code == 201, setting.text
    assert setting.json()["conditions"]["qualified"][0]["standardRatio"] == 0.8
    entry = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert entry is not None
    assert entry["action"] == "thresholds.set"
    assert await AuditLog.count() == audit_before + 1
    listed = (
        await client.get("/api/thresholds", headers=office)
    ).json()  # the city office reads its province's
    assert [s["documentNo"] for s in listed] == [DOCUMENT["documentNo"]]

    provincial = await review(demo, LARGE, graded(0.1))
    view = (await client.get(f"/api/inspections/{provincial}/conclusion", headers=office)).json()
    assert view["conclusion"]["status"] == "undetermined"  # the standard alone still cannot decide
    assert (view["verdict"]["decidedBy"], view["verdict"]["tier"]) == ("province", "basic")
    assert view["verdict"]["setting"]["documentNo"] == DOCUMENT["documentNo"]
    by_province = await sign(client, office, provincial)
    assert by_province.status_code == 201, by_province.text
    signed = by_province.json()
    assert (signed["tier"], signed["decidedBy"]) == ("basic", "province")
    assert signed["setting"] == {"id": setting.json()["id"], **DOCUMENT}
    words = {(s["code"], s["params"].get("tier")) for s in signed["statement"]}
    # honest wording: 合格 is a tier this large centre is not eligible for; 推荐 is one it did not reach
    assert ("verdict.tier_not_eligible", "合格标准") in words
    assert ("verdict.tier_not_reached", "推荐标准") in words
    assert ("verdict.found", "基本标准") in words
    assert {"code": "verdict.by_province", "params": DOCUMENT} in signed["statement"]
    # a signed conclusion keeps its setting: a later setting does not change it
    newer = {"standardId": TOWNSHIP.id, "thresholds": {"basic": [0.99, 0.99, 0.99]}, **DOCUMENT}
    assert (await client.post("/api/thresholds", headers=sheng, json=newer)).status_code == 201
    kept = (
        await client.get(f"/api/facilities/{demo['facilities'][LARGE]}/conclusions", headers=admin)
    ).json()
    assert [(c["tier"], c["setting"]["id"]) for c in kept] == [("basic", setting.json()["id"])]

    # 3. the standard's own rule (a standard whose thresholds are all set)
    await install_thresholds_standard()
    standard = await review(demo, SMALL, graded(1.0), THRESHOLDS_ID)
    by_standard = await sign(client, office, standard)
    assert by_standard.status_code == 201, by_standard.text
    assert (by_standard.json()["tier"], by_standard.json()["decidedBy"]) == ("recommended", "standard")
    assert by_standard.json()["setting"] is None

    # an override of a computed tier: written reason, audited as such
    overridden = await review(demo, FOURTH, graded(1.0), THRESHOLDS_ID)
    no_reason = await sign(client, office, overridden, {"decision": {"tier": "basic"}})
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "reason_required")
    done = await sign(
        client, office, overridden, {"decision": {"tier": "basic", "reason": "现场发现台账补记"}}
    )
    assert done.status_code == 201, done.text
    assert (done.json()["tier"], done.json()["computedTier"], done.json()["overridden"]) == (
        "basic",
        "recommended",
        True,
    )
    assert done.json()["decidedBy"] == "group"
    entry = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert entry is not None
    assert entry["action"] == "conclusion.override"


async def test_prerequisites_not_answered_and_not_met_are_said_apart(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office = await login(client, "office")
    failed = await review(demo, THIRD, {**graded(0.1), "P2": False})
    view = (await client.get(f"/api/inspections/{failed}/conclusion", headers=office)).json()
    assert view["verdict"]["decidedBy"] == "standard"
    assert view["verdict"]["tier"] == "not_evaluated"
    codes = [s["code"] for s in view["verdict"]["statement"]]
    assert "verdict.prerequisite_not_met" in codes
    assert "verdict.found_not_evaluated" in codes
    # a failed prerequisite is not overridden by a decision
    refused = await sign(client, office, failed, {"decision": {"tier": "basic", "reason": "…"}})
    assert (refused.status_code, refused.json()["code"]) == (422, "prerequisite_failed")
    # unanswered prerequisites are a gap, never a result
    gap = await review(demo, FOURTH, {k: v for k, v in graded(0.1).items() if k != "P3"})
    refused = await sign(client, office, gap, {"decision": {"tier": "basic", "reason": "…"}})
    assert (refused.status_code, refused.json()["code"]) == (409, "conclusion_incomplete")
    view = (await client.get(f"/api/inspections/{gap}/conclusion", headers=office)).json()
    assert "verdict.prerequisite_not_answered" in [s["code"] for s in view["verdict"]["statement"]]
