"""Push over HTTP on both databases: idempotent replays, mutation gaps, limits, bad input, scope, photos,
notes, conflicts, submit and the audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from backend.audit.services import verify_chain
from backend.db import fetch
from sync.api import CallerSource
from tests.backend.sync_api.sync_support import (
    Devices,
    add_camera_photo,
    answer_everything,
    camera_photo,
    photo_minimums,
    push_body,
    set_answer,
    sha,
    upload_all,
)

pytestmark = pytest.mark.usefixtures("demo")

SYNC_TABLES = ["answer_register", "note_entry", "photo", "sync_conflict", "sync_client"]


async def snapshot() -> dict[str, Any]:
    """Every row of the sync tables, the inspection versions and the audit trail of sync."""
    state: dict[str, Any] = {}
    for table in SYNC_TABLES:
        rows = await fetch(f'SELECT * FROM "{table}"')  # noqa: S608 - fixed table names
        state[table] = sorted((sorted((k, str(v)) for k, v in r.items()) for r in rows), key=str)
    state["inspection"] = sorted(
        (str(r["id"]), r["version"], r["status"]) for r in await fetch('SELECT * FROM "inspection"')
    )
    audit = await fetch(
        "SELECT action, entity, client_id, mutation_id FROM audit_log WHERE action LIKE 'sync.%'"
    )
    state["audit"] = sorted(tuple(map(str, r.values())) for r in audit)
    return state


async def post(client: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> httpx.Response:
    return await client.post("/api/sync/push", content=body, headers=headers)


async def test_replaying_a_push_1_to_10_times_changes_nothing(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    h1, h2 = await devices.auth("inspector1"), await devices.auth("inspector2")
    inspection = demo["review_inspection"]
    # Another device writes first, so the push below meets a conflict too.
    assert (
        await post(client, h2, push_body("other", [set_answer(1, inspection, "1.2.1", "A")], "g2"))
    ).status_code == 200
    note = str(uuid.uuid4())
    photo = str(uuid.uuid4())
    mutations = [
        set_answer(1, inspection, "1.1.1", "B"),
        set_answer(2, inspection, "1.2.1", "C"),  # base 0, changed by "other": conflict
        {
            "id": 3,
            "name": "addNote",
            "hlc": "h3",
            "args": {"inspectionId": str(inspection), "itemCode": "1.1.1", "noteId": note, "text": "ok"},
        },
        {
            "id": 4,
            "name": "addPhoto",
            "hlc": "h4",
            "args": {
                "inspectionId": str(inspection),
                "itemCode": "1.2.1",
                "photoId": photo,
                "sha256": sha(1),
                "size": 10,
                "mime": "image/jpeg",
            },
        },
        set_answer(5, inspection, "1.1.1", "E"),  # not a grade: rejected
        {"id": 6, "name": "frobnicate", "args": {}},
    ]
    body = push_body("c1", mutations)
    first = await post(client, h1, body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["lastMutationId"] == 6
    assert [r["status"] for r in answer["results"]] == [
        "applied",
        "conflict",
        "applied",
        "applied",
        "rejected",
        "rejected",
    ]
    assert answer["results"][3]["uploadRequired"] is True
    state = await snapshot()
    for _ in range(10):
        again = await post(client, h1, body)
        assert again.status_code == 200
        assert again.json() == answer
        assert await snapshot() == state
    # A retry that carries the old batch and one new mutation: old answers repeated, the new one applied once.
    longer = push_body("c1", [*mutations, set_answer(7, inspection, "1.2.2", "A")])
    extended = (await post(client, h1, longer)).json()
    assert extended["results"][:6] == answer["results"]
    assert extended["results"][6]["status"] == "applied"
    state = await snapshot()
    for _ in range(3):
        assert (await post(client, h1, longer)).json() == extended
        assert await snapshot() == state


async def test_mutation_gap_is_409_with_the_expected_id(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await Devices(client).auth("inspector1")
    inspection = demo["review_inspection"]
    assert (
        await post(client, headers, push_body("c1", [set_answer(1, inspection, "1.1.1", "A")]))
    ).status_code == 200
    before = await snapshot()
    gap = await post(client, headers, push_body("c1", [set_answer(3, inspection, "1.1.1", "B")]))
    assert gap.status_code == 409
    problem = gap.json()
    assert (problem["code"], problem["expected"]) == ("mutation_gap", 2)
    assert gap.headers["content-type"].startswith("application/problem+json")
    assert await snapshot() == before


async def test_limits_are_413_naming_the_limit(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    headers = await Devices(client).auth("inspector1")
    inspection = demo["review_inspection"]
    too_many = push_body("c1", [set_answer(i, inspection, "1.1.1", "A") for i in range(1, 502)])
    response = await post(client, headers, too_many)
    assert response.status_code == 413
    assert (response.json()["limit"], response.json()["max"]) == ("maxMutations", 500)
    huge = push_body("c1", [{**set_answer(1, inspection, "1.1.1", "A"), "pad": "x" * (2 * 1024 * 1024)}])
    response = await post(client, headers, huge)
    assert response.status_code == 413
    assert response.json()["limit"] == "maxBodyBytes"
    assert "maxBodyBytes" in response.json()["detail"]
    assert (await snapshot())["sync_client"] == []
    # The limits are stated in the API: OpenAPI and every pull answer.
    schema = (await client.get("/schema/openapi.json")).json()
    assert "maxMutations" in schema["paths"]["/api/sync/push"]["post"]["description"]
    pulled = await client.post(
        "/api/sync/pull", json={"protocolVersion": 1, "clientGroupId": "g"}, headers=headers
    )
    assert pulled.json()["limits"] == {"maxMutations": 500, "maxBodyBytes": 2 * 1024 * 1024}


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"protocolVersion": 1}',
        b'{"protocolVersion": 1, "clientGroupId": "g", "clientId": "c", "mutations": [{"name": "setAnswer"}]}',
        b'{"protocolVersion": 1, "clientGroupId": "g", "clientId": "c", "mutations": {"id": 1}}',
        b'{"protocolVersion": 1, "clientGroupId": "g", "clientId": "c", "mutations": [{"id": 1}, {"id": 5}]}',
        b'{"protocolVersion": 7, "clientGroupId": "g", "clientId": "c", "mutations": []}',
    ],
)
async def test_malformed_envelopes_are_400_and_change_nothing(client: httpx.AsyncClient, body: bytes) -> None:
    headers = await Devices(client).auth("inspector1")
    before = await snapshot()
    response = await post(client, headers, body)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400
    assert await snapshot() == before
    pull = await client.post("/api/sync/pull", content=b'{"cookie": 3}', headers=headers)
    assert pull.status_code == 400


async def test_bad_values_are_rejected_with_a_reason_and_nothing_else_changes(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await Devices(client).auth("inspector1")
    inspection = demo["review_inspection"]
    bad = [
        set_answer(1, inspection, "1.1.1", "E"),  # not a grade of the standard
        set_answer(2, inspection, "1.1.1", 3),  # points on a graded standard
        set_answer(3, inspection, "9.9.9", "A"),  # no such article
        set_answer(4, inspection, "1.1.1", True, field="na"),  # N/A not allowed for this article
        {"id": 5, "name": "deleteEverything", "args": {"inspectionId": str(inspection)}},
        {"id": 6, "name": "setAnswer", "args": {"inspectionId": "not-a-uuid"}},
        {
            "id": 7,
            "name": "addPhoto",
            "args": {
                "inspectionId": str(inspection),
                "itemCode": "1.1.1",
                "photoId": str(uuid.uuid4()),
                "sha256": "abc",
                "size": 1,
                "mime": "image/jpeg",
            },
        },
        set_answer(8, uuid.uuid4(), "1.1.1", "A"),  # an inspection that does not exist
    ]
    before = await snapshot()
    response = await post(client, headers, push_body("c1", bad))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 8
    assert [r["reason"] for r in results] == [
        "invalid_value",
        "invalid_value",
        "unknown_item",
        "na_not_allowed",
        "unknown_mutation",
        "invalid_args",
        "invalid_args",
        "out_of_scope",
    ]
    assert all(r["detail"] for r in results)
    after = await snapshot()
    assert after["answer_register"] == before["answer_register"] == []
    assert after["inspection"] == before["inspection"]
    assert after["photo"] == after["note_entry"] == []
    # consumed: the queue moves on, and each rejection is in the audit trail
    assert response.json()["lastMutationId"] == 8
    assert sum(1 for a in after["audit"] if a[0] == "sync.rejected") == 8


async def _keys(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    pulled = await client.post(
        "/api/sync/pull", json={"protocolVersion": 1, "clientGroupId": str(uuid.uuid4())}, headers=headers
    )
    assert pulled.status_code == 200
    return {op["key"] for op in pulled.json()["patch"]}


def _inspections_in(keys: set[str]) -> set[str]:
    found = set()
    for key in keys:
        kind, _, rest = key.partition("/")
        if kind in ("inspection", "answer"):
            found.add(rest.split("/")[0])
    return found


async def test_scope_clinic_and_inspectors(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    devices = Devices(client)
    review = demo["review_inspection"]
    own_self = demo["self_inspections"][0]
    other_self = demo["self_inspections"][1]
    lead = await devices.auth("inspector1")
    assert (await post(client, lead, push_body("i1", [set_answer(1, review, "1.1.1", "A")]))).json()[
        "results"
    ][0]["status"] == "applied"

    clinic = await devices.auth("clinic1")
    answer = (
        await post(
            client,
            clinic,
            push_body(
                "k1",
                [
                    set_answer(1, review, "1.1.1", "D"),
                    set_answer(2, own_self, "1.1.1", "B"),
                    set_answer(3, other_self, "1.1.1", "B"),
                ],
            ),
        )
    ).json()
    assert [(r["status"], r.get("reason")) for r in answer["results"]] == [
        ("rejected", "out_of_scope"),
        ("applied", None),
        ("rejected", "out_of_scope"),
    ]
    clinic_keys = await _keys(client, clinic)
    assert _inspections_in(clinic_keys) == {str(own_self)}
    assert not any(str(review) in key for key in clinic_keys)

    outsider = await devices.auth("inspector6")  # not on the review team
    answer = (await post(client, outsider, push_body("i6", [set_answer(1, review, "1.1.1", "C")]))).json()
    assert answer["results"][0]["reason"] == "out_of_scope"
    assert await _keys(client, outsider) == set()

    member_keys = await _keys(client, lead)
    assert _inspections_in(member_keys) == {str(review)}
    assert f"answer/{review}/1.1.1/value" in member_keys

    office = await devices.auth("office")  # reads its region, grades nothing
    office_keys = await _keys(client, office)
    assert str(review) in _inspections_in(office_keys)
    answer = (await post(client, office, push_body("o1", [set_answer(1, review, "1.1.1", "D")]))).json()
    assert answer["results"][0]["reason"] == "out_of_scope"
    # the stored value is still the lead's
    rows = await fetch("SELECT value FROM answer_register WHERE key = {}", [f"{review}/1.1.1/value"])
    assert [dict(r) for r in rows] == [{"value": '"A"'}]


async def test_a_client_id_belongs_to_one_user(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    devices = Devices(client)
    review = demo["review_inspection"]
    first = await devices.auth("inspector1")
    second = await devices.auth("inspector2")
    assert (
        await post(client, first, push_body("shared", [set_answer(1, review, "1.1.1", "A")]))
    ).status_code == 200
    stolen = await post(client, second, push_body("shared", [set_answer(2, review, "1.1.1", "D")]))
    assert stolen.status_code == 403
    assert stolen.json()["code"] == "client_not_yours"


async def test_photos_add_wins_with_tombstones(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    devices = Devices(client)
    review = demo["review_inspection"]
    a = await devices.device("inspector1")
    b = await devices.device("inspector2")
    photo = a.add_photo(review, "1.2.1", sha(7), 1234)
    await a.sync()
    assert a.results[1].upload_required is True
    await b.pull()
    assert f"photo/{photo}" in b.store
    b.remove_photo(photo)
    await b.sync()
    pages = await a.pull()
    assert any(
        op.key == f"photo/{photo}" and type(op).__name__ == "DelOp" for page in pages for op in page.patch
    )
    assert f"photo/{photo}" not in a.store
    # a removal that did not see a later re-add loses to it (add-wins)
    a.add_photo(review, "1.2.1", sha(7), 1234, photo_id=photo)
    b.remove_photo(photo)  # b's base is the version it saw before the re-add
    b.pending[-1].args.base_version = 1  # type: ignore[union-attr]
    await a.sync()
    await b.sync()
    assert b.results[2].detail == "a later add of this photo wins"
    await a.pull()
    await b.pull()
    assert f"photo/{photo}" in a.store
    assert a.store == b.store
    # captions are registers
    a.set_photo_caption(photo, "front door")
    await a.sync()
    await b.pull()
    assert b.store[f"photo/{photo}"]["caption"] == "front door"


async def test_uploads_not_required_for_stored_blobs(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    from backend.sync_api import services

    await fetch(
        "INSERT INTO media_blob (sha256, size, mime, storage_key, state, created_at) VALUES ({}, 5, 'image/jpeg', 'k', 'stored', {})",
        [sha(9), datetime.now(UTC)],
    )
    assert await services.received_blobs({sha(9), sha(10)}) == {sha(9)}
    a = await Devices(client).device("inspector1")
    # inspector1 uploaded sha(9) once (a stored blob it never sent would need its bytes: issue 21)
    me = (await client.get("/api/me", headers=await Devices(client).auth("inspector1"))).json()
    await fetch(
        "INSERT INTO media_blob_holder (key, sha256, user_id, created_at) VALUES ({}, {}, {}, {})",
        [f"{sha(9)}:{me['id']}", sha(9), uuid.UUID(me["id"]), datetime.now(UTC)],
    )
    a.add_photo(demo["review_inspection"], "1.2.1", sha(9), 5)
    a.add_photo(demo["review_inspection"], "1.2.1", sha(10), 5)
    await a.push()
    assert (a.results[1].upload_required, a.results[2].upload_required) == (False, True)


async def test_notes_have_one_author(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    devices = Devices(client)
    review = demo["review_inspection"]
    a = await devices.device("inspector1")
    b = await devices.device("inspector2")
    note = a.add_note(review, "1.1.1", "stairs lack a handrail")
    await a.sync()
    await b.pull()
    b.edit_note(note, "no problem here")
    b.add_note(review, "1.1.1", "my own note")
    a.edit_note(note, "stairs lack a handrail (ward 2)")
    await b.sync()
    await a.sync()
    assert (b.results[1].status, b.results[1].reason) == ("rejected", "not_author")
    assert b.results[2].status == "applied"
    assert a.results[2].status == "applied"
    await b.pull()
    texts = sorted(v["text"] for k, v in b.store.items() if k.startswith("note/"))
    assert texts == ["my own note", "stairs lack a handrail (ward 2)"]


async def test_a_note_is_deleted_by_its_author_only_and_the_deletion_reaches_every_device(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    review = demo["review_inspection"]
    tablet = await devices.device("inspector1")
    phone = await devices.device("inspector1")  # the same author on a second device
    other = await devices.device("inspector2")
    note = tablet.add_note(review, "1.1.1", "wrong article")
    kept = tablet.add_note(review, "1.1.1", "stays")
    await tablet.sync()
    await phone.pull()
    await other.pull()
    assert f"note/{note}" in phone.store

    other.delete_note(note)
    await other.sync()
    assert (other.results[1].status, other.results[1].reason) == ("rejected", "not_author")

    tablet.delete_note(note)
    assert f"note/{note}" not in tablet.view()  # shown at once, before the server answers
    await tablet.sync()
    assert tablet.results[3].status == "applied"

    phone.edit_note(note, "edited after the deletion")  # from a device that had not pulled yet
    phone.delete_note(note)
    await phone.sync()
    assert (phone.results[1].status, phone.results[1].reason) == ("rejected", "unknown_note")
    assert phone.results[2].status == "applied"  # deleted already: nothing to do
    assert f"note/{note}" not in phone.store  # pull sent the deletion
    assert f"note/{kept}" in phone.store

    tablet.add_note(review, "1.1.1", "wrong article", note_id=note)  # a deleted id is not revived
    await tablet.sync()
    assert (tablet.results[4].status, tablet.results[4].reason) == ("rejected", "note_exists")

    fresh = await devices.device("inspector3")
    await fresh.pull()
    notes = [v["text"] for k, v in fresh.store.items() if k.startswith("note/")]
    assert notes == ["stays"]  # a full snapshot leaves the tombstone out
    rows = await fetch('SELECT "deleted" FROM "note_entry" WHERE "id" = {}', [note])
    assert [bool(r["deleted"]) for r in rows] == [True]


async def test_conflicts_keep_every_candidate_and_resolution(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    review = demo["review_inspection"]
    a, b, c = [await devices.device(f"inspector{n}") for n in (1, 2, 3)]
    for device, value in ((a, "A"), (b, "B"), (c, "C")):
        device.set_answer(review, "1.1.1", "value", value)
    await a.push()
    await b.push()
    await c.push()
    conflict_id = b.results[1].conflict_id
    assert conflict_id is not None
    assert c.results[1].conflict_id == conflict_id  # one conflict, three candidates
    await a.pull()
    record = a.store[f"conflict/{conflict_id}"]
    assert sorted(x["value"] for x in record["candidates"]) == ["A", "B", "C"]
    assert {x["clientId"] for x in record["candidates"]} == {a.client_id, b.client_id, c.client_id}
    assert all(x["hlc"] and x["mutationId"] == 1 and x["userId"] for x in record["candidates"])
    key = f"answer/{review}/1.1.1/value"
    assert a.store[key]["value"] == "A"  # provisional: the first committed value
    assert a.store[key]["conflictId"] == str(conflict_id)
    # b resolves with what it saw; c changes its candidate meanwhile, so b's resolution is stale
    await b.pull()
    c.set_answer(review, "1.1.1", "value", "D")
    await c.push()
    b.resolve_conflict(conflict_id, "B")
    await b.push()
    assert (b.results[2].status, b.results[2].conflict_id) == ("conflict", conflict_id)
    await a.pull()
    a.resolve_conflict(conflict_id, "C")
    await a.push()
    assert a.results[2].status == "applied"
    for device in (a, b, c):
        await device.pull()
    assert a.store == b.store == c.store
    assert a.store[key]["value"] == "C"
    assert a.store[key]["conflictId"] is None
    assert a.store[f"conflict/{conflict_id}"]["status"] == "resolved"
    assert a.store[f"conflict/{conflict_id}"]["resolution"] == "C"


async def test_a_device_that_pulled_an_open_conflict_joins_it_whatever_its_base(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    # Found by the property test: a third device pulls the open conflict, then writes a value other than the
    # provisional one with the register's current version as its base. Nobody changed the register after
    # that base, yet the write joins the conflict (docs/sync.md: while a register has an open conflict, each
    # different value joins it as a candidate); only resolveConflict settles it.
    devices = Devices(client)
    review = demo["review_inspection"]
    a, b, c = [await devices.device(f"inspector{n}") for n in (1, 2, 3)]
    key = f"answer/{review}/1.1.1/value"
    a.set_answer(review, "1.1.1", "value", "B")
    await a.push()
    assert (a.results[1].status, a.results[1].version) == ("applied", 1)
    b.set_answer(review, "1.1.1", "value", "A")  # base 0: concurrent with a
    await b.push()
    conflict_id = b.results[1].conflict_id
    assert (b.results[1].status, b.results[1].version) == ("conflict", 2)
    await c.pull()
    assert (c.store[key]["version"], c.store[key]["conflictId"]) == (2, str(conflict_id))
    c.set_answer(review, "1.1.1", "value", "A")  # base 2: the register as c saw it, conflict and all
    await c.push()
    assert (c.results[1].status, c.results[1].conflict_id) == ("conflict", conflict_id)
    for device in (a, b, c):
        await device.pull()
    assert a.store == b.store == c.store
    assert a.store[key]["value"] == "B"  # still a's provisional value, not overwritten
    record = a.store[f"conflict/{conflict_id}"]
    assert record["status"] == "open"
    assert sorted((x["clientId"], x["value"]) for x in record["candidates"]) == sorted(
        [(a.client_id, "B"), (b.client_id, "A"), (c.client_id, "A")]
    )
    rows = await fetch('SELECT "id" FROM "sync_conflict" WHERE "inspection_id" = {}', [review])
    assert [r["id"] for r in rows] == [conflict_id]  # one concurrent difference, one conflict


async def test_submit_refused_with_open_conflicts_or_missing_evidence(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    review = demo["review_inspection"]
    a = await devices.device("inspector1")
    b = await devices.device("inspector2")
    a.set_answer(review, "1.1.1", "value", "A")
    b.set_answer(review, "1.1.1", "value", "B")
    await a.push()
    await b.push()
    a.submit_inspection(review)
    await a.push()
    assert (a.results[2].status, a.results[2].reason) == ("rejected", "open_conflicts")
    await a.pull()
    a.resolve_conflict(b.results[1].conflict_id, "A")  # type: ignore[arg-type]
    # every prerequisite and article answered (submit refuses an incomplete inspection: test_submit_rules.py)
    answer_everything(a, review)
    a.submit_inspection(review)
    await a.push()
    submit_id = max(a.results)
    assert a.results[submit_id - 1].status == "applied"
    assert (a.results[submit_id].status, a.results[submit_id].reason) == ("rejected", "evidence_missing")
    # photos that count: their files carry a capture time and a GPS position (test_submit_rules.py)
    photos = []
    for item, count in (await photo_minimums()).items():
        for _ in range(count):
            photos.append(camera_photo())
            add_camera_photo(a, review, item, photos[-1])
    await a.push()
    await upload_all(client, await devices.auth("inspector1"), photos)
    a.submit_inspection(review)
    a.set_answer(review, "1.1.2", "value", "B")
    await a.push()
    submit_id = max(a.results) - 1
    assert a.results[submit_id].status == "applied", a.results[submit_id]
    assert (a.results[submit_id + 1].status, a.results[submit_id + 1].reason) == (
        "rejected",
        "inspection_locked",
    )
    await a.pull()
    assert a.store[f"inspection/{review}"]["status"] == "submitted"
    rows = await fetch("SELECT status, submitted_at FROM inspection WHERE id = {}", [review])
    assert rows[0]["status"] == "submitted"
    assert rows[0]["submitted_at"] is not None


async def test_audit_entry_per_mutation_with_user_client_hlc(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    a = await devices.device("inspector1")
    review = demo["review_inspection"]
    for n, item in enumerate(["1.1.1", "1.2.1", "1.2.2"]):
        a.set_answer(review, item, "value", "ABC"[n])
    a.add_note(review, "1.1.1", "x")
    a.set_answer(review, "nope", "value", "A")
    await a.push()
    rows = await fetch(
        "SELECT user_id, client_id, hlc, mutation_id, action FROM audit_log WHERE client_id = {} ORDER BY id",
        [a.client_id],
    )
    assert [int(r["mutation_id"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [r["action"] for r in rows] == ["sync.setAnswer"] * 3 + ["sync.addNote", "sync.rejected"]
    user_id = (await fetch("SELECT id FROM app_user WHERE username = 'inspector1'"))[0]["id"]
    assert {r["user_id"] for r in rows} == {str(user_id)}
    assert all(r["hlc"] for r in rows)
    assert await verify_chain() == (True, None)


async def test_pull_reset_on_unknown_cookie_and_incremental_pulls(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    headers = await devices.auth("inspector1")
    review = demo["review_inspection"]
    await post(client, headers, push_body("c1", [set_answer(1, review, "1.1.1", "A")]))

    async def pull(cookie: Any) -> dict[str, Any]:
        body = {"protocolVersion": 1, "clientGroupId": "g-1", "cookie": cookie}
        response = await client.post("/api/sync/pull", json=body, headers=headers)
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    full = await pull(None)
    assert full["reset"] is True
    assert full["lastMutationIds"] == {"c1": 1}
    for cookie in ("garbage", "eyJ2IjoyfQ", full["cookie"][:-3]):
        again = await pull(cookie)
        assert again["reset"] is True
        assert again["patch"] == full["patch"]
    assert (await pull(full["cookie"]))["patch"] == []
    await post(client, headers, push_body("c1", [set_answer(2, review, "1.2.1", "B")]))
    delta = await pull(full["cookie"])
    assert delta["reset"] is False
    assert [op["key"] for op in delta["patch"]] == [f"answer/{review}/1.2.1/value", f"inspection/{review}"]


# scoped: the inspector's scope as a statement (on PostgreSQL read with the pull's first statement, which also
# reads the answers of the first inspection that changed with the whole page as their budget)
@pytest.mark.parametrize("scoped", [False, True])
async def test_pull_pages_end_on_version_boundaries(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any], scoped: bool
) -> None:
    from backend.accounts.services import user_for_token
    from backend.inspections.scope import inspector_scope
    from backend.sync_api.services import caller_for, pull_context
    from sync.protocol import Limits, PullResponse
    from sync.pull import pull

    devices = Devices(client)
    a = await devices.device("inspector1")
    review = demo["review_inspection"]
    items = ["1.1.1", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "2.1.1"]
    for n in range(30):
        a.set_answer(review, items[n % len(items)], "value", "ABCD"[n % 4])
        if n % 5 == 0:
            a.add_note(review, items[n % len(items)], f"note {n}")
    await a.push()
    other = await devices.device("inspector2")
    other.set_answer(review, "1.1.1", "value", "D")  # a conflict row in the mix
    await other.push()
    user = await user_for_token(devices.headers["inspector1"]["Authorization"].split()[1])
    assert user is not None
    caller: CallerSource = await caller_for(user, with_readable=True, with_writable=False)
    if scoped:
        query = inspector_scope(user, readable=True, writable=False)
        assert query is not None
        caller = query
    hooks = app.state.hooks
    limits = Limits(max_mutations=1, max_body_bytes=1)
    ctx = pull_context(hooks=hooks, limits=limits, page_size=3)
    full = await pull(
        b'{"protocolVersion":1,"clientGroupId":"x"}',
        caller=caller,
        ctx=pull_context(hooks=hooks, limits=limits),
    )
    store: dict[str, Any] = {}
    cookie = None
    pages = 0
    while True:
        body = msgspec.json.encode({"protocolVersion": 1, "clientGroupId": "x", "cookie": cookie})
        page: PullResponse = await pull(body, caller=caller, ctx=ctx)
        pages += 1
        assert (
            len(
                [
                    op
                    for op in page.patch
                    if not op.key.startswith(("inspection/", "facility/", "standardRef/"))
                ]
            )
            <= 4
        )
        for op in page.patch:
            store[op.key] = getattr(op, "value", None)
        cookie = page.cookie
        if not page.has_more:
            break
    rows = [op for op in full.patch if not op.key.startswith(("inspection/", "facility/", "standardRef/"))]
    assert len(rows) == 6 + 6 + 1  # registers, notes, one conflict
    assert pages >= 4  # 13 rows, at most 3 per page plus the second row of a version
    assert store == {op.key: getattr(op, "value", None) for op in full.patch}


async def test_a_sha256_with_a_trailing_newline_is_rejected(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    # `re.match` with `$` accepted "<64 hex>\n"; the digest must be the 64 digits and nothing else.
    headers = await Devices(client).auth("inspector1")
    args = {
        "inspectionId": str(demo["review_inspection"]),
        "itemCode": "1.1.1",
        "photoId": str(uuid.uuid4()),
        "sha256": sha(1) + "\n",
        "size": 1,
        "mime": "image/jpeg",
    }
    response = await post(client, headers, push_body("c1", [{"id": 1, "name": "addPhoto", "args": args}]))
    assert response.status_code == 200
    assert [(r["status"], r["reason"]) for r in response.json()["results"]] == [("rejected", "invalid_args")]
    assert (await snapshot())["photo"] == []
