"""Database binding: the engine comes from settings and is bound to every table in code."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from backend.db_sqlite import BorrowedTransaction, InlineWriter, PooledSQLiteEngine
from backend.settings import Settings

_engine: Engine[Any] | None = None


def make_engine(settings: Settings) -> Engine[Any]:
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": settings.database_url})
    settings.data_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # timeout is SQLite's busy timeout: writers queue instead of failing with "database is locked".
    return PooledSQLiteEngine(path=str(settings.sqlite_path), timeout=30)


async def keep_session(connection: Any) -> None:
    """The PostgreSQL pool's reset of a released connection: nothing beyond what asyncpg always does (roll
    back an open transaction, drop listeners). Its default ``RESET ALL; CLOSE ALL; UNLISTEN *;
    pg_advisory_unlock_all()`` is one more round trip per transaction, for session state this app never sets
    (its advisory locks and ``SET LOCAL`` end with their transaction)."""


def pg_pool_options() -> dict[str, Any]:
    return {"min_size": 2, "max_size": 20, "reset": keep_session}


def bind_engine(engine: Engine[Any], tables: Iterable[type[Table]]) -> None:
    """Make ``engine`` the app's and every one of ``tables``' (all of them: ``backend.tables_index.TABLES``)."""
    global _engine
    _engine = engine
    for table in tables:
        table._meta.db = engine


def current_engine() -> Engine[Any]:
    if _engine is None:
        raise RuntimeError("no database engine bound: call bind_engine() (create_app does)")
    return _engine


def as_utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back naive, PostgreSQL aware."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def write_tx(engine: Engine[Any] | None = None) -> Any:
    """A write transaction: ``BEGIN IMMEDIATE`` on SQLite so concurrent writers queue on the busy timeout."""
    engine = engine or current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


class HeldWriter:
    """One long-lived SQLite connection for the sync push transactions of one event loop (opening a connection
    per transaction costs about a millisecond, a tenth of a push). Opened lazily, used by one transaction at a
    time (a :class:`~backend.db_sqlite.ConnectionSource` of one), closed by :meth:`close` (the app's lifespan):
    its thread is not a daemon. An :class:`~backend.db_sqlite.InlineWriter`: the push's statements run on the
    loop's thread once ``BEGIN IMMEDIATE`` holds the write lock."""

    def __init__(self, engine: SQLiteEngine) -> None:
        self.engine = engine
        self.loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        self._connection: Any = None

    async def acquire(self) -> Any:
        await self._lock.acquire()
        try:
            if self._connection is None:
                self._connection = await InlineWriter.open(self.engine)
        except BaseException:
            self._lock.release()
            raise
        return self._connection

    async def release(self, connection: Any, *, reusable: bool) -> None:
        try:
            if not reusable and self._connection is connection:
                self._connection = None
                await connection.close()  # a connection left mid-transaction is never reused
        finally:
            self._lock.release()

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await connection.close()


_held: HeldWriter | None = None


async def open_held_writer(engine: Engine[Any]) -> HeldWriter | None:
    """Called by the app's lifespan: sync pushes on this loop then share one SQLite connection."""
    global _held
    if not isinstance(engine, SQLiteEngine):
        return None
    _held = HeldWriter(engine)
    return _held


async def close_held_writer(writer: HeldWriter | None) -> None:
    global _held
    if writer is None:
        return
    if _held is writer:
        _held = None
    await writer.close()


def push_tx(engine: Engine[Any] | None = None) -> Any:
    """The sync push transaction: :func:`write_tx`, on the held SQLite connection when the lifespan opened
    one for this loop (without a lifespan, as in tests, a connection per transaction)."""
    engine = engine or current_engine()
    writer = _held
    if (
        writer is not None
        and writer.engine is engine
        and writer.loop is asyncio.get_running_loop()
        and engine.current_transaction.get() is None
    ):
        # BEGIN IMMEDIATE on the held connection; it stays open afterwards
        return BorrowedTransaction(writer, engine=engine, transaction_type=TransactionType.immediate)
    return write_tx(engine)


async def prepare_engine(engine: Engine[Any]) -> None:
    """Per-database settings that persist in the file (WAL) or must be checked once."""
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL")


def read_tx(engine: Engine[Any] | None = None) -> Any:
    """Short reads on the sync path, on one connection. SQLite: a read-only transaction (one snapshot) on a
    query-only connection used by the event loop's own thread (``db_sqlite.InlineConnection``: no trip to a
    connection thread per statement); a write inside it fails. PostgreSQL: :class:`PooledReads`."""
    engine = engine or current_engine()
    if isinstance(engine, PooledSQLiteEngine):
        return engine.read_transaction()
    if isinstance(engine, PostgresEngine):
        return PooledReads(engine)
    return engine.transaction()


class PooledReads(PostgresTransaction):
    """A pool connection held for a few reads, without ``BEGIN`` and ``COMMIT``: under PostgreSQL's READ
    COMMITTED (the app never sets another level) each statement of a transaction takes its own snapshot anyway,
    so a transaction of reads only added two round trips (a pull: 7 to 5). Not for writes: they would each
    commit on their own."""

    async def begin(self) -> None:
        return None

    async def commit(self) -> None:
        self._committed = True

    async def rollback(self) -> None:
        self._rolled_back = True


async def read_fetch(
    sql: str, args: Sequence[Any] = (), engine: Engine[Any] | None = None
) -> list[dict[str, Any]]:
    """:func:`fetch` for one short read outside a transaction: on SQLite in a :func:`read_tx` (inline)."""
    engine = engine or current_engine()
    if isinstance(engine, PooledSQLiteEngine) and engine.current_transaction.get() is None:
        async with read_tx(engine):
            return await fetch(sql, args, engine)
    return await fetch(sql, args, engine)


async def fetch(
    sql: str, args: Sequence[Any] = (), engine: Engine[Any] | None = None
) -> list[dict[str, Any]]:
    """Raw parameterised query; ``{}`` placeholders are Piccolo's and work on both databases."""
    rows: list[dict[str, Any]] = await (engine or current_engine()).run_querystring(_qs(sql, args))
    return rows


def _qs(sql: str, args: Sequence[Any]) -> Any:
    from piccolo.querystring import QueryString

    return QueryString(sql, *args)
