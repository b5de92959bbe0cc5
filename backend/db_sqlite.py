"""Piccolo's SQLite engine with idle connections kept for reuse, and one trip to a connection's thread per
query instead of three or four.

Piccolo opens a new aiosqlite connection for every query outside a transaction and for every transaction: a
new thread, a file open and a PRAGMA, about a millisecond each, several times per request (an upload's create
step opened six). Once the app's lifespan opens a :class:`ConnectionPool` for its loop, queries and
transactions borrow an idle connection instead, exclusively until they end, and give it back. Without a pool
(CLI, scripts, tests without a lifespan) the engine behaves exactly like Piccolo's.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Protocol

from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table


class InlineConnection:
    """A query-only sqlite3 connection used on the event loop's own thread, with aiosqlite's methods.

    For the short reads of the sync path (a pull, a token lookup): each statement through aiosqlite is a trip
    to its thread and back (a queue, a wake-up, a future, the loop's self-pipe), which cost more CPU than the
    statement itself. A reader in WAL mode never waits for a lock, and ``query_only`` turns any write into an
    error instead of a wait on the write lock, so the loop is never held by another writer."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    async def execute(self, sql: str, parameters: Any = ()) -> None:
        self.raw.execute(sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list[Any]:
        return self.raw.execute(sql, parameters).fetchall()

    async def close(self) -> None:
        self.raw.close()


class InlineWriter:
    """The sync pushes' held writer connection (``backend.db.HeldWriter``), with aiosqlite's methods: statements
    run on the event loop's own thread while it holds SQLite's write lock; what may wait runs on a thread of
    its own.

    A push is a dozen short statements; through aiosqlite each was a trip to the connection's thread and back
    (a queue, a wake-up, a future, the loop's self-pipe), costing more CPU than the statement. Once ``BEGIN
    IMMEDIATE`` has taken the write lock, no statement of the transaction waits for another connection (WAL
    readers never block a writer), so they run inline. ``BEGIN`` (it waits on the busy timeout while another
    connection writes) and ``COMMIT`` (the fsync, and a checkpoint now and then) still go to the thread, as
    does anything outside a transaction."""

    def __init__(self, raw: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self.raw = raw
        self.thread = thread

    @classmethod
    async def open(cls, engine: SQLiteEngine) -> InlineWriter:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

        def connect() -> sqlite3.Connection:
            # used by two threads in turn, never at once: the loop's and ``thread``
            raw: sqlite3.Connection = sqlite3.connect(
                **{**engine.connection_kwargs, "check_same_thread": False}
            )
            raw.row_factory = dict_factory
            raw.execute("PRAGMA foreign_keys = 1")
            return raw

        try:
            raw = await asyncio.get_running_loop().run_in_executor(thread, connect)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(raw, thread)

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def _inline(self, sql: str) -> bool:
        if not self.raw.in_transaction:
            return False  # no write lock held: the statement may wait for it
        return not sql.lstrip()[:6].upper().startswith(("BEGIN", "COMMIT", "END"))

    async def _on_thread(self, call: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.thread, call, *args)

    async def execute(self, sql: str, parameters: Any = ()) -> None:
        if self._inline(sql):
            self.raw.execute(sql, parameters)
        else:
            await self._on_thread(self.raw.execute, sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list[Any]:
        if self._inline(sql):
            return self.raw.execute(sql, parameters).fetchall()
        rows: list[Any] = await self._on_thread(lambda: self.raw.execute(sql, parameters).fetchall())
        return rows

    async def executemany(self, sql: str, rows: Any) -> None:
        if self._inline(sql):
            self.raw.executemany(sql, rows)
        else:
            await self._on_thread(self.raw.executemany, sql, rows)

    async def close(self) -> None:
        try:
            await self._on_thread(self.raw.close)
        finally:
            self.thread.shutdown(wait=False)


class IdleConnections:
    """Connections of one event loop kept for reuse, at most ``max_idle``: a connection whose query failed, or
    that is still in a transaction, is never handed out again (a :class:`ConnectionSource`'s release)."""

    def __init__(self, max_idle: int) -> None:
        self.max_idle = max_idle
        self._idle: list[Any] = []
        self._closed = False

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    async def release(self, connection: Any, *, reusable: bool) -> None:
        if (
            reusable
            and not self._closed
            and len(self._idle) < self.max_idle
            and not connection.in_transaction
        ):
            self._idle.append(connection)
            return
        await connection.close()

    def _drain(self) -> list[Any]:
        """Take no more back; the idle connections, for the caller to close."""
        self._closed = True
        idle, self._idle = self._idle, []
        return idle


class InlineReaders(IdleConnections):
    """Idle :class:`InlineConnection` s of one event loop (a :class:`ConnectionSource`)."""

    def __init__(self, engine: SQLiteEngine, max_idle: int = 4) -> None:
        super().__init__(max_idle)
        self.engine = engine

    async def acquire(self) -> InlineConnection:
        if self._idle:
            idle: InlineConnection = self._idle.pop()
            return idle
        raw = sqlite3.connect(**{**self.engine.connection_kwargs, "timeout": 5})
        raw.row_factory = dict_factory
        raw.execute("PRAGMA query_only = 1")
        return InlineConnection(raw)

    def close(self) -> None:
        for connection in self._drain():
            connection.raw.close()


class ConnectionPool(IdleConnections):
    """Idle connections of one event loop; closed by the lifespan (aiosqlite's threads are not daemons)."""

    def __init__(self, engine: PooledSQLiteEngine, max_idle: int = 4) -> None:
        super().__init__(max_idle)
        self.engine = engine
        self.loop = asyncio.get_running_loop()
        self.readers = InlineReaders(engine)

    async def acquire(self) -> Any:
        if self._idle:
            return self._idle.pop()
        return await self.engine.get_connection()

    async def close(self) -> None:
        self.readers.close()
        for connection in self._drain():
            await connection.close()


class ConnectionSource(Protocol):
    """Where a :class:`BorrowedTransaction` gets its connection and gives it back."""

    async def acquire(self) -> Any: ...

    async def release(self, connection: Any, *, reusable: bool) -> None: ...


class BorrowedTransaction(SQLiteTransaction):
    """A transaction on a borrowed connection, given back (not closed) at the end; a connection whose BEGIN,
    COMMIT or ROLLBACK failed is given back as not reusable."""

    __slots__ = ("_source",)

    def __init__(self, source: ConnectionSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._source = source

    async def get_connection(self) -> Any:
        return await self._source.acquire()

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            await self.connection.execute(f"BEGIN {self.transaction_type.value}")
        except BaseException:
            await self._source.release(self.connection, reusable=False)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._parent:
            return exception is None
        reusable = False
        try:
            if exception:
                if not self._rolled_back:
                    await self.connection.execute("ROLLBACK")
                    self._rolled_back = True
            elif not self._committed and not self._rolled_back:
                await self.connection.execute("COMMIT")
                self._committed = True
            reusable = True
        finally:
            self.engine.current_transaction.reset(self.context)
            await self._source.release(self.connection, reusable=reusable)
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    """:class:`SQLiteEngine` whose queries and transactions run on its pool's idle connections."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool: ConnectionPool | None = None

    def _open_pool(self) -> ConnectionPool | None:
        pool = self.pool
        if pool is None or pool.loop is not asyncio.get_running_loop():
            return None
        return pool

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        try:
            pool = self._open_pool()
        except RuntimeError:  # no running loop: built outside async code
            pool = None
        if pool is None:
            return super().transaction(transaction_type=transaction_type, allow_nested=allow_nested)
        return BorrowedTransaction(
            pool, engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    def read_transaction(self) -> SQLiteTransaction:
        """A read-only transaction (one snapshot) on an inline connection of this loop's pool; without a pool,
        an ordinary deferred transaction. A write inside it fails ("attempt to write a readonly database")."""
        try:
            pool = self._open_pool()
        except RuntimeError:
            pool = None
        if pool is None:
            return self.transaction()
        return BorrowedTransaction(pool.readers, engine=self, transaction_type=TransactionType.deferred)

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        # Piccolo spends four hops to the connection's thread here (a PRAGMA that is a no-op inside a
        # transaction, execute, fetchall, close); every connection of this engine comes from get_connection,
        # which already set foreign keys on and the dict row factory.
        return list(await connection.execute_fetchall(query, args or []))

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        pool = self._open_pool()
        if pool is None:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await pool.acquire()
        reusable = False
        try:
            # one hop to the connection's thread for execute + fetchall; a write (sqlite3 opened an implicit
            # transaction for it) is committed as Piccolo commits it
            rows = list(await connection.execute_fetchall(query, args or []))
            if connection.in_transaction:
                await connection.commit()
            reusable = True
            return rows
        finally:
            await pool.release(connection, reusable=reusable)


async def open_pool(engine: Any) -> ConnectionPool | None:
    """Called by the app's lifespan on its loop; ``None`` for another kind of engine."""
    if not isinstance(engine, PooledSQLiteEngine):
        return None
    engine.pool = ConnectionPool(engine)
    return engine.pool


async def close_pool(pool: ConnectionPool | None) -> None:
    if pool is None:
        return
    if pool.engine.pool is pool:
        pool.engine.pool = None
    await pool.close()
