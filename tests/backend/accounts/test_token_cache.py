"""The in-process token cache: revocations in this process take effect at once; others within the TTL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backend.accounts import services
from backend.accounts.tables import AuthToken
from tests.conftest import login


async def test_logout_and_password_change_evict_at_once(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    inspector = await login(client, "inspector2")
    assert (await client.get("/api/me", headers=inspector)).status_code == 200  # now cached
    assert (await client.post("/api/auth/logout", headers=inspector)).status_code == 204
    assert (await client.get("/api/me", headers=inspector)).status_code == 401

    inspector = await login(client, "inspector2")
    me = (await client.get("/api/me", headers=inspector)).json()
    admin = await login(client, "admin")
    changed = await client.patch(f"/api/admin/users/{me['id']}", headers=admin, json={"password": "n3w-pass"})
    assert changed.status_code == 200, changed.text
    assert (await client.get("/api/me", headers=inspector)).status_code == 401

    inspector = await login(client, "inspector3")
    me = (await client.get("/api/me", headers=inspector)).json()
    off = await client.patch(f"/api/admin/users/{me['id']}", headers=admin, json={"active": False})
    assert off.status_code == 200, off.text
    assert (await client.get("/api/me", headers=inspector)).status_code == 401


async def test_revocation_by_another_process_is_seen_within_the_ttl(
    client: httpx.AsyncClient, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    inspector = await login(client, "inspector4")
    assert (await client.get("/api/me", headers=inspector)).status_code == 200
    # another process deletes the token row (its own cache eviction does not reach us)
    await AuthToken.delete().where(AuthToken.token_hash.is_not_null())
    assert (await client.get("/api/me", headers=inspector)).status_code == 200  # still cached
    later = services.time.monotonic() + services.TOKEN_CACHE_SECONDS + 0.01
    monkeypatch.setattr(services.time, "monotonic", lambda: later)
    assert (await client.get("/api/me", headers=inspector)).status_code == 401
