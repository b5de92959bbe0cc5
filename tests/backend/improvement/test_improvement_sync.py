"""The improvement plan's mutations over HTTP on both databases: create, edit (registers, conflicts between
two devices of one clinic), status transitions (audited, refused ones), evidence photos, retries, scope."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import create_user
from backend.db import fetch, write_tx
from backend.inspections.tables import Inspection
from backend.standards import parse_standard, shipped_bytes
from backend.standards.services import save_standard
from sync.client import SyncClient
from tests.backend.sync_api.sync_support import Devices, push_body, sha

pytestmark = pytest.mark.usefixtures("demo")


def improvements(client: SyncClient) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in client.store.items() if k.startswith("improvement/")}


def status_of(client: SyncClient, mid: int) -> tuple[str, str | None]:
    result = client.results[mid]
    return result.status, result.reason


def queued(client: SyncClient, edit: Callable[[], object]) -> int:
    """The mutation id of an edit whose method answers with something else (a new item's id)."""
    mid = client.next_id
    edit()
    return mid


async def second_clinic(demo: dict[str, Any]) -> None:
    await create_user(
        data=CreateUserRequest(
            username="clinic2", password="demo", role="clinic", facility_id=demo["facilities"][1]
        ),
        actor_id=None,
        is_demo=True,
    )


async def test_create_edit_status_photo_and_pull(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    devices = Devices(client)
    phone = await devices.device("clinic1")
    plan = demo["self_inspections"][0]
    phone.set_answer(plan, "1.1.1", "value", "C")
    item = phone.create_improvement(
        plan, "1.1.1", "年度计划未分解到科室", "soon", owner="院办", due_date="2026-03-31"
    )
    await phone.sync()
    stored = phone.store[f"improvement/{item}"]
    assert stored["gap"] == "年度计划未分解到科室"
    assert stored["kind"] == "soon"
    assert stored["status"] == "open"
    assert stored["owner"] == "院办"
    assert stored["dueDate"] == "2026-03-31"
    assert stored["gradeBefore"] == "C"
    assert stored["facilityId"] == str(demo["facilities"][0])
    assert stored["roundId"] == str(demo["round"])

    edit = phone.set_improvement_field(item, "owner", "张医生")
    start = phone.set_improvement_status(item, "in_progress")
    photo = phone.add_photo(plan, "1.1.1", sha(7), 1234)
    attach = phone.attach_improvement_photo(item, photo)
    done = phone.set_improvement_status(item, "done")
    # the view replays the queue before the server answers
    assert phone.view()[f"improvement/{item}"]["status"] == "done"
    await phone.sync()
    for mid in (edit, start, attach, done):
        assert status_of(phone, mid) == ("applied", None)
    stored = phone.store[f"improvement/{item}"]
    assert stored["owner"] == "张医生"
    assert stored["status"] == "done"
    assert stored["photoIds"] == [str(photo)]
    assert stored["doneVersion"] == stored["version"]
    assert stored["fieldVersions"]["owner"] > 0
    # improvement registers are not answers: pull sends no answer/… key for them
    assert not [k for k in phone.store if k.startswith("answer/") and k.endswith("/owner")]

    # every status change is in the audit log, with its from and to
    audit = await fetch(
        "SELECT action, entity, details FROM audit_log WHERE action = 'sync.setImprovementStatus' ORDER BY id"
    )
    assert [a["entity"] for a in audit] == [f"improvement/{item}"] * 2
    details = [a["details"] if isinstance(a["details"], dict) else json.loads(a["details"]) for a in audit]
    assert [(d["from"], d["to"]) for d in details] == [("open", "in_progress"), ("in_progress", "done")]


async def test_refused_mutations(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    devices = Devices(client)
    phone = await devices.device("clinic1")
    plan = demo["self_inspections"][0]
    soon = phone.create_improvement(plan, "1.1.1", "缺少制度", "soon")
    support = phone.create_improvement(plan, "1.2.1", "缺少救护车", "needs_support")
    await phone.sync()
    assert phone.store[f"improvement/{support}"]["status"] == "needs_support"
    cases = [
        (phone.set_improvement_status(soon, "needs_support"), "invalid_transition"),
        (queued(phone, lambda: phone.create_improvement(plan, "9.9.9", "x", "soon")), "unknown_item"),
        (
            queued(phone, lambda: phone.create_improvement(demo["review_inspection"], "1.1.1", "x", "soon")),
            "out_of_scope",
        ),
        (queued(phone, lambda: phone.create_improvement(plan, "1.1.1", "   ", "soon")), "invalid_value"),
        (
            queued(
                phone, lambda: phone.create_improvement(plan, "1.1.1", "x", "soon", due_date="2026-02-30")
            ),
            "invalid_value",
        ),
        (phone.set_improvement_field(soon, "kind", "someday"), "unknown_improvement_kind"),
        (phone.set_improvement_field(uuid.uuid4(), "gap", "x"), "unknown_target"),
        (phone.attach_improvement_photo(soon, uuid.uuid4()), "unknown_photo"),
        (phone.set_improvement_status(soon, "done"), None),
        (phone.set_improvement_status(soon, "open"), "invalid_transition"),  # a reopen goes to in_progress
    ]
    await phone.sync()
    for mid, reason in cases:
        assert status_of(phone, mid) == ("rejected" if reason else "applied", reason), mid
    # changing the kind away from needs_support ends the wait for support
    phone.set_improvement_field(support, "kind", "continuous")
    await phone.sync()
    assert phone.store[f"improvement/{support}"]["status"] == "open"
    rejected = await fetch("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'sync.rejected'")
    assert rejected[0]["n"] == 9
    # a kind is a short text, or refused while decoding; one neither the protocol nor the settings name is
    # refused by the push (unknown_improvement_kind)
    raw = {
        "id": 1,
        "name": "createImprovement",
        "args": {
            "inspectionId": str(plan),
            "improvementId": str(uuid.uuid4()),
            "itemCode": "1.1.1",
            "gap": "x",
            "kind": "x" * 61,
        },
    }
    headers = await devices.auth("clinic1")
    response = await client.post("/api/sync/push", content=push_body("raw", [raw]), headers=headers)
    assert response.json()["results"][0]["reason"] == "invalid_args"
    raw["args"]["kind"] = "later"  # type: ignore[index]
    response = await client.post("/api/sync/push", content=push_body("raw-2", [raw]), headers=headers)
    assert response.json()["results"][0]["reason"] == "unknown_improvement_kind"


async def test_the_programme_s_improvement_kinds_are_accepted(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    """Kinds from the programme's settings (improvementListKinds, offered on the result page) are accepted
    beside the protocol's codes; the settings' words for the codes are stored as the codes; others refused."""
    raw = json.loads(shipped_bytes("township-2018"))
    raw["id"] = "test-township-plan-kinds"
    raw["programmeSettings"]["improvementListKinds"] = ["近期能够实现", "需要政府或部门支持", "专项督办"]
    await save_standard(standard=parse_standard(json.dumps(raw)), actor_id=None, publish=True)
    plan = demo["self_inspections"][0]
    async with write_tx():
        await Inspection.update({Inspection.standard_version_id: raw["id"]}).where(Inspection.id == plan)
    phone = await Devices(client).device("clinic1")
    own = phone.create_improvement(plan, "1.1.1", "缺少制度", "专项督办")
    support = phone.create_improvement(plan, "1.2.1", "缺少救护车", "需要政府或部门支持")
    code = phone.create_improvement(plan, "1.2.2", "缺少培训", "continuous")
    refused = queued(phone, lambda: phone.create_improvement(plan, "1.2.3", "x", "长期"))
    await phone.sync()
    assert status_of(phone, refused) == ("rejected", "unknown_improvement_kind")
    items = improvements(phone)
    assert (items[f"improvement/{own}"]["kind"], items[f"improvement/{own}"]["status"]) == (
        "专项督办",
        "open",
    )
    assert (items[f"improvement/{support}"]["kind"], items[f"improvement/{support}"]["status"]) == (
        "needs_support",
        "needs_support",
    )
    assert items[f"improvement/{code}"]["kind"] == "continuous"
    changed = phone.set_improvement_field(code, "kind", "专项督办")
    wrong = phone.set_improvement_field(code, "kind", "长期")
    await phone.sync()
    assert status_of(phone, changed) == ("applied", None)
    assert status_of(phone, wrong) == ("rejected", "unknown_improvement_kind")
    assert improvements(phone)[f"improvement/{code}"]["kind"] == "专项督办"


async def test_retries_never_duplicate(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    devices = Devices(client)
    headers = await devices.auth("clinic1")
    plan = demo["self_inspections"][0]
    create = {
        "inspectionId": str(plan),
        "improvementId": str(uuid.uuid4()),
        "itemCode": "1.2.2",
        "gap": "x",
        "kind": "continuous",
    }
    body = push_body("c1", [{"id": 1, "name": "createImprovement", "args": create}])
    first = await client.post("/api/sync/push", content=body, headers=headers)
    again = await client.post("/api/sync/push", content=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    # the same item queued again under a new mutation id (a device that lost its acknowledgement)
    requeued = push_body("c1", [{"id": 2, "name": "createImprovement", "args": create | {"gap": "y"}}])
    answer = (await client.post("/api/sync/push", content=requeued, headers=headers)).json()
    assert answer["results"][0]["status"] == "applied"
    rows = await fetch('SELECT "gap" FROM "improvement_item"')
    assert [r["gap"] for r in rows] == ["x"]


async def test_two_devices_of_one_clinic_meet_a_conflict(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    desk = await devices.device("clinic1")
    tablet = await devices.device("clinic1")
    plan = demo["self_inspections"][0]
    item = desk.create_improvement(plan, "2.1.1", "院感培训不足", "soon")
    await desk.sync()
    await tablet.sync()
    assert desk.results[1].status == "applied", desk.results
    assert f"improvement/{item}" in tablet.store
    # both offline, both edit the gap from the same base
    desk.set_improvement_field(item, "gap", "院感培训每季度一次")
    desk.set_improvement_field(item, "gap", "院感培训每月一次")  # the same device's second edit merges
    tablet_edit = tablet.set_improvement_field(item, "gap", "院感培训纳入考核")
    await desk.sync()
    await tablet.sync()
    result = tablet.results[tablet_edit]
    assert result.status == "conflict", result
    assert result.conflict_id is not None
    conflict = tablet.store[f"conflict/{result.conflict_id}"]
    assert conflict["registerKey"] == f"improvement/{item}/gap"
    assert conflict["status"] == "open"
    assert sorted(c["value"] for c in conflict["candidates"]) == sorted(
        ["院感培训每月一次", "院感培训纳入考核"]
    )
    # the provisional value stays until a person picks one
    assert tablet.store[f"improvement/{item}"]["gap"] == "院感培训每月一次"
    await desk.sync()
    pick = desk.resolve_conflict(result.conflict_id, "院感培训纳入考核")
    await desk.sync()
    assert desk.results[pick].status == "applied"
    assert desk.store[f"improvement/{item}"]["gap"] == "院感培训纳入考核"
    assert desk.store[f"conflict/{result.conflict_id}"]["status"] == "resolved"


async def test_plan_stays_editable_after_the_self_assessment_is_submitted(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    phone = await devices.device("clinic1")
    plan = demo["self_inspections"][0]
    item = phone.create_improvement(plan, "1.1.1", "x", "soon")
    await phone.sync()
    async with write_tx():
        await fetch('UPDATE "inspection" SET "status" = {} WHERE "id" = {}', ["submitted", plan])
    edit = phone.set_improvement_status(item, "in_progress")
    answer = phone.set_answer(plan, "1.1.1", "value", "B")
    await phone.sync()
    assert status_of(phone, edit) == ("applied", None)
    assert status_of(phone, answer) == ("rejected", "inspection_locked")


async def test_scope_a_clinic_sees_only_its_plan_and_the_office_its_region(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    await second_clinic(demo)
    devices = Devices(client)
    mine = await devices.device("clinic1")
    item = mine.create_improvement(demo["self_inspections"][0], "1.1.1", "x", "needs_support")
    await mine.sync()
    other = await devices.device("clinic2")
    theirs = other.create_improvement(demo["self_inspections"][1], "1.1.1", "y", "soon")
    meddle = other.set_improvement_status(item, "done")
    await other.sync()
    assert status_of(other, meddle) == ("rejected", "out_of_scope")
    assert set(improvements(other)) == {f"improvement/{theirs}"}
    await mine.sync()
    assert set(improvements(mine)) == {f"improvement/{item}"}
    office = await devices.device("office")
    await office.sync()
    assert {f"improvement/{item}", f"improvement/{theirs}"} <= set(improvements(office))
    # the office reads; it does not write a clinic's plan
    write = office.set_improvement_status(item, "done")
    await office.sync()
    assert status_of(office, write) == ("rejected", "out_of_scope")
    inspector = await devices.device("inspector1")
    await inspector.sync()
    assert improvements(inspector) == {}
