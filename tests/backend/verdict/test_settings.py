"""Programme settings read, not hard-coded: rank scopes and improvement kinds in the clinic's result."""

from __future__ import annotations

import json
from typing import Any

import httpx

from backend.standards import parse_standard, shipped_bytes
from backend.standards.services import save_standard
from tests.backend.review.test_conclusions import put_answers
from tests.backend.review.test_flow import BASIC, apply
from tests.backend.review.test_verdict import DOCUMENT, PROVINCE_RATIOS, graded, province_office
from tests.backend.verdict.support import reviewed
from tests.conftest import login

COUNTY_ONLY = "test-township-county-ranks"


async def test_rank_scopes_and_improvement_kinds_come_from_the_settings(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    raw = json.loads(shipped_bytes("township-2018"))
    raw["id"] = COUNTY_ONLY
    raw["programmeSettings"]["rankScopes"] = ["county"]
    raw["programmeSettings"]["improvementListKinds"] = ["近期", "长期"]
    await save_standard(standard=parse_standard(json.dumps(raw)), actor_id=None, publish=True)
    office, clinic = await login(client, "office"), await login(client, "clinic1")
    for index in (0, 1):
        await reviewed(client, office, demo, index, "county", graded(0.1 * index), BASIC, COUNTY_ONLY)
    url = f"/api/facilities/{demo['facilities'][0]}/rounds/{demo['round']}"
    result = (await client.get(f"{url}/result", headers=clinic)).json()
    assert result["rankScopes"] == ["county"]
    assert result["improvementKinds"] == ["近期", "长期"]
    assert {p["scope"] for a in result["articles"] for p in a["places"]} == {"county"}
    rankings = (await client.get(f"{url}/rankings", headers=office, params={"stage": "county"})).json()
    assert {p["scope"] for a in rankings["articles"] for p in a["places"]} == {"county"}


async def test_the_self_assessment_result_beside_the_tier_applied_for(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin, office = await login(client, "admin"), await login(client, "office")
    own = demo["self_inspections"][1]  # 河口 (13 medical staff: 合格 is not for it)
    await put_answers(own, graded(0.1))
    await apply(client, admin, demo, 1)

    async def self_result() -> str | None:
        lists = (await client.get(f"/api/rounds/{demo['round']}/lists", headers=office)).json()
        [entry] = [e for e in lists["entries"] if e["facilityId"] == str(demo["facilities"][1])]
        assert entry["appliedTier"] == "basic"
        result: str | None = entry["selfResult"]
        return result

    # the standard alone leaves 推荐/基本 open: undetermined; with the province's thresholds: 基本标准
    assert await self_result() == "undetermined"
    await province_office(demo)
    sheng = await login(client, "office_sheng")
    setting = {"standardId": "cn-thc-capacity-2018", "thresholds": PROVINCE_RATIOS, **DOCUMENT}
    assert (await client.post("/api/thresholds", headers=sheng, json=setting)).status_code == 201
    assert await self_result() == "basic"
