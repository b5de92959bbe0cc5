"""The bearer token checked inside the sync statements (issue 23): a push or a pull sees a revocation made by
another process at once, with this process's cache entry still fresh, and nothing is applied or answered; an
account's new role or scope does not sign its device out, the request runs as the account now is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.accounts import services
from backend.accounts.tables import AuthToken, User
from backend.audit.tables import AuditLog
from backend.inspections.tables import Inspection
from sync.tables import SyncClient
from tests.backend.sync_api.sync_support import Devices, push_body, set_answer

PULL = {"protocolVersion": 1, "clientGroupId": "g-token"}


def _digest(headers: dict[str, str]) -> str:
    return services.token_digest(headers["Authorization"].split()[1])


async def _warm(client: httpx.AsyncClient, headers: dict[str, str], inspection: Any) -> None:
    """One push and one pull: the client row exists and the token's entry is cached (fresh)."""
    pushed = await client.post(
        "/api/sync/push",
        content=push_body("c-token", [set_answer(1, inspection, "1.2.1", "A")], group="g-token"),
        headers=headers,
    )
    assert pushed.status_code == 200, pushed.text
    pulled = await client.post("/api/sync/pull", json=PULL, headers=headers)
    assert pulled.status_code == 200, pulled.text
    assert _digest(headers) in services._token_cache


async def _refused_at_once(client: httpx.AsyncClient, headers: dict[str, str], inspection: Any) -> None:
    audited = await AuditLog.count()
    pushed = await client.post(
        "/api/sync/push",
        content=push_body("c-token", [set_answer(2, inspection, "1.1.1", "C")], group="g-token"),
        headers=headers,
    )
    assert pushed.status_code == 401, pushed.text
    assert pushed.json()["code"] == "invalid_token"
    # a new client of the same token is not made either
    other = await client.post(
        "/api/sync/push",
        content=push_body("c-token-2", [set_answer(1, inspection, "1.1.1", "C")], group="g-token"),
        headers=headers,
    )
    assert other.status_code == 401, other.text
    assert await AuditLog.count() == audited
    rows = await SyncClient.select(SyncClient.client_id, SyncClient.last_mutation_id).where(
        SyncClient.client_id.is_in(["c-token", "c-token-2"])
    )
    assert rows == [{"client_id": "c-token", "last_mutation_id": 1}]
    pulled = await client.post("/api/sync/pull", json=PULL, headers=headers)
    assert pulled.status_code == 401, pulled.text
    assert pulled.json()["code"] == "invalid_token"
    # the entry left this process's cache: the other routes refuse the token too
    assert _digest(headers) not in services._token_cache
    assert (await client.get("/api/me", headers=headers)).status_code == 401


async def test_a_token_deleted_by_another_process_is_refused_by_the_next_push_and_pull(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await Devices(client).auth("inspector1")
    await _warm(client, headers, demo["review_inspection"])
    # another process's logout: the row goes, this process's cache entry stays (and is fresh)
    await AuthToken.delete().where(AuthToken.token_hash == _digest(headers))
    await _refused_at_once(client, headers, demo["review_inspection"])


async def test_an_expired_token_is_refused_by_the_next_push_and_pull(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await Devices(client).auth("inspector1")
    await _warm(client, headers, demo["review_inspection"])
    past = datetime.now(UTC) - timedelta(seconds=1)
    await AuthToken.update({AuthToken.expires_at: past}).where(AuthToken.token_hash == _digest(headers))
    await _refused_at_once(client, headers, demo["review_inspection"])


async def test_a_deactivated_account_is_refused_by_the_next_push_and_pull(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await Devices(client).auth("inspector1")
    await _warm(client, headers, demo["review_inspection"])
    me = (await client.get("/api/me", headers=headers)).json()
    await User.update({User.active: False}).where(User.id == me["id"])
    await _refused_at_once(client, headers, demo["review_inspection"])


async def test_a_new_role_does_not_sign_the_device_out(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await Devices(client).auth("inspector1")
    await _warm(client, headers, demo["review_inspection"])
    as_inspector = (await client.post("/api/sync/pull", json=PULL, headers=headers)).json()
    seen = {op["key"] for op in as_inspector["patch"] if op["key"].startswith("inspection/")}
    everything = {f"inspection/{row['id']}" for row in await Inspection.select(Inspection.id)}
    assert seen < everything  # an inspector sees its teams' inspections only
    me = (await client.get("/api/me", headers=headers)).json()

    # made an admin by another process: this process's entry still says inspector, and is fresh. The push runs
    # again as the admin the check found (not a 401)
    await User.update({User.role: "admin"}).where(User.id == me["id"])
    pushed = await client.post(
        "/api/sync/push",
        content=push_body(
            "c-token", [set_answer(2, demo["review_inspection"], "1.1.1", "C")], group="g-token"
        ),
        headers=headers,
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["results"][0]["status"] == "applied"
    user, _, _ = services._token_cache[_digest(headers)]
    assert user.role == "admin"
    pulled = await client.post("/api/sync/pull", json=PULL, headers=headers)
    assert pulled.status_code == 200, pulled.text
    assert {op["key"] for op in pulled.json()["patch"] if op["key"].startswith("inspection/")} == everything

    # and back: the pull runs again as the inspector, with the inspector's scope
    await User.update({User.role: "inspector"}).where(User.id == me["id"])
    pulled = await client.post("/api/sync/pull", json=PULL, headers=headers)
    assert pulled.status_code == 200, pulled.text
    assert {op["key"] for op in pulled.json()["patch"] if op["key"].startswith("inspection/")} == seen
    assert services._token_cache[_digest(headers)][0].role == "inspector"


async def test_a_stale_entry_costs_the_sync_routes_no_lookup(
    client: httpx.AsyncClient, demo: dict[str, Any], monkeypatch: Any
) -> None:
    headers = await Devices(client).auth("inspector1")
    await _warm(client, headers, demo["review_inspection"])
    monkeypatch.setattr(services, "TOKEN_CACHE_SECONDS", 0.0)  # every entry stale at once, as 10 s on
    lookups: list[str] = []
    read_fetch = services.read_fetch

    async def counted(sql: str, args: Any) -> Any:
        lookups.append(sql)
        return await read_fetch(sql, args)

    monkeypatch.setattr(services, "read_fetch", counted)
    pushed = await client.post(
        "/api/sync/push",
        content=push_body(
            "c-token", [set_answer(2, demo["review_inspection"], "1.1.1", "C")], group="g-token"
        ),
        headers=headers,
    )
    assert pushed.status_code == 200, pushed.text
    assert (await client.post("/api/sync/pull", json=PULL, headers=headers)).status_code == 200
    assert lookups == []
    # the other routes look a stale entry's token up
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    assert lookups == [services.USER_BY_DIGEST_SQL]
