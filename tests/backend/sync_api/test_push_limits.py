"""Issue 21, items 4 and 5: every text a push stores is checked against its column when the push is decoded
(``rejected``/``too_long`` per mutation, 400 for the envelope), on both databases; deep nesting is a 400."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.backend.sync_api.sync_support import Devices, push_body, sha

LONG = "x" * 1000  # longer than every text column of a push; shorter than the free-text limit (20,000)
# free text (Text columns, 20,000 characters) may be stored at this length
FREE_TEXT = {("addNote", "text"), ("editNote", "text"), ("setPhotoCaption", "caption")}
FREE_TEXT |= {("createImprovement", "gap"), ("setImprovementField", "value")}


def base_mutations(demo: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """A well-formed example of every mutation, with the account that sends it."""
    review = str(demo["review_inspection"])
    plan = str(demo["self_inspections"][0])
    some = lambda: str(uuid.uuid4())  # noqa: E731
    return {
        "setAnswer": (
            "inspector1",
            {"inspectionId": review, "itemCode": "1.1.1", "field": "value", "value": "B", "baseVersion": 0},
        ),
        "addNote": (
            "inspector1",
            {"inspectionId": review, "itemCode": "1.1.1", "noteId": some(), "text": "n"},
        ),
        "editNote": ("inspector1", {"noteId": some(), "text": "n", "inspectionId": review}),
        "deleteNote": ("inspector1", {"noteId": some(), "inspectionId": review}),
        "addPhoto": (
            "inspector1",
            {
                "inspectionId": review,
                "itemCode": "1.2.1",
                "photoId": some(),
                "sha256": sha(1),
                "size": 5,
                "mime": "image/jpeg",
                "requirementId": "C-1",
                "takenAt": "2026-11-20T09:00:00+08:00",
            },
        ),
        "removePhoto": ("inspector1", {"photoId": some(), "inspectionId": review}),
        "setPhotoCaption": ("inspector1", {"photoId": some(), "caption": "c", "inspectionId": review}),
        "resolveConflict": ("inspector1", {"conflictId": some(), "value": "B", "inspectionId": review}),
        "submitInspection": ("inspector1", {"inspectionId": review}),
        "createImprovement": (
            "clinic1",
            {
                "inspectionId": plan,
                "improvementId": some(),
                "itemCode": "1.1.1",
                "gap": "g",
                "kind": "soon",
                "owner": "o",
                "dueDate": "2026-12-31",
                "requirementId": "C-1",
            },
        ),
        "setImprovementField": ("clinic1", {"improvementId": some(), "field": "owner", "value": "o"}),
        "setImprovementStatus": ("clinic1", {"improvementId": some(), "status": "done"}),
        "attachImprovementPhoto": ("clinic1", {"improvementId": some(), "photoId": some()}),
    }


def note_after(mid: int, demo: dict[str, Any], account: str) -> dict[str, Any]:
    inspection = demo["review_inspection"] if account == "inspector1" else demo["self_inspections"][0]
    args = {"inspectionId": str(inspection), "itemCode": "1.1.1", "noteId": str(uuid.uuid4()), "text": "ok"}
    return {"id": mid, "name": "addNote", "hlc": "h", "args": args}


async def test_every_string_field_of_every_mutation_too_long(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    from sync.mutations import MUTATION_NAMES

    devices = Devices(client)
    bases = base_mutations(demo)
    assert set(bases) == MUTATION_NAMES  # a new mutation needs its example here
    tried = 0
    for name, (account, args) in bases.items():
        headers = await devices.auth(account)
        cases = [("hlc", {"id": 1, "name": name, "hlc": LONG, "args": args})]
        cases += [
            (field, {"id": 1, "name": name, "hlc": "h", "args": args | {field: LONG}})
            for field, value in args.items()
            if isinstance(value, str)
        ]
        for field, mutation in cases:
            tried += 1
            body = push_body(f"fuzz-{tried}", [mutation, note_after(2, demo, account)])
            response = await client.post("/api/sync/push", content=body, headers=headers)
            assert response.status_code == 200, (name, field, response.text)
            first, behind = response.json()["results"]
            if (name, field) not in FREE_TEXT:
                assert first["status"] == "rejected", (name, field, first)
            # the queue moves on: a valid note behind it is applied
            assert behind["status"] == "applied", (name, field, behind)
    assert tried >= 45


@pytest.mark.parametrize(
    ("field", "length"), [("requirementId", 21), ("takenAt", 41), ("takenAt", 44), ("hlc", 61)]
)
async def test_the_reported_lengths_are_rejected_as_too_long(
    client: httpx.AsyncClient, demo: dict[str, Any], field: str, length: int
) -> None:
    account, args = base_mutations(demo)["addPhoto"]
    mutation: dict[str, Any] = {"id": 1, "name": "addPhoto", "hlc": "h", "args": args}
    if field == "hlc":
        mutation["hlc"] = "9" * length
    else:
        mutation["args"] = args | {field: "9" * length}
    headers = await Devices(client).auth(account)
    body = push_body("c1", [mutation, note_after(2, demo, account)])
    response = await client.post("/api/sync/push", content=body, headers=headers)
    assert response.status_code == 200, response.text
    first, behind = response.json()["results"]
    assert (first["status"], first["reason"]) == ("rejected", "too_long")
    assert field in first["detail"]
    assert behind["status"] == "applied"
    at_limit = push_body("c2", [mutation | {"args": args}])
    assert (await client.post("/api/sync/push", content=at_limit, headers=headers)).status_code == 200


@pytest.mark.parametrize("field", ["clientId", "clientGroupId"])
async def test_an_envelope_id_too_long_is_400(
    client: httpx.AsyncClient, demo: dict[str, Any], field: str
) -> None:
    headers = await Devices(client).auth("inspector1")
    envelope = {
        "protocolVersion": 1,
        "clientGroupId": "g",
        "clientId": "c",
        "mutations": [],
        field: "c" * 101,
    }
    response = await client.post("/api/sync/push", json=envelope, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "too_long"


async def test_admin_and_login_lengths_are_checked_before_the_database(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    login = await client.post("/api/auth/login", json={"username": "u" * 196, "password": "x"})
    assert login.status_code == 400, login.text
    admin = {"Authorization": (await Devices(client).auth("admin"))["Authorization"]}
    me = (await client.get("/api/me", headers=await Devices(client).auth("clinic1"))).json()
    renamed = await client.patch(
        f"/api/admin/users/{me['id']}", headers=admin, json={"displayName": "名" * 101}
    )
    assert renamed.status_code == 400, renamed.text
    kept = await client.patch(f"/api/admin/users/{me['id']}", headers=admin, json={"displayName": "名" * 100})
    assert kept.status_code == 200, kept.text


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("path", "head"),
    [
        ("/api/sync/push", b'{"protocolVersion": 1, "clientGroupId": "g", "clientId": "c", "mutations": '),
        (
            "/api/sync/push",
            b'{"protocolVersion": 1, "clientGroupId": "g", "clientId": "c", "mutations": [{"id": 1, "name": "addNote", "args": ',
        ),
        ("/api/sync/pull", b'{"protocolVersion": 1, "clientGroupId": "g", "cookie": '),
        ("/api/auth/login", b'{"username": "a", "password": "b", "extra": '),
    ],
)
async def test_deeply_nested_json_is_400(
    client: httpx.AsyncClient, demo: dict[str, Any], path: str, head: bytes
) -> None:
    headers = await Devices(client).auth("inspector1") if path.startswith("/api/sync") else {}
    depth = 100_000
    closing = bytes(reversed([{91: 93, 123: 125}[c] for c in head if c in (91, 123)]))  # ] and }
    body = head + nested(depth) + closing
    response = await client.post(path, content=body, headers=headers | {"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
