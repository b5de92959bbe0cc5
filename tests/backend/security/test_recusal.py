"""Issue 21, item 10: an expert tied to a facility after being assigned loses its inspections at once
(read, pull, push, photos), not only when a team is next set."""

from __future__ import annotations

from typing import Any

import httpx

from tests.backend.sync_api.sync_support import Devices, push_body, set_answer


async def test_a_tie_recorded_after_the_assignment_recuses_at_every_access(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    admin = await devices.auth("admin")
    expert = await devices.auth("inspector1")
    inspection = demo["review_inspection"]
    detail = await client.get(f"/api/inspections/{inspection}", headers=expert)
    assert detail.status_code == 200
    facility = detail.json()["facilityId"]
    pull = {"protocolVersion": 1, "clientGroupId": "g-recusal"}
    before = await client.post("/api/sync/pull", json=pull, headers=expert)
    assert f"inspection/{inspection}" in {op["key"] for op in before.json()["patch"]}

    profiles = (await client.get("/api/admin/experts", headers=admin)).json()
    [profile] = [p for p in profiles if p["username"] == "inspector1"]
    tied = await client.patch(
        f"/api/admin/experts/{profile['id']}", headers=admin, json={"tiedFacilityIds": [facility]}
    )
    assert tied.status_code == 200, tied.text

    assert (await client.get(f"/api/inspections/{inspection}", headers=expert)).status_code == 403
    listed = (await client.get("/api/assignments", headers=expert)).json()
    assert str(inspection) not in str(listed)
    after = await client.post("/api/sync/pull", json=pull | {"clientGroupId": "g-recusal-2"}, headers=expert)
    assert not any(str(inspection) in op["key"] for op in after.json()["patch"])
    pushed = await client.post(
        "/api/sync/push",
        content=push_body("c-recused", [set_answer(1, inspection, "1.1.1", "A")]),
        headers=expert,
    )
    assert pushed.status_code == 200
    assert pushed.json()["results"][0]["reason"] == "out_of_scope"
    receipt = await client.get(f"/api/inspections/{inspection}/receipt", headers=expert)
    assert receipt.status_code == 403
    # the others on the team keep it
    other = await devices.auth("inspector2")
    assert (await client.get(f"/api/inspections/{inspection}", headers=other)).status_code == 200
