"""Shared fixtures: every database test runs on SQLite and on PostgreSQL (one parametrized fixture)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from backend.app import create_app
from backend.db import bind_engine, prepare_engine
from backend.db_sqlite import close_pool, open_pool
from backend.migrations import migrate
from backend.settings import Settings
from backend.tables_index import TABLES

PG_ADMIN_DSN = os.environ.get("FIELDCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_KINDS = ["sqlite", "postgres"]


def pg_dsn(database: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Migrate once per run into a template (SQLite file, PostgreSQL template database); tests copy it."""
    root = tmp_path_factory.mktemp("template")
    template_db = f"fc_template_{uuid.uuid4().hex[:10]}"

    async def build() -> None:
        sqlite = SQLiteEngine(path=str(root / "fieldcheck.sqlite"))
        await prepare_engine(sqlite)
        await migrate(sqlite)
        await _pg_admin(f'CREATE DATABASE "{template_db}"')
        await migrate(PostgresEngine(config={"dsn": pg_dsn(template_db)}))

    asyncio.run(build())
    yield {"sqlite": str(root / "fieldcheck.sqlite"), "postgres": template_db}
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{template_db}" WITH (FORCE)'))


@pytest.fixture(params=DB_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def settings(
    db_kind: str, tmp_path: Path, migrated_templates: dict[str, str]
) -> AsyncIterator[Settings]:
    """Settings on a fresh, migrated database of the parametrized kind, with local storage in tmp_path."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if db_kind == "sqlite":
        shutil.copy(migrated_templates["sqlite"], data_dir / "fieldcheck.sqlite")
        yield Settings(data_dir=str(data_dir), secret_key="test-secret")
        return
    name = f"fc_test_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_templates["postgres"]}"')
    try:
        yield Settings(data_dir=str(data_dir), database_url=pg_dsn(name), secret_key="test-secret")
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    application = create_app(settings, start_pool=False)
    await prepare_engine(application.state.engine)
    # as the lifespan does: on SQLite, queries and transactions reuse idle connections
    idle = await open_pool(application.state.engine)
    try:
        yield application
    finally:
        await close_pool(idle)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def demo(app: Litestar) -> dict[str, Any]:
    """The demo data set (see backend/demo.py), loaded into the test database."""
    from backend.demo import load_demo

    return await load_demo()


async def login(client: httpx.AsyncClient, username: str, password: str = "demo") -> dict[str, str]:  # noqa: S107
    """Sign in and return the Authorization header."""
    response = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def rebind(app: Litestar) -> None:
    bind_engine(app.state.engine, TABLES)
