"""Every admin change is in the hash-chained audit log; the chain stays intact and shows tampering."""

from __future__ import annotations

from typing import Any

import httpx

from backend.audit.services import verify_chain
from backend.audit.tables import AuditLog
from backend.db import fetch
from tests.backend.programme.support import finish_self_assessment
from tests.conftest import login


async def _admin_changes(client: httpx.AsyncClient, demo: dict[str, Any]) -> list[tuple[str, str]]:
    """Make one change of each kind through the API; returns the (action, entity) each should have logged."""
    admin = await login(client, "admin")
    office = await login(client, "office")
    expected: list[tuple[str, str]] = []

    region = await client.post(
        "/api/admin/regions",
        headers=admin,
        json={"name": "东湖区", "level": "county", "code": "440103", "parentId": str(demo["cities"][0])},
    )
    assert region.status_code == 201, region.text
    expected.append(("region.create", f"region/{region.json()['id']}"))

    facility = demo["facilities"][1]
    changed = await client.patch(
        f"/api/admin/facilities/{facility}", headers=admin, json={"medicalStaffCount": 30}
    )
    assert changed.status_code == 200
    expected.append(("facility.update", f"facility/{facility}"))

    expert = (await client.get("/api/admin/experts", headers=admin)).json()[0]["id"]
    retitled = await client.patch(f"/api/admin/experts/{expert}", headers=admin, json={"title": "主任医师"})
    assert retitled.status_code == 200
    expected.append(("expert.update", f"expert/{expert}"))

    round_made = await client.post(
        "/api/admin/rounds", headers=admin, json={"name": "2027年度", "year": 2027}
    )
    expected.append(("round.create", f"round/{round_made.json()['id']}"))

    await finish_self_assessment(facility, demo["round"])
    applied = await client.post(
        "/api/applications",
        headers=office,
        json={"facilityId": str(facility), "roundId": str(demo["round"]), "tier": "basic"},
    )
    assert applied.status_code == 201
    expected.append(("application.create", f"application/{applied.json()['id']}"))

    inspection = await client.post(
        "/api/admin/inspections",
        headers=office,
        json={
            "facilityId": str(facility),
            "roundId": str(demo["round"]),
            "stage": "county",
            "standardVersionId": "cn-thc-capacity-2018",
        },
    )
    assert inspection.status_code == 201
    inspection_id = inspection.json()["id"]
    expected.append(("inspection.create", f"inspection/{inspection_id}"))

    members = [str(i) for i in demo["inspectors"][1:6]]
    team = await client.put(
        f"/api/admin/inspections/{inspection_id}/team",
        headers=office,
        json={"members": members, "leadId": members[0]},
    )
    assert team.status_code == 200, team.text
    expected.append(("inspection.team", f"inspection/{inspection_id}"))
    return expected


async def test_admin_changes_are_audited_and_the_chain_is_intact(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    last = await AuditLog.select(AuditLog.id).order_by(AuditLog.id, ascending=False).first()
    assert last is not None
    expected = await _admin_changes(client, demo)
    rows = (
        await AuditLog.select()
        .where((AuditLog.action != "login") & (AuditLog.id > last["id"]))
        .order_by(AuditLog.id)
    )
    assert [(r["action"], r["entity"]) for r in rows] == expected
    assert all(r["user_id"] in {str(demo["admin"]), str(demo["office"])} for r in rows)
    assert await verify_chain() == (True, None)


async def test_tampered_rows_are_detected(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    await _admin_changes(client, demo)
    assert await verify_chain() == (True, None)
    rows = await AuditLog.select(AuditLog.id, AuditLog.action, AuditLog.entity).order_by(AuditLog.id)
    target, entity = next((r["id"], r["entity"]) for r in rows if r["action"] == "inspection.team")

    # Someone makes the team assignment point at another inspection, then someone else claims a change.
    await fetch(
        "UPDATE audit_log SET entity = {} WHERE id = {}", (f"inspection/{demo['review_inspection']}", target)
    )
    assert await verify_chain() == (False, target)
    await fetch("UPDATE audit_log SET entity = {} WHERE id = {}", (entity, target))
    assert await verify_chain() == (True, None)
    first_change = next(r["id"] for r in rows if r["action"] == "region.create")
    await fetch("UPDATE audit_log SET user_id = {} WHERE id = {}", (str(demo["inspectors"][5]), first_change))
    assert await verify_chain() == (False, first_change)


async def test_a_deleted_row_breaks_the_chain(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    await _admin_changes(client, demo)
    ids = [r["id"] for r in await AuditLog.select(AuditLog.id).order_by(AuditLog.id)]
    victim = ids[len(ids) // 2]
    await fetch("DELETE FROM audit_log WHERE id = {}", (victim,))
    # The row after the gap no longer chains onto its predecessor.
    assert await verify_chain() == (False, ids[ids.index(victim) + 1])
