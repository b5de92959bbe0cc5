"""Migrations run forwards on a fresh database and leave exactly the columns of the Piccolo tables."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from backend.db import fetch, prepare_engine
from backend.migrations import migrate, migration_modules
from backend.tables_index import TABLES
from tests.conftest import _pg_admin, pg_dsn

LEDGER = "schema_migration"  # the runner's own table, not a Piccolo table


@pytest.fixture
async def fresh_engine(db_kind: str, tmp_path: Path) -> AsyncIterator[Engine[Any]]:
    """An empty database of the parametrized kind (not the migrated template the other tests copy)."""
    if db_kind == "sqlite":
        engine = SQLiteEngine(path=str(tmp_path / "fresh.sqlite"))
        await prepare_engine(engine)
        yield engine
        return
    name = f"fc_migr_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PostgresEngine(config={"dsn": pg_dsn(name)})
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def schema_of(engine: Engine[Any]) -> dict[str, set[str]]:
    """Table name -> column names, read from the database's own catalogue."""
    if isinstance(engine, SQLiteEngine):
        tables = await engine.run_ddl(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        schema = {}
        for table in tables:
            columns = await engine.run_ddl(f'PRAGMA table_info("{table["name"]}")')
            schema[table["name"]] = {c["name"] for c in columns}
        return schema
    rows = await engine.run_ddl(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], set()).add(row["column_name"])
    return found


def piccolo_schema() -> dict[str, set[str]]:
    return {table._meta.tablename: {c._meta.db_column_name for c in table._meta.columns} for table in TABLES}


async def test_migrations_build_exactly_the_piccolo_schema(fresh_engine: Engine[Any]) -> None:
    assert await schema_of(fresh_engine) == {}
    applied = await migrate(fresh_engine)
    assert applied == [m.__name__.rsplit(".", 1)[-1] for m in migration_modules()]

    migrated = await schema_of(fresh_engine)
    assert LEDGER in migrated
    migrated.pop(LEDGER)
    expected = piccolo_schema()
    missing_tables = sorted(expected.keys() - migrated.keys())
    assert not missing_tables, f"tables without a migration: {missing_tables} (run scripts/make_migration.py)"
    extra_tables = sorted(migrated.keys() - expected.keys())
    assert not extra_tables, f"migrated tables no Piccolo table describes: {extra_tables}"
    for name, columns in expected.items():
        assert migrated[name] == columns, (
            f"{name}: columns missing from the migrations {sorted(columns - migrated[name])}, "
            f"columns no longer in the Piccolo table {sorted(migrated[name] - columns)}"
        )


async def test_migrate_twice_is_a_no_op(fresh_engine: Engine[Any]) -> None:
    await migrate(fresh_engine)
    schema = await schema_of(fresh_engine)
    ledger_sql = 'SELECT "name", "applied_at" FROM "schema_migration" ORDER BY "name"'
    ledger = await fresh_engine.run_ddl(ledger_sql)
    assert len(ledger) == len(migration_modules())
    assert await migrate(fresh_engine) == []
    assert await schema_of(fresh_engine) == schema
    assert await fresh_engine.run_ddl(ledger_sql) == ledger


async def test_hand_written_unique_team_member_index(fresh_engine: Engine[Any]) -> None:
    """m0002 adds a unique (inspection, user) index by hand: the same person cannot be on a team twice."""
    await migrate(fresh_engine)
    region, facility, user, round_id, inspection = (uuid.uuid4() for _ in range(5))
    statements: list[tuple[str, tuple[Any, ...]]] = [
        ("INSERT INTO region (id, name, level, code) VALUES ({}, 'r', 'county', 'c1')", (region,)),
        (
            "INSERT INTO facility (id, name, kind, licence_number, licence_category, registered_first_name, "
            "region) VALUES ({}, 'f', 'township_centre', 'L1', 'C', 'f', {})",
            (facility, region),
        ),
        (
            "INSERT INTO app_user (id, username, password_hash, role) VALUES ({}, 'u', 'x', 'inspector')",
            (user,),
        ),
        ("INSERT INTO eval_round (id, name, year) VALUES ({}, 'r', 2026)", (round_id,)),
        (
            "INSERT INTO inspection (id, facility, round, stage, standard_version_id) "
            "VALUES ({}, {}, {}, 'county', 's')",
            (inspection, facility, round_id),
        ),
    ]
    member = 'INSERT INTO inspection_member (id, inspection, "user", is_lead) VALUES ({}, {}, {}, {})'
    for sql, args in statements:
        await fetch(sql, args, fresh_engine)
    await fetch(member, (uuid.uuid4(), inspection, user, True), fresh_engine)
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await fetch(member, (uuid.uuid4(), inspection, user, False), fresh_engine)


async def test_m0007_rebuilds_the_audit_log_with_its_rows(fresh_engine: Engine[Any]) -> None:
    """m0007 drops the UNIQUE on ``audit_log.row_hash`` (on SQLite by rebuilding the table): rows, ids and
    hashes survive, and later rows keep counting from the old ids."""
    from backend.migrations import LEDGER_DDL, statements_for

    await fresh_engine.run_ddl(LEDGER_DDL)
    for module in migration_modules():
        name = module.__name__.rsplit(".", 1)[-1]
        if name >= "m0007":
            break
        for statement in statements_for(module, fresh_engine):
            await fresh_engine.run_ddl(statement)
        await fetch(
            'INSERT INTO "schema_migration" ("name", "applied_at") VALUES ({}, {})', (name, "x"), fresh_engine
        )
    insert = (
        'INSERT INTO "audit_log" ("action", "entity", "details", "prev_hash", "row_hash") '
        "VALUES ({}, {}, {}, {}, {})"
    )
    await fetch(insert, ("a", "e/1", '{"k": 1}', "0" * 64, "1" * 64), fresh_engine)
    await fetch(insert, ("b", "e/2", "{}", "1" * 64, "2" * 64), fresh_engine)
    before = await fetch(
        'SELECT "id", "action", "entity", "prev_hash", "row_hash" FROM "audit_log" ORDER BY "id"',
        (),
        fresh_engine,
    )

    # m0007 and whatever came after it
    assert (await migrate(fresh_engine))[0] == "m0007_audit_row_hash_not_unique"

    after = await fetch(
        'SELECT "id", "action", "entity", "prev_hash", "row_hash" FROM "audit_log" ORDER BY "id"',
        (),
        fresh_engine,
    )
    assert after == before
    # the same digest twice is no longer refused (the chain, not an index, is the integrity rule)
    await fetch(insert, ("c", "e/3", "{}", "2" * 64, "2" * 64), fresh_engine)
    ids = [row["id"] for row in await fetch('SELECT "id" FROM "audit_log" ORDER BY "id"', (), fresh_engine)]
    assert len(ids) == 3
    assert ids[2] > ids[1]


async def test_m0013_drops_the_dead_columns_and_keeps_the_rows(fresh_engine: Engine[Any]) -> None:
    """m0013 drops ``photo.rejected_reason`` (never used) from a table that holds rows, and the band indexes
    become (band, phash): the rows and their other columns survive (``media_upload.offset`` stays: the S3
    spool keeps its offset there)."""
    from backend.migrations import LEDGER_DDL, statements_for

    await fresh_engine.run_ddl(LEDGER_DDL)
    for module in migration_modules():
        name = module.__name__.rsplit(".", 1)[-1]
        if name >= "m0013":
            break
        for statement in statements_for(module, fresh_engine):
            await fresh_engine.run_ddl(statement)
        await fetch(
            'INSERT INTO "schema_migration" ("name", "applied_at") VALUES ({}, {})', (name, "x"), fresh_engine
        )
    upload, photo, inspection = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await fetch(
        'INSERT INTO "media_upload" ("id", "photo_id", "sha256", "size", "offset", "spool_path", "user_id", '
        '"created_at_ms", "expires_at_ms") VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})',
        (upload, photo, "a" * 64, 10, 0, "/spool/x", uuid.uuid4(), 1, 2),
        fresh_engine,
    )
    await fetch(
        'INSERT INTO "photo" ("id", "inspection_id", "item_code", "sha256", "size", "mime", "rejected_reason") '
        "VALUES ({}, {}, {}, {}, {}, {}, {})",
        (photo, inspection, "1.1.1", "a" * 64, 10, "image/jpeg", None),
        fresh_engine,
    )

    assert await migrate(fresh_engine) == [
        m.__name__.rsplit(".", 1)[-1] for m in migration_modules() if m.__name__.rsplit(".", 1)[-1] >= "m0013"
    ]
    schema = await schema_of(fresh_engine)
    assert "offset" in schema["media_upload"]
    assert "rejected_reason" not in schema["photo"]
    uploads = await fetch('SELECT "size", "spool_path" FROM "media_upload"', (), fresh_engine)
    assert [dict(row) for row in uploads] == [{"size": 10, "spool_path": "/spool/x"}]
    photos = await fetch('SELECT "item_code", "sha256" FROM "photo"', (), fresh_engine)
    assert [dict(row) for row in photos] == [{"item_code": "1.1.1", "sha256": "a" * 64}]
