"""The held SQLite writer connection used by sync pushes when the app's lifespan opened one."""

from __future__ import annotations

import asyncio
import threading

import pytest
from litestar import Litestar

from backend.db import close_held_writer, fetch, open_held_writer, push_tx, write_tx
from backend.db_sqlite import close_pool


# The held writer exists only for SQLite (PostgreSQL has a pool).
@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_push_tx_reuses_one_connection_and_closes_its_thread(app: Litestar, db_kind: str) -> None:
    engine = app.state.engine
    await close_pool(engine.pool)  # no idle connections of the app's pool among the threads counted here
    # by identity, not by count: an idle worker thread of an earlier test may end meanwhile
    before = set(threading.enumerate())
    writer = await open_held_writer(engine)
    assert writer is not None
    try:
        await fetch("CREATE TABLE held_probe (n INTEGER)")
        connections = []
        for n in range(2):
            async with push_tx() as tx:
                connections.append(tx.connection)
                await tx.connection.execute("INSERT INTO held_probe (n) VALUES (?)", [n])
        assert connections[0] is connections[1]
        with pytest.raises(RuntimeError):
            await _insert_then_fail()
        # still usable after a rollback, and a nested call joins the transaction
        async with push_tx() as tx, push_tx() as inner:
            assert inner is tx
        rows = await fetch("SELECT n FROM held_probe ORDER BY n")
        assert [r["n"] for r in rows] == [0, 1]
    finally:
        await close_held_writer(writer)
    for _ in range(100):  # aiosqlite's (non-daemon) thread ends just after close() returns
        if set(threading.enumerate()) <= before:
            break
        await asyncio.sleep(0.01)
    assert set(threading.enumerate()) <= before
    async with push_tx() as tx:  # without a held writer: a connection per transaction, as write_tx
        assert type(tx) is type(write_tx())


async def _settled_thread_count() -> int:
    """The thread count once it has stopped moving (threads of connections closed just before still ending)."""
    count, steady = threading.active_count(), 0
    for _ in range(300):
        await asyncio.sleep(0.01)
        now = threading.active_count()
        steady = steady + 1 if now == count else 0
        count = now
        if steady >= 10:
            break
    return count


async def _insert_then_fail() -> None:
    async with push_tx() as tx:
        await tx.connection.execute("INSERT INTO held_probe (n) VALUES (?)", [99])
        raise RuntimeError("rolled back")
