"""Admin API for regions, facilities and the expert pool: create, read, update, deactivate; each change audited."""

from __future__ import annotations

from typing import Any

import httpx

from backend.audit.services import verify_chain
from backend.audit.tables import AuditLog
from backend.registry.tables import Facility
from tests.conftest import login


async def _last_audit() -> dict[str, Any]:
    row = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert row is not None
    return row


async def test_region_hierarchy(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    admin = await login(client, "admin")
    city = await client.post(
        "/api/admin/regions",
        headers=admin,
        json={"name": "丙市", "level": "city", "code": "440300", "parentId": str(demo["province"])},
    )
    assert city.status_code == 201, city.text
    assert city.json()["parentId"] == str(demo["province"])
    assert (await _last_audit())["action"] == "region.create"

    for body, code in [
        (
            {"name": "丁县", "level": "county", "code": "440399", "parentId": str(demo["province"])},
            "bad_parent",
        ),
        ({"name": "丁县", "level": "county", "code": "440399"}, "bad_parent"),
        (
            {"name": "戊省", "level": "province", "code": "450000", "parentId": str(demo["province"])},
            "bad_parent",
        ),
    ]:
        response = await client.post("/api/admin/regions", headers=admin, json=body)
        assert response.status_code == 422, body  # schema-valid, refused by a rule across fields
        assert response.json()["code"] == code

    duplicate = await client.post(
        "/api/admin/regions",
        headers=admin,
        json={"name": "重复", "level": "county", "code": "440101", "parentId": city.json()["id"]},
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate_code"

    renamed = await client.patch(
        f"/api/admin/regions/{city.json()['id']}", headers=admin, json={"name": "丙市新区"}
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "丙市新区"
    fetched = await client.get(f"/api/regions/{city.json()['id']}", headers=admin)
    assert fetched.json()["name"] == "丙市新区"


async def test_facility_create_update_deactivate(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    admin = await login(client, "admin")
    office = await login(client, "office")
    body = {
        "name": "新港镇卫生院",
        "kind": "township_centre",
        "licenceNumber": "PDY449999C",
        "licenceCategory": "C",
        "registeredFirstName": "新港镇卫生院",
        "regionId": str(demo["counties"][1]),
        "medicalStaffCount": 18,
        "servicePopulation": 30000,
    }
    created = await client.post("/api/admin/facilities", headers=admin, json=body)
    assert created.status_code == 201, created.text
    facility = created.json()
    assert facility["active"] is True
    assert facility["medicalStaffCount"] == 18
    audit = await _last_audit()
    assert (audit["action"], audit["entity"]) == ("facility.create", f"facility/{facility['id']}")

    duplicate = await client.post("/api/admin/facilities", headers=admin, json=body)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate_licence"
    in_city = await client.post(
        "/api/admin/facilities",
        headers=admin,
        json={**body, "licenceNumber": "X1", "regionId": str(demo["cities"][0])},
    )
    assert in_city.status_code == 422
    assert in_city.json()["code"] == "facility_region_level"
    bad_category = await client.post(
        "/api/admin/facilities", headers=admin, json={**body, "licenceCategory": "A"}
    )
    assert bad_category.status_code == 400

    # The new facility is in 甲市 (the office's city): the office sees it.
    seen = await client.get(f"/api/facilities/{facility['id']}", headers=office)
    assert seen.status_code == 200

    updated = await client.patch(
        f"/api/admin/facilities/{facility['id']}",
        headers=admin,
        json={"servicePopulation": 31000, "active": False},
    )
    assert updated.status_code == 200
    assert updated.json()["servicePopulation"] == 31000
    assert updated.json()["active"] is False
    # Deactivated, not deleted: the row stays; lists hide it unless asked.
    assert await Facility.exists().where(Facility.id == facility["id"])
    listed = await client.get("/api/facilities", headers=admin)
    assert facility["id"] not in {f["id"] for f in listed.json()}
    listed = await client.get("/api/facilities", headers=admin, params={"includeInactive": "true"})
    assert facility["id"] in {f["id"] for f in listed.json()}
    filtered = await client.get("/api/facilities", headers=admin, params={"regionId": str(demo["cities"][1])})
    assert {f["id"] for f in filtered.json()} == {str(f) for f in demo["facilities"][6:]}
    assert await verify_chain() == (True, None)


async def test_expert_pool(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    admin = await login(client, "admin")
    user = await client.post(
        "/api/admin/users",
        headers=admin,
        json={"username": "expert7", "password": "secret12", "role": "inspector"},
    )
    user_id = user.json()["id"]
    body = {
        "userId": user_id,
        "title": "主任护师",
        "specialties": ["护理", "医院感染管理"],
        "tiedFacilityIds": [str(demo["facilities"][3])],
    }
    created = await client.post("/api/admin/experts", headers=admin, json=body)
    assert created.status_code == 201, created.text
    expert = created.json()
    assert expert["username"] == "expert7"
    assert expert["tiedFacilityIds"] == [str(demo["facilities"][3])]
    again = await client.post("/api/admin/experts", headers=admin, json=body)
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_expert"

    not_inspector = await client.post(
        "/api/admin/experts", headers=admin, json={**body, "userId": str(demo["office"])}
    )
    assert not_inspector.status_code == 422
    assert not_inspector.json()["code"] == "not_an_inspector"
    unknown_specialty = await client.post(
        "/api/admin/experts", headers=admin, json={**body, "specialties": ["算命"]}
    )
    assert unknown_specialty.status_code == 400

    updated = await client.patch(
        f"/api/admin/experts/{expert['id']}",
        headers=admin,
        json={"tiedFacilityIds": [], "title": "副主任护师"},
    )
    assert updated.status_code == 200
    assert updated.json()["tiedFacilityIds"] == []
    assert updated.json()["title"] == "副主任护师"
    missing = await client.patch(
        f"/api/admin/experts/{expert['id']}",
        headers=admin,
        json={"tiedFacilityIds": ["00000000-0000-4000-8000-000000000000"]},
    )
    assert missing.status_code == 404

    office = await login(client, "office")
    pool = await client.get("/api/admin/experts", headers=office)
    assert pool.status_code == 200
    assert {e["username"] for e in pool.json()} == {f"inspector{n}" for n in range(1, 7)} | {"expert7"}
    tied = next(e for e in pool.json() if e["username"] == "inspector6")
    assert tied["tiedFacilityIds"] == [str(demo["facilities"][0])]
