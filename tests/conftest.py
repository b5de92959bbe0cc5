"""Shared fixtures: every database test runs on SQLite and on PostgreSQL (one parametrized fixture).

Each run (each xdist worker) migrates two templates per database kind, one empty and one with the demo data
loaded, and every test gets a copy of the one it needs. A test marked ``no_database`` runs once.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import httpx
import pytest
from litestar import Litestar
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from backend.accounts.passwords import use_password_hashing
from backend.app import create_app
from backend.db import bind_engine, prepare_engine
from backend.db_sqlite import close_pool, open_pool
from backend.migrations import migrate
from backend.settings import PasswordHashing, Settings
from backend.tables_index import TABLES

PG_ADMIN_DSN = os.environ.get("FIELDCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_KINDS = ["sqlite", "postgres"]
# argon2 at its minimum cost: production's costs 78 ms a hash, and the suite logs in thousands of times
TEST_PASSWORD_HASHING: PasswordHashing = "argon2id-tests-only"


def pytest_configure(config: pytest.Config) -> None:
    # the servers the tests start (live_server, the fault tests' zygote) inherit it from the environment
    os.environ.setdefault("FIELDCHECK_PASSWORD_HASHING", TEST_PASSWORD_HASHING)
    use_password_hashing(TEST_PASSWORD_HASHING)


# the longest tests (the crash and two-process tests, the fuzzer, the browser journeys) start first, so that
# under xdist they run beside the rest instead of after it
LONG_FIRST = ("tests/faults/", "tests/backend/test_api_fuzz.py", "tests/pwa_static/")


def _long_first(item: pytest.Item) -> int:
    path = item.nodeid
    return next((rank for rank, prefix in enumerate(LONG_FIRST) if path.startswith(prefix)), len(LONG_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``no_database`` tests run once (on SQLite, whose copy is a file copy), not once per kind; under xdist
    the long tests come first."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("db_kind") if callspec is not None else None
        if kind == "postgres" and item.get_closest_marker("no_database") is not None:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if config.pluginmanager.hasplugin("xdist") and getattr(config.option, "numprocesses", None):
        items.sort(key=_long_first)


def pg_dsn(database: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Templates(NamedTuple):
    """Per database kind: the empty template, the demo template, and the demo's ids (see backend/demo.py)."""

    empty: dict[str, str]
    demo: dict[str, str]
    demo_ids: dict[str, dict[str, Any]]


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """Migrate once per run (per xdist worker) into templates (SQLite files, PostgreSQL template databases),
    one of them with the demo data loaded; tests copy them."""
    from backend.demo import load_demo

    root = tmp_path_factory.mktemp("template")
    tag = uuid.uuid4().hex[:10]
    templates = Templates(
        empty={"sqlite": str(root / "empty.sqlite"), "postgres": f"fc_template_{tag}"},
        demo={"sqlite": str(root / "demo.sqlite"), "postgres": f"fc_template_demo_{tag}"},
        demo_ids={},
    )

    async def build() -> None:
        sqlite = SQLiteEngine(path=templates.empty["sqlite"])
        await prepare_engine(sqlite)
        await migrate(sqlite)
        shutil.copy(templates.empty["sqlite"], templates.demo["sqlite"])
        demo_sqlite = SQLiteEngine(path=templates.demo["sqlite"])
        await prepare_engine(demo_sqlite)
        bind_engine(demo_sqlite, TABLES)
        templates.demo_ids["sqlite"] = await load_demo()
        await _pg_admin(f'CREATE DATABASE "{templates.empty["postgres"]}"')
        await migrate(PostgresEngine(config={"dsn": pg_dsn(templates.empty["postgres"])}))
        await _pg_admin(
            f'CREATE DATABASE "{templates.demo["postgres"]}" TEMPLATE "{templates.empty["postgres"]}"'
        )
        bind_engine(PostgresEngine(config={"dsn": pg_dsn(templates.demo["postgres"])}), TABLES)
        templates.demo_ids["postgres"] = await load_demo()

    asyncio.run(build())
    yield templates
    for name in (templates.empty["postgres"], templates.demo["postgres"]):
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_dropper() -> Iterator[ThreadPoolExecutor]:
    """Drops the tests' PostgreSQL databases in the background (a DROP DATABASE waits for a checkpoint,
    0.3–1.4 s), one after the other, while the next tests run; all are gone when the session ends."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drop") as dropper:
        yield dropper


@pytest.fixture(params=DB_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def settings(
    db_kind: str,
    tmp_path: Path,
    migrated_templates: Templates,
    pg_dropper: ThreadPoolExecutor,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Settings]:
    """Settings on a fresh, migrated database of the parametrized kind, with local storage in tmp_path; the
    database holds the demo data when the test asks for ``demo``."""
    template = migrated_templates.demo if "demo" in request.fixturenames else migrated_templates.empty
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    common = {
        "data_dir": str(data_dir),
        "secret_key": "test-secret",
        "password_hashing": TEST_PASSWORD_HASHING,
    }
    if db_kind == "sqlite":
        shutil.copy(template["sqlite"], data_dir / "fieldcheck.sqlite")
        yield Settings(**common)
        return
    name = f"fc_test_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template["postgres"]}"')
    try:
        yield Settings(**common, database_url=pg_dsn(name))
    finally:
        pg_dropper.submit(asyncio.run, _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
def demo(app: Litestar, db_kind: str, migrated_templates: Templates) -> dict[str, Any]:
    """The demo data set (see backend/demo.py): the test's database is a copy of the demo template (see
    ``settings``); these are its ids (a copy, which a test may change)."""
    return copy.deepcopy(migrated_templates.demo_ids[db_kind])


async def login(client: httpx.AsyncClient, username: str, password: str = "demo") -> dict[str, str]:  # noqa: S107
    """Sign in and return the Authorization header."""
    response = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def rebind(app: Litestar) -> None:
    bind_engine(app.state.engine, TABLES)
