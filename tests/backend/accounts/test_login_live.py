"""Issue 21, item 2, over a real uvicorn server: a spoofed X-Forwarded-For neither lifts a lock nor rotates
the per-address count away (uvicorn believed it from 127.0.0.1 by default)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.media_api.live import live_server
from tests.conftest import DB_KINDS, _pg_admin, pg_dsn


@pytest.fixture(params=DB_KINDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    env: dict[str, str] = {}
    database = f"fc_live_{uuid.uuid4().hex[:12]}"
    if request.param == "postgres":
        asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
        env["FIELDCHECK_DATABASE_URL"] = pg_dsn(database)
    try:
        with live_server(tmp_path, workers=False, extra_env=env, demo_copy=True, fork=True) as server:
            yield server.url
    finally:
        if request.param == "postgres":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def test_a_spoofed_forwarded_for_does_not_rotate_the_address_away(served: str) -> None:
    with httpx.Client(base_url=served, timeout=30) as http:

        def attempt(username: str, password: str, n: int) -> int:
            body = {"username": username, "password": password}
            headers = {"X-Forwarded-For": f"192.0.{n // 250}.{n % 250}"}
            return http.post("/api/auth/login", json=body, headers=headers).status_code

        # one address trying 100 accounts (ADDRESS_FACTOR × 5), each try claiming another address
        assert {attempt(f"nobody{n}", "guess", n) for n in range(100)} == {401}
        assert attempt("clinic1", "demo", 999) == 429
        # and an account locked from this address stays locked whatever the header says
        assert [attempt("office", "guess", 1000 + n) for n in range(5)] == [429] * 5
