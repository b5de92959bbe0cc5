"""Bad input gets a clear 4xx problem document and changes nothing in the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import msgspec

from backend.tables_index import TABLES
from tests.conftest import login

UNKNOWN = "00000000-0000-4000-8000-000000000000"


async def snapshot() -> dict[str, int]:
    """Row counts of every table of the app (the audit log included)."""
    return {table._meta.tablename: int(await table.count()) for table in TABLES}


def _facility(demo: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "name": "新港镇卫生院",
        "kind": "township_centre",
        "licenceNumber": "PDY449999C",
        "licenceCategory": "C",
        "registeredFirstName": "新港镇卫生院",
        "regionId": str(demo["counties"][0]),
    }
    return {**body, **changes}


def _json(value: Any) -> bytes:
    return msgspec.json.encode(value)


# (what, method, path, raw body, status, code or None (any stable code), text the problem must mention)
Case = tuple[
    str, str, Callable[[dict[str, Any]], str], Callable[[dict[str, Any]], bytes], int, str | None, str
]

CASES: list[Case] = [
    (
        "malformed JSON",
        "POST",
        lambda d: "/api/admin/regions",
        lambda d: b"{name: 'x'}",
        400,
        None,
        "malformed",
    ),
    (
        "truncated JSON",
        "POST",
        lambda d: "/api/admin/regions",
        lambda d: b'{"name": "x", "level": ',
        400,
        None,
        "truncated",
    ),
    (
        "JSON array instead of an object",
        "POST",
        lambda d: "/api/admin/regions",
        lambda d: b"[1, 2]",
        400,
        "invalid_input",
        "object",
    ),
    (
        "wrong type",
        "POST",
        lambda d: "/api/admin/facilities",
        lambda d: _json(_facility(d, medicalStaffCount="many")),
        400,
        "invalid_input",
        "medicalStaffCount",
    ),
    (
        "negative count",
        "POST",
        lambda d: "/api/admin/facilities",
        lambda d: _json(_facility(d, servicePopulation=-5)),
        400,
        "invalid_input",
        "servicePopulation",
    ),
    (
        "missing field",
        "POST",
        lambda d: "/api/admin/rounds",
        lambda d: _json({"name": "2027年度"}),
        400,
        "invalid_input",
        "year",
    ),
    (
        "unknown field (a typo must not be ignored)",
        "POST",
        lambda d: "/api/admin/regions",
        lambda d: _json({"name": "丙市", "level": "province", "code": "X1", "colour": "red"}),
        400,
        "invalid_input",
        "colour",
    ),
    (
        "empty name",
        "POST",
        lambda d: "/api/admin/regions",
        lambda d: _json({"name": "", "level": "province", "code": "X1"}),
        400,
        "invalid_input",
        "name",
    ),
    (
        "not a UUID in the body",
        "PUT",
        lambda d: f"/api/admin/inspections/{d['review_inspection']}/team",
        lambda d: _json({"members": ["inspector1"], "leadId": "inspector1"}),
        400,
        "invalid_input",
        "uuid",
    ),
    (
        "unknown enum value",
        "POST",
        lambda d: "/api/admin/inspections",
        lambda d: _json(
            {
                "facilityId": str(d["facilities"][0]),
                "roundId": str(d["round"]),
                "stage": "moon",
                "standardVersionId": "x",
            }
        ),
        400,
        "invalid_input",
        "stage",
    ),
    (
        "unknown facility",
        "PATCH",
        lambda d: f"/api/admin/facilities/{UNKNOWN}",
        lambda d: b"{}",
        404,
        "facility_not_found",
        UNKNOWN,
    ),
    (
        "unknown region",
        "PATCH",
        lambda d: f"/api/admin/regions/{UNKNOWN}",
        lambda d: _json({"name": "x"}),
        404,
        "region_not_found",
        UNKNOWN,
    ),
    (
        "unknown expert",
        "PATCH",
        lambda d: f"/api/admin/experts/{UNKNOWN}",
        lambda d: _json({"title": "x"}),
        404,
        "expert_not_found",
        UNKNOWN,
    ),
    (
        "unknown round",
        "PATCH",
        lambda d: f"/api/admin/rounds/{UNKNOWN}",
        lambda d: _json({"name": "x"}),
        404,
        "round_not_found",
        UNKNOWN,
    ),
    (
        "unknown user",
        "PATCH",
        lambda d: f"/api/admin/users/{UNKNOWN}",
        lambda d: _json({"displayName": "x"}),
        404,
        "not_found",
        UNKNOWN,
    ),
    (
        "unknown inspection",
        "GET",
        lambda d: f"/api/inspections/{UNKNOWN}",
        lambda d: b"",
        404,
        "not_found",
        UNKNOWN,
    ),
    (
        "team for an unknown inspection",
        "PUT",
        lambda d: f"/api/admin/inspections/{UNKNOWN}/team",
        lambda d: _json({"members": [], "leadId": None}),
        404,
        "not_found",
        UNKNOWN,
    ),
    (
        "inspection of an unknown facility",
        "POST",
        lambda d: "/api/admin/inspections",
        lambda d: _json(
            {"facilityId": UNKNOWN, "roundId": str(d["round"]), "stage": "self", "standardVersionId": "x"}
        ),
        404,
        "not_found",
        UNKNOWN,
    ),
    (
        "application at an unknown round",
        "POST",
        lambda d: "/api/applications",
        lambda d: _json({"facilityId": str(d["facilities"][0]), "roundId": UNKNOWN, "tier": "basic"}),
        404,
        "round_not_found",
        UNKNOWN,
    ),
    (
        "expert profile for an unknown user",
        "POST",
        lambda d: "/api/admin/experts",
        lambda d: _json({"userId": UNKNOWN, "title": "主任医师", "specialties": ["医疗"]}),
        404,
        "user_not_found",
        UNKNOWN,
    ),
    (
        "team member who does not exist",
        "PUT",
        lambda d: f"/api/admin/inspections/{d['review_inspection']}/team",
        lambda d: _json(
            {"members": [*(str(i) for i in d["inspectors"][:4]), UNKNOWN], "leadId": str(d["inspectors"][0])}
        ),
        404,
        "user_not_found",
        UNKNOWN,
    ),
    (
        "not a UUID in the path",
        "PATCH",
        lambda d: "/api/admin/facilities/abc",
        lambda d: b"{}",
        404,
        "not_found",
        "",
    ),
    (
        "oversized body",
        "POST",
        lambda d: "/api/admin/facilities",
        # Over the 2 MiB limit (settings.max_body_bytes) and otherwise a valid facility.
        lambda d: _json(_facility(d, name="x" * 100, padding="y" * (3 * 1024 * 1024))),
        413,
        "payload_too_large",
        "",
    ),
]


async def test_bad_input_is_a_problem_and_changes_nothing(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    headers = {**admin, "Content-Type": "application/json"}
    before = await snapshot()
    failures: list[str] = []
    for what, method, path, body, status, code, mention in CASES:
        response = await client.request(method, path(demo), headers=headers, content=body(demo))
        label = f"{what}: {method} {path(demo)} -> {response.status_code} {response.text[:300]}"
        if response.status_code != status:
            failures.append(f"want {status}; {label}")
            continue
        if not response.headers["content-type"].startswith("application/problem+json"):
            failures.append(f"not problem+json; {label}")
            continue
        problem = response.json()
        if not isinstance(problem.get("code"), str) or not problem["code"]:
            failures.append(f"no code; {label}")
        elif code is not None and problem["code"] != code:
            failures.append(f"want code {code}; {label}")
        if not isinstance(problem.get("detail"), str) or not problem["detail"]:
            failures.append(f"no detail; {label}")
        if problem.get("status") != status:
            failures.append(f"status field differs; {label}")
        # The field or id at fault is named, in the detail or in the per-field errors.
        if mention.lower() not in response.text.lower():
            failures.append(f"does not mention {mention!r}; {label}")
        if await snapshot() != before:
            failures.append(f"changed the database; {label}")
            before = await snapshot()
    assert not failures, "\n".join(failures)

    # The snapshot does see a change: the same facility, valid, is created and audited.
    created = await client.post("/api/admin/facilities", headers=admin, json=_facility(demo))
    assert created.status_code == 201, created.text
    after = await snapshot()
    assert after["facility"] == before["facility"] + 1
    assert after["audit_log"] == before["audit_log"] + 1


async def test_refused_by_rule_changes_nothing(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    """Well-formed requests that a rule refuses (409) leave no trace either."""
    admin = await login(client, "admin")
    before = await snapshot()
    inspectors = [str(i) for i in demo["inspectors"]]
    recusal = await client.put(
        f"/api/admin/inspections/{demo['review_inspection']}/team",
        headers=admin,
        json={"members": inspectors[1:6], "leadId": inspectors[1]},
    )
    assert recusal.status_code == 409
    duplicate = await client.post(
        "/api/admin/facilities",
        headers=admin,
        json=_facility(demo, licenceNumber="PDY440000C"),  # the demo's first licence number
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate_licence"
    assert await snapshot() == before


async def test_nul_in_text_is_bad_input_never_a_server_error(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    # PostgreSQL text cannot hold NUL; SQLite can. Neither answers 5xx (found by the API fuzzing).
    admin = await login(client, "admin")
    before = await snapshot()
    body = {"name": "\u0000县", "level": "county", "code": "NUL01", "parentId": str(demo["cities"][0])}
    response = await client.post("/api/admin/regions", headers=admin, json=body)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert response.json()["code"] == "invalid_text"
        assert await snapshot() == before
