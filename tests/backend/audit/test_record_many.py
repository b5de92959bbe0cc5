"""Appends to the audit chain in one statement (record_many), chained onto the head as it stands under the
chain's lock."""

from __future__ import annotations

import asyncio

import pytest
from litestar import Litestar

from backend.audit.services import record_many, verify_chain
from backend.audit.tables import AuditLog
from backend.db import write_tx
from sync.context import AuditEntry
from tests.backend.support import HeldOpen, until_an_advisory_lock_waits


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        user_id="u",
        client_id="c",
        action="test.append",
        entity=f"t/{n}",
        details={"n": n},
        hlc=None,
        mutation_id=n,
    )


# PostgreSQL reads the head in the statement that takes the lock: a snapshot from before the lock was granted.
@pytest.mark.parametrize("db_kind", ["postgres"])
async def test_an_append_that_waited_for_the_lock_chains_onto_the_new_head(
    app: Litestar, db_kind: str
) -> None:
    held = HeldOpen()

    async def first() -> None:
        async with write_tx():
            await record_many([_entry(1)])
            await held.hold()

    async def second() -> None:
        await held.holding()
        async with write_tx():
            await record_many([_entry(2), _entry(3)])

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await held.holding()
    # the second append waits for the chain's lock (its head read: the old one)
    await until_an_advisory_lock_waits("the second append")
    held.release()
    await asyncio.gather(*tasks)

    rows = (
        await AuditLog.select(AuditLog.entity, AuditLog.prev_hash, AuditLog.row_hash)
        .where(AuditLog.action == "test.append")
        .order_by(AuditLog.id)
    )
    assert [r["entity"] for r in rows] == ["t/1", "t/2", "t/3"]
    assert rows[1]["prev_hash"] == rows[0]["row_hash"]
    assert await verify_chain() == (True, None)


async def test_many_entries_chain_in_order(app: Litestar, db_kind: str) -> None:
    async with write_tx():
        await record_many([_entry(n) for n in range(5)])
    async with write_tx():
        await record_many([_entry(n) for n in range(5, 8)])
    rows = (
        await AuditLog.select(AuditLog.entity).where(AuditLog.action == "test.append").order_by(AuditLog.id)
    )
    assert [r["entity"] for r in rows] == [f"t/{n}" for n in range(8)]
    assert await verify_chain() == (True, None)
