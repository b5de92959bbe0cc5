"""Programme settings read, not hard-coded: rank scopes and improvement kinds in the clinic's result."""

from __future__ import annotations

import json
from typing import Any

import httpx

from backend.standards import parse_standard, shipped_bytes
from backend.standards.services import save_standard
from tests.backend.review.test_flow import BASIC
from tests.backend.review.test_verdict import graded
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
