"""Admin API for rounds, applications, inspections and teams: programme rules (group size, lead, recusal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.accounts.tables import User
from backend.audit.tables import AuditLog
from backend.inspections.tables import Application, Inspection, InspectionMember
from tests.backend.programme.support import finish_self_assessment, second_township_standard, sign_off
from tests.conftest import login


def _ids(values: list[Any]) -> list[str]:
    return [str(v) for v in values]


async def _members(inspection_id: Any) -> dict[str, bool]:
    rows = await InspectionMember.select(InspectionMember.user, InspectionMember.is_lead).where(
        InspectionMember.inspection == inspection_id
    )
    return {str(r["user"]): r["is_lead"] for r in rows}


async def _put_team(
    client: httpx.AsyncClient, headers: dict[str, str], inspection: Any, members: list[str], lead: str | None
) -> httpx.Response:
    return await client.put(
        f"/api/admin/inspections/{inspection}/team",
        headers=headers,
        json={"members": members, "leadId": lead},
    )


async def test_team_rules(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    admin = await login(client, "admin")
    review = demo["review_inspection"]
    inspectors = _ids(demo["inspectors"])
    before = await _members(review)
    audit_before = await AuditLog.count()

    cases: list[tuple[list[str], str | None, int, str]] = [
        (inspectors[:3], inspectors[0], 422, "team_size"),  # fewer than 5
        (inspectors[:4], inspectors[0], 422, "team_size"),  # even
        ([*inspectors[:4], inspectors[0]], inspectors[0], 422, "duplicate_member"),
        (inspectors[:5], None, 422, "lead_required"),
        (inspectors[:5], inspectors[5], 422, "lead_not_member"),
        ([*inspectors[:4], str(demo["admin"])], inspectors[0], 422, "not_an_expert"),
        ([*inspectors[:4], "00000000-0000-4000-8000-000000000000"], inspectors[0], 404, "user_not_found"),
        # inspector6 is tied to facility 0 (回避制度)
        (inspectors[1:6], inspectors[1], 409, "recusal"),
    ]
    for members, lead, status, code in cases:
        response = await _put_team(client, admin, review, members, lead)
        assert response.status_code == status, (members, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
    recusal = await _put_team(client, admin, review, inspectors[1:6], inspectors[1])
    assert "inspector6" in recusal.json()["detail"]
    assert recusal.json()["expertIds"] == [inspectors[5]]
    # Nothing changed by the refused assignments.
    assert await _members(review) == before
    assert await AuditLog.count() == audit_before

    ok = await _put_team(client, admin, review, [*inspectors[1:5], inspectors[0]], inspectors[2])
    assert ok.status_code == 200, ok.text
    team = ok.json()["team"]
    assert team[0] == {
        "userId": inspectors[2],
        "username": "inspector3",
        "displayName": "评审专家3",
        "isLead": True,
    }
    assert await _members(review) == {i: i == inspectors[2] for i in inspectors[:5]}
    entry = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert entry is not None
    assert entry["action"] == "inspection.team"
    assert entry["user_id"] == str(demo["admin"])


async def test_an_expert_without_a_profile_or_inactive_cannot_join(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    inspectors = _ids(demo["inspectors"])
    created = await client.post(
        "/api/admin/users",
        headers=admin,
        json={"username": "newbie", "password": "secret12", "role": "inspector"},
    )
    assert created.status_code == 201, created.text
    newbie = created.json()["id"]
    response = await _put_team(
        client, admin, demo["review_inspection"], [*inspectors[:4], newbie], inspectors[0]
    )
    assert response.status_code == 422
    assert response.json()["code"] == "not_an_expert"
    assert "newbie" in response.json()["detail"]

    await User.update({User.active: False}).where(User.id == demo["inspectors"][4])
    response = await _put_team(client, admin, demo["review_inspection"], inspectors[:5], inspectors[0])
    assert response.status_code == 422
    assert response.json()["code"] == "inactive_member"


async def test_self_assessment_has_no_team_and_locked_inspections_keep_theirs(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    inspectors = _ids(demo["inspectors"])
    response = await _put_team(client, admin, demo["self_inspections"][0], inspectors[:5], inspectors[0])
    assert response.status_code == 409
    assert response.json()["code"] == "self_assessment_has_no_team"
    assert await _members(demo["self_inspections"][0]) == {}

    await Inspection.update({Inspection.status: "submitted"}).where(
        Inspection.id == demo["review_inspection"]
    )
    response = await _put_team(client, admin, demo["review_inspection"], inspectors[:5], inspectors[1])
    assert response.status_code == 409
    assert response.json()["code"] == "inspection_locked"


async def test_office_assigns_a_team_in_its_region(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    office = await login(client, "office")
    inspectors = _ids(demo["inspectors"])
    response = await _put_team(client, office, demo["review_inspection"], inspectors[:5], inspectors[4])
    assert response.status_code == 200, response.text
    assert [m["username"] for m in response.json()["team"] if m["isLead"]] == ["inspector5"]
    # The new team is what inspector5 now sees.
    inspector5 = await login(client, "inspector5")
    listed = await client.get("/api/inspections", headers=inspector5)
    assert [i["id"] for i in listed.json()] == [str(demo["review_inspection"])]


async def test_application_then_review_inspection(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    office = await login(client, "office")
    clinic = await login(client, "clinic1")
    facility = str(demo["facilities"][0])
    round_id = str(demo["round"])
    body = {
        "facilityId": facility,
        "roundId": round_id,
        "stage": "city",
        "standardVersionId": "cn-thc-capacity-2018",
    }

    # No application yet: a review inspection cannot be created.
    refused = await client.post("/api/admin/inspections", headers=office, json=body)
    assert refused.status_code == 409
    assert refused.json()["code"] == "no_application"

    await finish_self_assessment(facility, round_id)
    applied = await client.post(
        "/api/applications",
        headers=clinic,
        json={"facilityId": facility, "roundId": round_id, "tier": "recommended"},
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "applied"
    again = await client.post(
        "/api/applications",
        headers=clinic,
        json={"facilityId": facility, "roundId": round_id, "tier": "basic"},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_application"

    # The city review opens once the county review has concluded.
    early = await client.post("/api/admin/inspections", headers=office, json=body)
    assert early.status_code == 409
    assert early.json()["code"] == "stage_order"
    await sign_off(demo["facilities"][0], demo["round"], "county", demo["office"])

    created = await client.post("/api/admin/inspections", headers=office, json=body)
    assert created.status_code == 201, created.text
    inspection = created.json()
    assert inspection["status"] == "draft"
    assert inspection["stage"] == "city"
    assert inspection["team"] == []
    assert inspection["facilityName"] == "城关镇卫生院"
    duplicate = await client.post("/api/admin/inspections", headers=office, json=body)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate_inspection"

    # A draft may still change its standard (to a published one that fits); a started inspection may not.
    unknown = await client.patch(
        f"/api/admin/inspections/{inspection['id']}", headers=office, json={"standardVersionId": "other-2026"}
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_standard"
    other = await second_township_standard()
    changed = await client.patch(
        f"/api/admin/inspections/{inspection['id']}", headers=office, json={"standardVersionId": other}
    )
    assert changed.status_code == 200
    assert changed.json()["standardVersionId"] == other
    fixed = await client.patch(
        f"/api/admin/inspections/{demo['review_inspection']}",
        headers=office,
        json={"standardVersionId": "other"},
    )
    assert fixed.status_code == 409
    assert fixed.json()["code"] == "standard_fixed"

    # The clinic cannot accept its own application; the office can, once.
    application = applied.json()["id"]
    denied = await client.patch(
        f"/api/applications/{application}", headers=clinic, json={"status": "accepted"}
    )
    assert denied.status_code == 403
    accepted = await client.patch(
        f"/api/applications/{application}", headers=office, json={"status": "accepted"}
    )
    assert accepted.status_code == 200
    assert accepted.json()["decidedAt"] is not None
    twice = await client.patch(
        f"/api/applications/{application}", headers=office, json={"status": "accepted"}
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "application_decided"
    # An accepted application may still be returned after a review, with a written opinion.
    bare = await client.patch(f"/api/applications/{application}", headers=office, json={"status": "returned"})
    assert bare.status_code == 422
    assert bare.json()["code"] == "opinion_required"
    returned = await client.patch(
        f"/api/applications/{application}", headers=office, json={"status": "returned", "opinion": "台账不全"}
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"


async def test_returned_facility_reapplies_no_sooner_than_six_months(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    facility = demo["facilities"][1]
    round_id = demo["round"]
    body = {"facilityId": str(facility), "roundId": str(round_id), "tier": "basic"}
    await finish_self_assessment(facility, round_id)
    applied = await client.post("/api/applications", headers=admin, json=body)
    returned = await client.patch(
        f"/api/applications/{applied.json()['id']}",
        headers=admin,
        json={"status": "returned", "opinion": "自评材料不全"},
    )
    assert returned.status_code == 200
    too_soon = await client.post("/api/applications", headers=admin, json=body)
    assert too_soon.status_code == 409
    assert too_soon.json()["code"] == "reapply_too_soon"
    assert "6 months" in too_soon.json()["detail"]

    await Application.update({Application.decided_at: datetime.now(UTC) - timedelta(days=200)}).where(
        Application.facility == facility
    )
    later = await client.post("/api/applications", headers=admin, json=body)
    assert later.status_code == 201, later.text


async def test_office_stage_limit_and_inactive_facility(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    office = await login(client, "office")
    facility = str(demo["facilities"][2])
    body = {"facilityId": facility, "roundId": str(demo["round"]), "tier": "recommended"}
    await finish_self_assessment(facility, demo["round"])
    assert (await client.post("/api/applications", headers=admin, json=body)).status_code == 201
    for stage in ("county", "city"):
        await sign_off(facility, demo["round"], stage, demo["admin"], "cn-chsc-capacity-2018")
    inspection = {
        "facilityId": facility,
        "roundId": str(demo["round"]),
        "stage": "province",
        "standardVersionId": "cn-chsc-capacity-2018",
    }
    # A city office does not run the provincial review; admin does.
    refused = await client.post("/api/admin/inspections", headers=office, json=inspection)
    assert refused.status_code == 403
    assert refused.json()["code"] == "stage_above_scope"
    assert (await client.post("/api/admin/inspections", headers=admin, json=inspection)).status_code == 201

    deactivated = await client.patch(
        f"/api/admin/facilities/{facility}", headers=admin, json={"active": False}
    )
    assert deactivated.status_code == 200
    inspection["stage"] = "county"
    closed = await client.post("/api/admin/inspections", headers=admin, json=inspection)
    assert closed.status_code == 409
    assert closed.json()["code"] == "facility_inactive"


async def test_rounds_admin(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    admin = await login(client, "admin")
    created = await client.post(
        "/api/admin/rounds",
        headers=admin,
        json={"name": "2027年度", "year": 2027, "regionId": str(demo["province"]), "startsOn": "2027-01-01"},
    )
    assert created.status_code == 201, created.text
    round_id = created.json()["id"]
    bad = await client.patch(f"/api/admin/rounds/{round_id}", headers=admin, json={"endsOn": "2026-12-31"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "bad_dates"
    ok = await client.patch(f"/api/admin/rounds/{round_id}", headers=admin, json={"endsOn": "2027-12-31"})
    assert ok.status_code == 200
    assert ok.json()["endsOn"] == "2027-12-31"
    fetched = await client.get(f"/api/rounds/{round_id}", headers=await login(client, "clinic1"))
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "2027年度"


async def test_clinic_user_belongs_to_exactly_one_facility(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    users_before = await User.count()
    without = await client.post(
        "/api/admin/users", headers=admin, json={"username": "c2", "password": "secret12", "role": "clinic"}
    )
    assert without.status_code == 422  # schema-valid, refused by a rule across fields
    assert without.json()["code"] == "facility_required"
    with_region = await client.post(
        "/api/admin/users",
        headers=admin,
        json={
            "username": "c2",
            "password": "secret12",
            "role": "clinic",
            "facilityId": str(demo["facilities"][1]),
            "regionId": str(demo["counties"][0]),
        },
    )
    assert with_region.status_code == 422
    # Facilities as a list are not a thing: a clinic has one facilityId.
    two = await client.post(
        "/api/admin/users",
        headers=admin,
        json={
            "username": "c2",
            "password": "secret12",
            "role": "clinic",
            "facilityId": _ids(demo["facilities"][:2]),
        },
    )
    assert two.status_code == 400
    assert await User.count() == users_before
    made = await client.post(
        "/api/admin/users",
        headers=admin,
        json={
            "username": "c2",
            "password": "secret12",
            "role": "clinic",
            "facilityId": str(demo["facilities"][1]),
        },
    )
    assert made.status_code == 201, made.text
    clinic2 = await login(client, "c2", "secret12")
    listed = await client.get("/api/facilities", headers=clinic2)
    assert [f["id"] for f in listed.json()] == [str(demo["facilities"][1])]
    # Only clinic users belong to a facility.
    office = await client.post(
        "/api/admin/users",
        headers=admin,
        json={
            "username": "o2",
            "password": "secret12",
            "role": "office",
            "regionId": str(demo["cities"][1]),
            "facilityId": str(demo["facilities"][6]),
        },
    )
    assert office.status_code == 422


async def test_a_draft_whose_standard_changes_is_pulled_again(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    """Changing a draft's standard bumps its version: a team member who already pulled it gets the inspection
    with the new standard, and the new standard's reference, on the next pull."""
    office = await login(client, "office")
    clinic = await login(client, "clinic1")
    facility, round_id = str(demo["facilities"][0]), str(demo["round"])
    await finish_self_assessment(facility, round_id)
    applied = await client.post(
        "/api/applications",
        headers=clinic,
        json={"facilityId": facility, "roundId": round_id, "tier": "recommended"},
    )
    assert applied.status_code == 201, applied.text
    await sign_off(demo["facilities"][0], demo["round"], "county", demo["office"])
    other = await second_township_standard()
    body = {
        "facilityId": facility,
        "roundId": round_id,
        "stage": "city",
        "standardVersionId": "cn-thc-capacity-2018",
    }
    inspection = (await client.post("/api/admin/inspections", headers=office, json=body)).json()
    inspectors = _ids(demo["inspectors"])
    team = await _put_team(client, office, inspection["id"], inspectors[:5], inspectors[0])
    assert team.status_code == 200, team.text
    member = await login(client, "inspector1")
    pull = {"protocolVersion": 1, "clientGroupId": "draft-device", "cookie": None}
    first = (await client.post("/api/sync/pull", headers=member, json=pull)).json()
    key = f"inspection/{inspection['id']}"
    [before] = [op["value"] for op in first["patch"] if op["key"] == key]
    assert before["standardVersionId"] == "cn-thc-capacity-2018"

    changed = await client.patch(
        f"/api/admin/inspections/{inspection['id']}",
        headers=office,
        json={"standardVersionId": other},
    )
    assert changed.status_code == 200, changed.text
    again = (
        await client.post("/api/sync/pull", headers=member, json=pull | {"cookie": first["cookie"]})
    ).json()
    [after] = [op["value"] for op in again["patch"] if op["key"] == key]
    assert after["standardVersionId"] == other
    assert after["version"] > before["version"]
    assert f"standardRef/{other}" in {op["key"] for op in again["patch"]}
    # nothing else changed: the next pull from there is empty
    last = (
        await client.post("/api/sync/pull", headers=member, json=pull | {"cookie": again["cookie"]})
    ).json()
    assert [op for op in last["patch"] if op["key"] == key] == []
