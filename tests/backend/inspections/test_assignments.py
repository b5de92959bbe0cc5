"""GET /api/assignments: the app's work list with facility, round, standard, team and progress."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import login


async def push(
    client: httpx.AsyncClient, headers: dict[str, str], inspection_id: str, mutations: list[dict[str, Any]]
) -> None:
    body = {
        "protocolVersion": 1,
        "clientGroupId": "g-assign",
        "clientId": "c-assign",
        "mutations": [{"id": n + 1, **m} for n, m in enumerate(mutations)],
    }
    response = await client.post("/api/sync/push", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"applied"}


async def test_inspector_sees_their_review_with_progress(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await login(client, "inspector1")
    rows = (await client.get("/api/assignments", headers=headers)).json()
    assert len(rows) == 1
    row = rows[0]
    assert row["stage"] == "county"
    assert row["facilityName"] == "城关镇卫生院"
    assert row["isLead"] is True
    assert row["standardName"].startswith("乡镇卫生院")
    assert row["roundName"]
    assert row["regionName"]
    assert row["articleCount"] == 43
    assert row["answeredCount"] == 0
    assert row["photoCount"] == 0
    assert [m["isLead"] for m in row["team"]] == [True, False, False, False, False]

    inspection_id = row["inspectionId"]
    sha = "a" * 64
    await push(
        client,
        headers,
        inspection_id,
        [
            {
                "name": "setAnswer",
                "args": {"inspectionId": inspection_id, "itemCode": "1.1.1", "field": "value", "value": "B"},
            },
            {
                "name": "setAnswer",
                "args": {"inspectionId": inspection_id, "itemCode": "1.2.1", "field": "value", "value": "D"},
            },
            # a prerequisite is not an article: it does not count toward articles answered
            {
                "name": "setAnswer",
                "args": {"inspectionId": inspection_id, "itemCode": "P1", "field": "value", "value": True},
            },
            {
                "name": "setAnswer",
                "args": {"inspectionId": inspection_id, "itemCode": "1.2.2", "field": "value", "value": "C"},
            },
            {
                "name": "setAnswer",
                "args": {"inspectionId": inspection_id, "itemCode": "1.2.2", "field": "value", "value": None},
            },
            {
                "name": "addPhoto",
                "args": {
                    "inspectionId": inspection_id,
                    "itemCode": "1.1.1",
                    "photoId": "00000000-0000-4000-8000-000000000001",
                    "sha256": sha,
                    "size": 10,
                    "mime": "image/jpeg",
                },
            },
        ],
    )
    row = (await client.get("/api/assignments", headers=headers)).json()[0]
    assert (row["answeredCount"], row["photoCount"]) == (2, 1)

    member = (await client.get("/api/assignments", headers=await login(client, "inspector2"))).json()
    assert [r["isLead"] for r in member] == [False]


async def test_each_role_sees_only_its_scope(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    clinic = (await client.get("/api/assignments", headers=await login(client, "clinic1"))).json()
    assert [r["stage"] for r in clinic] == ["self"]
    assert {r["facilityName"] for r in clinic} == {"城关镇卫生院"}
    recused = (await client.get("/api/assignments", headers=await login(client, "inspector6"))).json()
    assert recused == []
    office = (await client.get("/api/assignments", headers=await login(client, "office"))).json()
    assert len(office) >= 2
    assert {r["stage"] for r in office} == {"self", "county"}
    assert (await client.get("/api/assignments")).status_code == 401
