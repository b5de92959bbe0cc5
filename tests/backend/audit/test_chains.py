"""The audit log as several chains (m0032): a client's entries extend the chain of its id, each chain is
verified on its own, and on PostgreSQL appends to two chains do not wait for each other."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from backend.audit.services import chain_for, chain_lock, record, record_many, verify_chain
from backend.audit.tables import AuditLog
from backend.db import fetch, write_tx
from backend.sync_api.rules import BackendStandardRules
from backend.sync_api.services import push_and_refresh
from media.uploads import arrived_blobs_held, stored_blobs_held
from sync.api import PushContext, push
from sync.context import AuditEntry, Caller
from tests.backend.support import HeldOpen, new_inspections, until_an_advisory_lock_waits


def _entry(client: str, n: int) -> AuditEntry:
    return AuditEntry(
        user_id="u",
        client_id=client,
        action="test.chain",
        entity=f"t/{client}/{n}",
        details={"n": n},
        hlc=None,
        mutation_id=n,
    )


def _clients(count: int) -> list[str]:
    """``count`` client ids whose chains all differ."""
    found: dict[int, str] = {}
    for n in itertools.count():
        found.setdefault(chain_for(f"device-{n}"), f"device-{n}")
        if len(found) == count:
            return list(found.values())
    raise AssertionError


def test_a_client_keeps_its_chain() -> None:
    # a stable hash (not Python's salted hash()): the same chain in every process
    assert chain_for("device-0") == 19  # sha256("device-0")[:4] % 32 + 1, fixed for good
    assert chain_for(None) == 0


async def _interleaved() -> tuple[list[str], list[dict[str, Any]]]:
    a, b = _clients(2)
    async with write_tx():
        await record(user_id=None, action="test.chain", entity="admin/1")
    for n in range(3):
        for client in (a, b):
            async with write_tx():
                await record_many([_entry(client, 2 * n), _entry(client, 2 * n + 1)])
    async with write_tx():
        await record(user_id=None, action="test.chain", entity="admin/2")
    rows = await fetch(
        "SELECT id, chain, entity, prev_hash, row_hash FROM audit_log WHERE action = 'test.chain' ORDER BY id"
    )
    return [a, b], rows


async def test_interleaved_chains_verify(app: Litestar, db_kind: str) -> None:
    (a, b), rows = await _interleaved()
    ca, cb = chain_for(a), chain_for(b)
    assert [r["chain"] for r in rows] == [0, *([ca, ca, cb, cb] * 3), 0]
    # a's second write links onto a's first, not onto b's rows written in between
    assert rows[5]["prev_hash"] == rows[2]["row_hash"]
    # the second admin entry (chain 0) onto the first
    assert rows[-1]["prev_hash"] == rows[0]["row_hash"]
    a_rows = [r for r in rows if r["chain"] == ca]
    assert all(later["prev_hash"] == earlier["row_hash"] for earlier, later in itertools.pairwise(a_rows))
    assert await verify_chain() == (True, None)


async def test_a_tampered_row_of_one_chain_is_found(app: Litestar, db_kind: str) -> None:
    (_, b), rows = await _interleaved()
    target = [r for r in rows if r["chain"] == chain_for(b)][1]["id"]
    await fetch("UPDATE audit_log SET entity = {} WHERE id = {}", ("forged", target))
    assert await verify_chain() == (False, target)


async def test_a_row_moved_to_another_chain_is_found(app: Litestar, db_kind: str) -> None:
    a, b = _clients(2)
    # a's only row comes first: moved to b's chain, it links there too (onto the genesis), only the chain
    # number hashed with it shows the move
    async with write_tx():
        await record_many([_entry(a, 0)])
    async with write_tx():
        await record_many([_entry(b, 0), _entry(b, 1)])
    [moved] = await AuditLog.select(AuditLog.id).where(AuditLog.client_id == a)
    await fetch("UPDATE audit_log SET chain = {} WHERE id = {}", (chain_for(b), moved["id"]))
    assert await verify_chain() == (False, moved["id"])


# Advisory locks are PostgreSQL's: SQLite has one writer.
@pytest.mark.parametrize("db_kind", ["postgres"])
async def test_pushes_of_clients_of_two_chains_do_not_wait_for_each_other(
    app: Litestar, demo: dict[str, Any], db_kind: str
) -> None:
    first_client, other_client = _clients(2)
    same_chain = next(
        f"twin-{n}" for n in itertools.count() if chain_for(f"twin-{n}") == chain_for(first_client)
    )
    inspections = await new_inspections(demo, 3)
    held = HeldOpen()

    async def audit(entries: list[AuditEntry]) -> None:
        await record_many(entries, locked=True)
        if entries[0].client_id == first_client:
            await held.hold()  # this push's transaction stays open, its chain's lock held

    ctx = PushContext(
        engine=app.state.engine,
        transaction=write_tx,
        rules=BackendStandardRules(),
        audit=audit,
        blobs_stored=stored_blobs_held,
        blobs_arrived=arrived_blobs_held,
        lock_first=chain_lock,
    )
    caller = Caller(user_id=demo["inspectors"][0], role="admin", readable=None, writable=None)

    def body(client: str, inspection: uuid.UUID) -> bytes:
        args = {
            "inspectionId": str(inspection),
            "itemCode": "1.1.1",
            "noteId": str(uuid.uuid4()),
            "text": "t",
        }
        mutation = {"id": 1, "name": "addNote", "args": args}
        return msgspec.json.encode(
            {"protocolVersion": 1, "clientGroupId": client, "clientId": client, "mutations": [mutation]}
        )

    first = asyncio.create_task(push(body(first_client, inspections[0]), caller=caller, ctx=ctx))
    await held.holding()
    # another chain: done while the first push holds its chain's lock
    other = await asyncio.wait_for(push(body(other_client, inspections[1]), caller=caller, ctx=ctx), 30)
    assert [r.status for r in other.results] == ["applied"]
    # the first push's chain: waits for it
    twin = asyncio.create_task(push(body(same_chain, inspections[2]), caller=caller, ctx=ctx))
    await until_an_advisory_lock_waits("a push of the same chain")
    assert not twin.done()
    held.release()
    await asyncio.gather(first, twin)
    chains = await fetch("SELECT client_id, chain FROM audit_log WHERE action = 'sync.addNote'")
    assert {r["client_id"]: r["chain"] for r in chains} == {
        c: chain_for(c) for c in (first_client, other_client, same_chain)
    }
    assert await verify_chain() == (True, None)


@pytest.mark.parametrize("db_kind", ["postgres"])
async def test_a_locked_append_after_a_rollback_chains_onto_the_real_head(
    app: Litestar, db_kind: str
) -> None:
    """A locked append starts from the head this process last wrote; a rolled-back append (or another
    process's) made that guess wrong, and the insert's guard sends it once more onto the real head."""
    [client] = _clients(1)
    async with write_tx():
        await record_many([_entry(client, 1)])

    async def rolled_back() -> None:
        async with write_tx():
            await record_many([_entry(client, 2)])
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError, match="undo"):
        await rolled_back()
    lock = chain_lock(client)
    assert lock is not None
    async with write_tx():
        await fetch("SELECT " + lock[0].replace("?", "{}"), lock[1])  # as the push's first statement takes it
        await record_many([_entry(client, 3)], locked=True)
    rows = await fetch(
        "SELECT entity, prev_hash, row_hash FROM audit_log WHERE action = 'test.chain' ORDER BY id"
    )
    assert [r["entity"] for r in rows] == [f"t/{client}/1", f"t/{client}/3"]
    assert rows[1]["prev_hash"] == rows[0]["row_hash"]
    assert await verify_chain() == (True, None)


@pytest.mark.parametrize("db_kind", ["postgres"])
async def test_a_push_appending_in_its_write_statement_onto_a_wrong_guess_chains_onto_the_real_head(
    app: Litestar, demo: dict[str, Any], db_kind: str
) -> None:
    """The push's entries go into its write statement onto the head this process last wrote to the chain; a
    rolled-back append made that guess wrong, and the statement's answer sends them once more onto the real
    head (``Appending.finish``)."""
    [client] = _clients(1)
    [inspection] = await new_inspections(demo, 1)
    caller = Caller(user_id=demo["inspectors"][0], role="admin", readable=None, writable=None)

    def body(n: int) -> bytes:
        args = {
            "inspectionId": str(inspection),
            "itemCode": "1.1.1",
            "noteId": str(uuid.uuid4()),
            "text": "t",
        }
        mutation = {"id": n, "name": "addNote", "args": args}
        return msgspec.json.encode(
            {"protocolVersion": 1, "clientGroupId": client, "clientId": client, "mutations": [mutation]}
        )

    await push_and_refresh(body(1), caller=caller, max_mutations=10)

    async def rolled_back() -> None:
        async with write_tx():
            await record_many([_entry(client, 1)])  # this process's guess for the chain: a row never kept
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError, match="undo"):
        await rolled_back()
    pushed = await push_and_refresh(body(2), caller=caller, max_mutations=10)
    assert [r.status for r in pushed.results] == ["applied"]
    rows = await fetch(
        "SELECT entity, prev_hash, row_hash FROM audit_log WHERE chain = {} ORDER BY id", [chain_for(client)]
    )
    assert [r["entity"].split("/")[0] for r in rows] == ["note", "note"]
    assert rows[1]["prev_hash"] == rows[0]["row_hash"]
    assert await verify_chain() == (True, None)
