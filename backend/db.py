"""Database binding: the engine comes from settings and is bound to every table in code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from backend.settings import Settings

_engine: Engine[Any] | None = None


def make_engine(settings: Settings) -> Engine[Any]:
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": settings.database_url})
    settings.data_path.mkdir(parents=True, exist_ok=True)
    # timeout is SQLite's busy timeout: writers queue instead of failing with "database is locked".
    return SQLiteEngine(path=str(settings.sqlite_path), timeout=30)


def all_tables() -> list[type[Table]]:
    """Every table of the app, in dependency order (referenced tables first)."""
    from backend.tables_index import TABLES

    return list(TABLES)


def bind_engine(engine: Engine[Any], tables: Iterable[type[Table]] | None = None) -> None:
    global _engine
    _engine = engine
    for table in all_tables() if tables is None else tables:
        table._meta.db = engine


def current_engine() -> Engine[Any]:
    if _engine is None:
        raise RuntimeError("no database engine bound: call bind_engine() (create_app does)")
    return _engine


def write_tx(engine: Engine[Any] | None = None) -> Any:
    """A write transaction: ``BEGIN IMMEDIATE`` on SQLite so concurrent writers queue on the busy timeout."""
    engine = engine or current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def prepare_engine(engine: Engine[Any]) -> None:
    """Per-database settings that persist in the file (WAL) or must be checked once."""
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def fetch(
    sql: str, args: Sequence[Any] = (), engine: Engine[Any] | None = None
) -> list[dict[str, Any]]:
    """Raw parameterised query; ``{}`` placeholders are Piccolo's and work on both databases."""
    rows: list[dict[str, Any]] = await (engine or current_engine()).run_querystring(_qs(sql, args))
    return rows


def _qs(sql: str, args: Sequence[Any]) -> Any:
    from piccolo.querystring import QueryString

    return QueryString(sql, *args)
