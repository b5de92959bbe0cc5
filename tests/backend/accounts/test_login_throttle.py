"""Issue 21, items 1 and 2: the login throttle holds under parallel attempts, keys by account and address,
cannot be used to lock the owner out, believes X-Forwarded-For only from named proxies, and new passwords
have a minimum length."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from backend.app import create_app
from backend.db_sqlite import close_pool, open_pool
from backend.settings import Settings
from tests.conftest import login

LOGIN = "/api/auth/login"


@asynccontextmanager
async def from_address(app: Litestar, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def attempt(http: httpx.AsyncClient, username: str, password: str, **headers: str) -> int:
    response = await http.post(LOGIN, json={"username": username, "password": password}, headers=headers)
    return response.status_code


async def test_parallel_wrong_passwords_meet_the_lock(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    statuses = await asyncio.gather(*(attempt(client, "office", f"wrong-{n}") for n in range(40)))
    # counted before the password is checked: only max_failures (5) get an answer on the password
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 35, statuses
    throttled = await client.post(LOGIN, json={"username": "office", "password": "demo"})
    assert throttled.status_code == 429
    body = throttled.json()
    assert body["code"] == "login_throttled"
    assert body["params"]["seconds"] == int(throttled.headers["retry-after"]) > 0


async def test_an_attacker_elsewhere_cannot_lock_the_owner_out(app: Litestar, demo: dict[str, Any]) -> None:
    async with from_address(app, "10.0.0.1") as owner, from_address(app, "10.0.0.66") as attacker:
        assert await attempt(owner, "office", "demo") == 200  # the owner's usual address
        for _ in range(5):
            assert await attempt(attacker, "office", "guess") == 401
        assert await attempt(attacker, "office", "demo") == 429  # locked for that address
        assert await attempt(owner, "office", "demo") == 200
        # the owner's own typing locks the owner's address only
        for _ in range(5):
            assert await attempt(owner, "office", "typo") == 401
        assert await attempt(owner, "office", "demo") == 429


async def test_many_addresses_meet_the_softer_account_wide_limit(app: Litestar, demo: dict[str, Any]) -> None:
    async with from_address(app, "10.0.0.1") as owner:
        assert await attempt(owner, "office", "demo") == 200
    for n in range(50):  # ACCOUNT_FACTOR (10) × 5, one guess from each of 50 addresses
        async with from_address(app, f"10.1.0.{n + 1}") as bot:
            assert await attempt(bot, "office", "guess") == 401
    async with from_address(app, "10.2.0.1") as fresh:
        assert await attempt(fresh, "office", "demo") == 429
    async with from_address(app, "10.0.0.1") as owner:
        assert await attempt(owner, "office", "demo") == 200  # known address: not locked out


async def test_one_address_trying_many_accounts_does_not_lock_its_neighbours(
    app: Litestar, demo: dict[str, Any]
) -> None:
    async with from_address(app, "10.3.0.1") as shared:
        for n in range(20):  # used to lock every user behind this (NAT) address for 15 minutes
            assert await attempt(shared, f"nobody{n}", "guess") == 401
        assert await attempt(shared, "inspector1", "demo") == 200
        for n in range(20, 100):  # ADDRESS_FACTOR (20) × 5
            assert await attempt(shared, f"nobody{n}", "guess") == 401
        assert await attempt(shared, "clinic1", "demo") == 429  # a stuffing address is slowed down
        assert await attempt(shared, "inspector1", "demo") == 200  # known there: still signs in


async def test_forwarded_for_is_not_believed_without_trusted_proxies(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    for n in range(5):
        assert await attempt(client, "office", "guess", **{"X-Forwarded-For": f"192.0.2.{n}"}) == 401
    assert await attempt(client, "office", "demo", **{"X-Forwarded-For": "192.0.2.99"}) == 429


@asynccontextmanager
async def app_with(settings: Settings, **changes: Any) -> AsyncIterator[Litestar]:
    application = create_app(msgspec.structs.replace(settings, **changes), start_pool=False)
    idle = await open_pool(application.state.engine)
    try:
        yield application
    finally:
        await close_pool(idle)


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    settings: Settings, demo: dict[str, Any]
) -> None:
    async with app_with(settings, trusted_proxies="127.0.0.1, 10.9.0.0/16") as proxied:
        async with from_address(proxied, "127.0.0.1") as proxy:

            def via(*hops: str) -> dict[str, str]:
                return {"X-Forwarded-For": ", ".join(hops)}

            # the client's own (spoofed) left entries prove nothing: the client is 198.51.100.7
            for n in range(5):
                assert await attempt(proxy, "office", "guess", **via(f"203.0.113.{n}", "198.51.100.7")) == 401
            assert await attempt(proxy, "office", "demo", **via("198.51.100.7", "10.9.1.1")) == 429
            assert await attempt(proxy, "office", "demo", **via("198.51.100.8")) == 200
        async with from_address(proxied, "192.0.2.1") as direct:  # not a proxy: its header is ignored
            for _ in range(5):
                assert await attempt(direct, "admin", "guess", **{"X-Forwarded-For": "198.51.100.9"}) == 401
            assert await attempt(direct, "admin", "demo", **{"X-Forwarded-For": "198.51.100.10"}) == 429


async def test_new_and_changed_passwords_have_a_minimum_length(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    me = (await client.get("/api/me", headers=await login(client, "inspector1"))).json()
    for short in ("", "seven77"):
        changed = await client.patch(f"/api/admin/users/{me['id']}", headers=admin, json={"password": short})
        assert changed.status_code == 400, changed.text
        created = await client.post(
            "/api/admin/users",
            headers=admin,
            json={"username": "shorty", "password": short, "role": "inspector"},
        )
        assert created.status_code == 400, created.text
    assert await attempt(client, "inspector1", "") == 401
    assert await attempt(client, "inspector1", "demo") == 200
    ok = await client.patch(f"/api/admin/users/{me['id']}", headers=admin, json={"password": "eight888"})
    assert ok.status_code == 200
    assert await attempt(client, "inspector1", "eight888") == 200


async def test_create_user_service_refuses_a_short_password(app: Litestar, demo: dict[str, Any]) -> None:
    from backend.accounts.schemas import CreateUserRequest
    from backend.accounts.services import create_user
    from backend.errors import BadRequest

    with pytest.raises(BadRequest) as refused:
        await create_user(
            data=CreateUserRequest(username="cli", password="short", role="inspector"), actor_id=None
        )
    assert refused.value.code == "password_too_short"
    assert refused.value.params == {"min": 8}
