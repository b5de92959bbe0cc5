"""Issue 21, item 11: a caption, a removal or a note edit in the same push as the add it follows, naming only
the photo or note (no ``inspectionId``), is applied."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.backend.sync_api.sync_support import Devices, push_body, sha


async def test_edits_in_the_same_push_as_their_add(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    headers = await Devices(client).auth("inspector1")
    inspection = str(demo["review_inspection"])
    kept, removed, note = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())

    def add(mid: int, photo: str, n: int) -> dict[str, Any]:
        args = {
            "inspectionId": inspection,
            "itemCode": "1.2.1",
            "photoId": photo,
            "sha256": sha(n),
            "size": 5,
            "mime": "image/jpeg",
        }
        return {"id": mid, "name": "addPhoto", "hlc": "h", "args": args}

    mutations = [
        add(1, kept, 1),
        {"id": 2, "name": "setPhotoCaption", "hlc": "h", "args": {"photoId": kept, "caption": "门诊大厅"}},
        add(3, removed, 2),
        {"id": 4, "name": "removePhoto", "hlc": "h", "args": {"photoId": removed}},
        {
            "id": 5,
            "name": "addNote",
            "hlc": "h",
            "args": {"inspectionId": inspection, "itemCode": "1.1.1", "noteId": note, "text": "初稿"},
        },
        {"id": 6, "name": "editNote", "hlc": "h", "args": {"noteId": note, "text": "定稿"}},
    ]
    response = await client.post("/api/sync/push", content=push_body("c-same", mutations), headers=headers)
    assert response.status_code == 200, response.text
    assert [(r["status"], r.get("reason")) for r in response.json()["results"]] == [("applied", None)] * 6
    pulled = await client.post(
        "/api/sync/pull", json={"protocolVersion": 1, "clientGroupId": "g-same"}, headers=headers
    )
    view = {op["key"]: op.get("value") for op in pulled.json()["patch"] if op["op"] == "put"}
    assert view[f"photo/{kept}"]["caption"] == "门诊大厅"
    assert f"photo/{removed}" not in view
    assert view[f"note/{note}"]["text"] == "定稿"
