"""The export list filtered by round: the database filters, so a round's exports never hide behind newer
exports of other rounds (it used to read limit*4 rows and filter them in Python)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from backend.exports.services import list_exports
from backend.guards import AuthUser
from backend.inspections.tables import Round
from tests.conftest import login


async def test_a_rounds_exports_are_listed_behind_newer_exports_of_other_rounds(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office = await login(client, "office")
    other = Round(name="2027", year=2027, region=demo["province"])
    await other.save()

    async def start(round_id: object) -> str:
        response = await client.post(
            "/api/exports",
            json={"kind": "answers", "format": "csv", "roundId": str(round_id)},
            headers=office,
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    ours = await start(demo["round"])
    newer = [await start(other.id) for _ in range(9)]
    me = (await client.get("/api/me", headers=office)).json()
    caller = AuthUser(id=UUID(me["id"]), username="office", role="office", region_id=UUID(me["regionId"]))

    listed = await list_exports(user=caller, round_id=demo["round"], limit=2)
    assert [str(job.id) for job in listed] == [ours]
    listed = await list_exports(user=caller, round_id=other.id, limit=2)
    assert [str(job.id) for job in listed] == newer[::-1][:2]
    over_http = await client.get("/api/exports", params={"roundId": str(demo["round"])}, headers=office)
    assert [job["id"] for job in over_http.json()] == [ours]
