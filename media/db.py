"""Transactions for media's own writes (media does not import backend; same rules as backend.db)."""

from __future__ import annotations

from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


def write_tx(engine: Engine[Any]) -> Any:
    """``BEGIN IMMEDIATE`` on SQLite (writers queue on the busy timeout); a plain transaction on PostgreSQL.

    Piccolo nests: inside an open transaction this joins it instead of starting another.
    """
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def is_postgres(engine: Engine[Any]) -> bool:
    return isinstance(engine, PostgresEngine)
