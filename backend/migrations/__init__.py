"""Schema migrations: reviewed DDL for PostgreSQL and SQLite, applied forwards in file order.

Each ``mNNNN_<name>.py`` module defines ``POSTGRES`` and ``SQLITE`` (lists of statements) and ``TABLES``
(table name -> column names it leaves behind, read by the generator). ``scripts/make_migration.py``
writes a new module from the Piccolo tables against a live PostgreSQL; a person reviews and commits it.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

from backend.db import write_tx

LEDGER_DDL = (
    'CREATE TABLE IF NOT EXISTS "schema_migration" '
    '("name" VARCHAR(200) PRIMARY KEY NOT NULL, "applied_at" VARCHAR(40) NOT NULL)'
)


def migration_modules() -> list[ModuleType]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("m"))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def statements_for(module: ModuleType, engine: Engine[Any]) -> list[str]:
    key = "SQLITE" if isinstance(engine, SQLiteEngine) else "POSTGRES"
    statements: list[str] = getattr(module, key)
    return statements


async def applied_migrations(engine: Engine[Any]) -> set[str]:
    await engine.run_ddl(LEDGER_DDL)
    rows = await engine.run_ddl('SELECT "name" FROM "schema_migration"')
    return {row["name"] for row in rows or []}


async def migrate(engine: Engine[Any]) -> list[str]:
    """Apply every migration not yet applied; each in its own transaction. Returns the names applied."""
    from datetime import UTC, datetime

    from piccolo.querystring import QueryString

    done = await applied_migrations(engine)
    applied: list[str] = []
    for module in migration_modules():
        name = module.__name__.rsplit(".", 1)[-1]
        if name in done:
            continue
        async with write_tx(engine):
            for statement in statements_for(module, engine):
                await engine.run_ddl(statement)
            await engine.run_querystring(
                QueryString(
                    'INSERT INTO "schema_migration" ("name", "applied_at") VALUES ({}, {})',
                    name,
                    datetime.now(UTC).isoformat(),
                )
            )
        applied.append(name)
    return applied
