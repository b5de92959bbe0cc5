"""A facility's designated staff member resolves its conflicts: the office designates one of the facility's
clinic accounts; then only that account (and the office, from its queue) decides; with none designated any
of the facility's clinic accounts may."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from backend.audit.tables import AuditLog
from sync.client import SyncClient
from tests.backend.sync_api.sync_support import Devices
from tests.conftest import login


async def _second_clinic_account(client: httpx.AsyncClient, facility_id: UUID) -> UUID:
    admin = await login(client, "admin")
    response = await client.post(
        "/api/admin/users",
        json={
            "username": "clinic1b",
            "password": "demo-demo",
            "role": "clinic",
            "displayName": "城关镇卫生院 质控科",
            "facilityId": str(facility_id),
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


async def _conflict(one: SyncClient, other: SyncClient, inspection: UUID, item: str) -> UUID:
    one.set_answer(inspection, item, "value", "A")
    other.set_answer(inspection, item, "value", "C")
    await one.push()
    await other.push()
    conflict_id = other.results[max(other.results)].conflict_id
    assert conflict_id is not None
    await one.pull()
    await other.pull()
    return conflict_id


async def test_only_the_designated_staff_member_resolves_the_clinics_conflicts(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    facility = demo["facilities"][0]
    inspection = demo["self_inspections"][0]
    second = await _second_clinic_account(client, facility)
    devices = Devices(client)
    devices.headers["clinic1b"] = await login(client, "clinic1b", "demo-demo")
    first_device = await devices.device("clinic1")
    second_device = await devices.device("clinic1b")

    # none designated: any of the facility's clinic accounts decides
    early = await _conflict(first_device, second_device, inspection, "1.1.1")
    first_device.resolve_conflict(early, "A")
    await first_device.push()
    assert first_device.results[max(first_device.results)].status == "applied"

    office = await login(client, "office")
    listed = await client.get("/api/conflict-resolvers", headers=office)
    assert listed.status_code == 200
    row = next(r for r in listed.json() if r["facilityId"] == str(facility))
    assert row["resolver"] is None
    assert {s["username"] for s in row["staff"]} == {"clinic1", "clinic1b"}

    # the office designates the second account
    response = await client.put(
        f"/api/conflict-resolvers/{facility}", json={"userId": str(second)}, headers=office
    )
    assert response.status_code == 200, response.text
    assert response.json()["resolver"]["username"] == "clinic1b"
    assert response.json()["designatedAt"]

    later = await _conflict(first_device, second_device, inspection, "1.2.1")
    first_device.resolve_conflict(later, "A")
    await first_device.push()
    refused = first_device.results[max(first_device.results)]
    assert (refused.status, refused.reason) == ("rejected", "not_designated_resolver")
    await first_device.pull()
    assert first_device.store[f"conflict/{later}"]["status"] == "open"
    second_device.resolve_conflict(later, "C")
    await second_device.push()
    assert second_device.results[max(second_device.results)].status == "applied"

    # the clinic's app learns who decides from its assignments (kept offline)
    for username in ("clinic1", "clinic1b"):
        rows = (await client.get("/api/assignments", headers=devices.headers[username])).json()
        own = next(r for r in rows if r["inspectionId"] == str(inspection))
        assert own["resolver"]["userId"] == str(second)
    # a clinic reads its own facility's record only
    mine = (await client.get("/api/conflict-resolvers", headers=devices.headers["clinic1"])).json()
    assert [r["facilityId"] for r in mine] == [str(facility)]

    # designating nobody gives the decision back to every clinic account
    response = await client.put(f"/api/conflict-resolvers/{facility}", json={"userId": None}, headers=office)
    assert response.json()["resolver"] is None
    last = await _conflict(first_device, second_device, inspection, "1.2.2")
    first_device.resolve_conflict(last, "A")
    await first_device.push()
    assert first_device.results[max(first_device.results)].status == "applied"


async def test_designating_is_the_offices_within_its_region_and_names_the_facilitys_own_staff(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    facility = demo["facilities"][0]
    office = await login(client, "office")
    clinic = await login(client, "clinic1")
    inspector = demo["inspectors"][0]
    # an inspector is no clinic account of the facility
    response = await client.put(
        f"/api/conflict-resolvers/{facility}", json={"userId": str(inspector)}, headers=office
    )
    assert response.status_code == 422
    assert response.json()["code"] == "resolver_not_staff"
    # a clinic account of another facility neither
    other = demo["facilities"][1]
    admin = await login(client, "admin")
    created = await client.post(
        "/api/admin/users",
        json={"username": "clinic2", "password": "demo-demo", "role": "clinic", "facilityId": str(other)},
        headers=admin,
    )
    response = await client.put(
        f"/api/conflict-resolvers/{facility}", json={"userId": created.json()["id"]}, headers=office
    )
    assert response.status_code == 422
    # a clinic may not designate, not even its own staff
    response = await client.put(
        f"/api/conflict-resolvers/{facility}", json={"userId": str(demo["clinic"])}, headers=clinic
    )
    assert response.status_code == 403
    # outside the office's region: as if it did not exist
    everywhere = {
        r["facilityId"] for r in (await client.get("/api/conflict-resolvers", headers=admin)).json()
    }
    mine = {r["facilityId"] for r in (await client.get("/api/conflict-resolvers", headers=office)).json()}
    outside = sorted(everywhere - mine)
    assert outside, "the demo has facilities outside the office's city"
    response = await client.put(
        f"/api/conflict-resolvers/{outside[0]}", json={"userId": None}, headers=office
    )
    assert response.status_code == 404
    # the designation is in the audit log
    response = await client.put(
        f"/api/conflict-resolvers/{facility}", json={"userId": str(demo["clinic"])}, headers=office
    )
    assert response.status_code == 200
    assert response.json()["resolver"]["userId"] == str(demo["clinic"])
    rows = await AuditLog.select(AuditLog.action, AuditLog.entity).where(
        AuditLog.action == "designate_resolver"
    )
    assert [r["entity"] for r in rows] == [f"facility/{facility}"]
