"""Issue 21, item 12: the API says what it does — methods in Allow, CSV documented as CSV, request bodies
described, one charset, out-of-scope rounds refused alike, no foreign inspection named in a rejection."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.backend.sync_api.sync_support import Devices, push_body, sha


async def test_evidence_flags_of_an_out_of_scope_round_are_403(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    admin, office = await devices.auth("admin"), await devices.auth("office")
    created = await client.post(
        "/api/admin/rounds",
        headers=admin,
        json={"name": "乙市 2026", "year": 2026, "regionId": str(demo["cities"][1])},
    )
    assert created.status_code in (200, 201), created.text
    round_id = created.json()["id"]
    assert (await client.get(f"/api/rounds/{round_id}", headers=office)).status_code == 403
    flags = await client.get(f"/api/evidence/rounds/{round_id}/flags", headers=office)
    assert flags.status_code == 403, flags.text
    assert flags.json()["code"] == "out_of_scope"
    assert (
        await client.get(f"/api/evidence/rounds/{demo['round']}/flags", headers=office)
    ).status_code == 200


async def test_a_rejection_does_not_name_a_foreign_photos_inspection(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    inspector, clinic = await devices.auth("inspector1"), await devices.auth("clinic1")
    review = str(demo["review_inspection"])
    photo = str(uuid.uuid4())
    args = {
        "inspectionId": review,
        "itemCode": "1.1.1",
        "photoId": photo,
        "sha256": sha(3),
        "size": 5,
        "mime": "image/jpeg",
    }
    added = await client.post(
        "/api/sync/push",
        content=push_body("c-1", [{"id": 1, "name": "addPhoto", "args": args}]),
        headers=inspector,
    )
    assert added.json()["results"][0]["status"] == "applied"
    own = str(demo["self_inspections"][0])
    probes = [
        {"id": 1, "name": "removePhoto", "args": {"photoId": photo}},
        {"id": 2, "name": "removePhoto", "args": {"photoId": photo, "inspectionId": own}},
        {"id": 3, "name": "setPhotoCaption", "args": {"photoId": photo, "caption": "x", "inspectionId": own}},
    ]
    response = await client.post("/api/sync/push", content=push_body("c-2", probes), headers=clinic)
    results = response.json()["results"]
    assert [r["reason"] for r in results] == ["out_of_scope"] * 3
    assert review not in response.text


async def test_options_allow_every_method_of_a_path(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    import re

    spec = (await client.get("/schema/openapi.json")).json()
    admin = await Devices(client).auth("admin")
    short = []
    for path, operations in spec["paths"].items():
        methods = {m.upper() for m in operations if m in ("get", "post", "put", "patch", "delete", "head")}
        url = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
        response = await client.options(url, headers=admin)
        allow = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
        if not methods <= allow:
            short.append((path, sorted(methods - allow)))
    assert short == []


async def test_csv_is_documented_and_sent_as_csv_with_one_charset(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    operations = {
        o["operationId"]: o for ops in spec["paths"].values() for o in ops.values() if isinstance(o, dict)
    }
    for name in ("exportRound", "exportImprovement"):
        assert list(operations[name]["responses"]["200"]["content"]) == ["text/csv"], name
    for name, media in [
        ("syncPush", "application/json"),
        ("syncPull", "application/json"),
        ("appendUpload", "application/offset+octet-stream"),
        ("importStandard", "application/json"),
    ]:
        assert list(operations[name]["requestBody"]["content"]) == [media], name
    office = await Devices(client).auth("office")
    for url in (
        f"/api/rounds/{demo['round']}/exports/rankings",
        f"/api/improvement/rounds/{demo['round']}/export",
    ):
        response = await client.get(url, headers=office)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8", url
