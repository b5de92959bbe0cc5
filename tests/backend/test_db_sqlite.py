"""The SQLite engine's idle connections (backend/db_sqlite.py), opened by the app's lifespan."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from backend.db import fetch, prepare_engine, read_fetch, read_tx, write_tx
from backend.db_sqlite import InlineReaders, PooledSQLiteEngine, close_pool, open_pool


@pytest.fixture
def engine(tmp_path: Path) -> PooledSQLiteEngine:
    return PooledSQLiteEngine(path=str(tmp_path / "pool.sqlite"), timeout=30)


async def _threads_back_to(count: int) -> int:
    for _ in range(200):  # aiosqlite's (non-daemon) threads end just after close() returns
        if threading.active_count() <= count:
            break
        await asyncio.sleep(0.01)
    return threading.active_count()


async def test_queries_and_transactions_reuse_idle_connections(engine: PooledSQLiteEngine) -> None:
    before = threading.active_count()
    pool = await open_pool(engine)
    assert pool is not None
    try:
        await fetch("CREATE TABLE probe (n INTEGER PRIMARY KEY)", engine=engine)
        # a write outside a transaction is committed (another connection sees it)
        await fetch("INSERT INTO probe (n) VALUES ({})", [1], engine=engine)
        async with write_tx(engine) as tx:
            first = tx.connection
            await fetch("INSERT INTO probe (n) VALUES ({})", [2], engine=engine)
        async with write_tx(engine) as tx:
            assert tx.connection is first  # given back, then borrowed again
        with pytest.raises(RuntimeError):
            await _insert_then_fail(engine)
        # a failing statement: the error reaches the caller and its connection is not handed out again
        with pytest.raises(sqlite3.IntegrityError):
            await fetch("INSERT INTO probe (n) VALUES ({})", [1], engine=engine)
        other = sqlite3.connect(engine.path)
        try:
            assert [n for (n,) in other.execute("SELECT n FROM probe ORDER BY n")] == [1, 2]
        finally:
            other.close()
        # several at once: each query has a connection of its own for its duration
        results = await asyncio.gather(
            *(fetch("SELECT COUNT(*) AS c FROM probe", engine=engine) for _ in range(8))
        )
        assert all(r == [{"c": 2}] for r in results)
        # the connections past max_idle were closed; their threads end just after
        assert await _threads_back_to(before + pool.max_idle) <= before + pool.max_idle
    finally:
        await close_pool(pool)
    assert engine.pool is None
    assert await _threads_back_to(before) == before


async def test_without_a_pool_the_engine_is_piccolos(engine: PooledSQLiteEngine) -> None:
    before = threading.active_count()
    await fetch("CREATE TABLE probe (n INTEGER)", engine=engine)
    async with write_tx(engine):
        await fetch("INSERT INTO probe (n) VALUES ({})", [1], engine=engine)
    assert await fetch("SELECT n FROM probe", engine=engine) == [{"n": 1}]
    assert await _threads_back_to(before) == before  # nothing kept open


async def test_a_pool_of_another_loop_is_not_used(engine: PooledSQLiteEngine) -> None:
    pool = await open_pool(engine)
    assert pool is not None
    try:
        await fetch("CREATE TABLE probe (n INTEGER)", engine=engine)

        def elsewhere() -> list[dict[str, int]]:
            return asyncio.run(fetch("SELECT COUNT(*) AS c FROM probe", engine=engine))

        assert await asyncio.to_thread(elsewhere) == [{"c": 0}]
    finally:
        await close_pool(pool)


async def _insert_then_fail(engine: PooledSQLiteEngine) -> None:
    async with write_tx(engine):
        await fetch("INSERT INTO probe (n) VALUES ({})", [3], engine=engine)
        raise RuntimeError("rolled back")


async def test_read_transactions_run_inline_and_refuse_writes(engine: PooledSQLiteEngine) -> None:
    """read_tx/read_fetch (the pull, the token lookup): query-only connections on the loop's own thread, one
    snapshot, no new thread, and a write fails at once instead of waiting for the write lock."""
    await prepare_engine(engine)  # WAL, as the app's lifespan sets it: readers never block the writer
    pool = await open_pool(engine)
    assert pool is not None
    try:
        await fetch("CREATE TABLE probe (n INTEGER PRIMARY KEY, at TIMESTAMPTZ)", engine=engine)
        await fetch("INSERT INTO probe (n, at) VALUES ({}, {})", [1, "2026-12-03 10:00:00"], engine=engine)
        threads = threading.active_count()
        async with read_tx(engine) as tx:
            assert tx.connection.raw is not None  # an InlineConnection
            assert await fetch("SELECT n FROM probe", engine=engine) == [{"n": 1}]
            # a write committed meanwhile by another connection is not in this snapshot
            other = sqlite3.connect(engine.path)
            try:
                other.execute("INSERT INTO probe (n) VALUES (2)")
                other.commit()
            finally:
                other.close()
            assert await fetch("SELECT COUNT(*) AS c FROM probe", engine=engine) == [{"c": 1}]
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await fetch("INSERT INTO probe (n) VALUES ({})", [3], engine=engine)
        rows = await read_fetch("SELECT n, at FROM probe WHERE n = {}", [1], engine=engine)
        assert rows[0]["at"].year == 2026  # the declared types are converted as on the other connections
        assert await read_fetch("SELECT COUNT(*) AS c FROM probe", engine=engine) == [{"c": 2}]
        assert threading.active_count() <= threads  # no connection thread for the reads
    finally:
        await close_pool(pool)


async def test_inline_readers_keep_what_the_pool_keeps(engine: PooledSQLiteEngine) -> None:
    """Both sources give a connection back by one rule (IdleConnections.release): kept while there is room,
    closed when its query failed, when it is still in a transaction, or once the source is closed."""
    readers = InlineReaders(engine, max_idle=2)
    connections = [await readers.acquire() for _ in range(4)]
    await readers.release(connections[0], reusable=False)
    connections[1].raw.execute("BEGIN")
    await readers.release(connections[1], reusable=True)
    await readers.release(connections[2], reusable=True)
    await readers.release(connections[3], reusable=True)
    assert readers.idle_count == 2
    assert await readers.acquire() is connections[3]
    for closed in connections[:2]:
        with pytest.raises(sqlite3.ProgrammingError):
            closed.raw.execute("SELECT 1")
    readers.close()
    assert readers.idle_count == 0
    with pytest.raises(sqlite3.ProgrammingError):
        connections[2].raw.execute("SELECT 1")
    await readers.release(connections[3], reusable=True)  # after close: closed, not kept
    assert readers.idle_count == 0
