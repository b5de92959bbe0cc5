"""What must hold after every SIGKILL, and at the end of a run (read straight from the database and the disk)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine

from backend.db import fetch
from tests.faults.devices import ConflictPair, Device, NoteDevice


def sqlite_integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


async def audit_ids(engine: Engine[Any]) -> dict[str, Counter[int]]:
    rows = await fetch(
        'SELECT "client_id", "mutation_id" FROM "audit_log" WHERE "client_id" LIKE {}', ["fault-%"], engine
    )
    seen: dict[str, Counter[int]] = {}
    for row in rows:
        if row["mutation_id"] is not None:
            seen.setdefault(row["client_id"], Counter())[int(row["mutation_id"])] += 1
    return seen


async def last_ids(engine: Engine[Any]) -> dict[str, int]:
    rows = await fetch(
        'SELECT "client_id", "last_mutation_id" FROM "sync_client" WHERE "client_id" LIKE {}',
        ["fault-%"],
        engine,
    )
    return {r["client_id"]: int(r["last_mutation_id"]) for r in rows}


async def check_pushes(engine: Engine[Any], devices: list[Device], notes: list[NoteDevice]) -> None:
    """Every device's mutations on the server are exactly 1..lastMutationId, each once (audit), at least what
    the device saw acknowledged; every note of that prefix is there with its text and none after it (a push
    is all or nothing)."""
    last = await last_ids(engine)
    audited = await audit_ids(engine)
    for device in devices:
        client = device.sync.client_id
        done = last.get(client, 0)
        assert done >= device.sync.acked, f"{client}: acknowledged {device.sync.acked}, server has {done}"
        counts = audited.get(client, Counter())
        assert set(counts) == set(range(1, done + 1)), f"{client}: audited {sorted(counts)} vs 1..{done}"
        twice = [m for m, n in counts.items() if n != 1]
        assert not twice, f"{client}: mutations applied more than once: {twice}"
    rows = await fetch(
        'SELECT "id", "text", "client_id", "mutation_id" FROM "note_entry" WHERE "client_id" LIKE {}',
        ["fault-%"],
        engine,
    )
    stored = {uuid.UUID(str(r["id"])): (r["text"], r["client_id"], int(r["mutation_id"])) for r in rows}
    for device in notes:
        client = device.sync.client_id
        done = last.get(client, 0)
        for mutation_id, (note_id, text) in device.notes.items():
            if mutation_id <= done:
                assert stored.get(note_id) == (text, client, mutation_id), (
                    client,
                    mutation_id,
                    stored.get(note_id),
                )
            else:
                assert note_id not in stored, f"{client}: note of mutation {mutation_id} > {done} is stored"


async def check_conflicts(engine: Engine[Any], pair: ConflictPair) -> int:
    """One conflict per contested answer, holding both devices' values."""
    rows = await fetch(
        'SELECT "register_key", "candidates", "status" FROM "sync_conflict" WHERE "inspection_id" = {}',
        [pair.inspection],
        engine,
    )
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault(row["register_key"], []).append(row)
    for item, (va, vb) in pair.rounds.items():
        assert pair.statuses.get(item) == ["applied", "conflict"], (item, pair.statuses.get(item))
        found = [k for k in by_key if k.endswith(f"/{item}/value")]
        assert len(found) == 1, (item, pair.statuses.get(item), list(by_key))
        [conflict] = by_key[found[0]]  # exactly one conflict for the register
        candidates = json.loads(conflict["candidates"])
        values = Counter((c["value"], c.get("clientId")) for c in candidates)
        assert values[(va, pair.a.sync.client_id)] == 1, (item, candidates)
        assert values[(vb, pair.b.sync.client_id)] == 1, (item, candidates)
        assert conflict["status"] == "open", conflict
    return len(pair.rounds)
