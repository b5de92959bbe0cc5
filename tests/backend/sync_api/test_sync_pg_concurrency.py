"""PostgreSQL concurrency: 8 connections push to the same inspections while 4 others pull.

Every note added is a new row whose version is its commit's inspection version. A pull page that moves a
cookie from P to N must carry every note committed with a version in (P, N]: if versions could commit out of
order (a version taken without the inspection row lock), a puller would move past a version whose
transaction had not committed yet and miss that note forever. Pushes touch the inspections in random orders
inside a batch, so a lock taken in any other order than sorted would deadlock."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from piccolo.engine.postgres import PostgresEngine

from backend.accounts.services import user_name_rows
from backend.audit.services import record_many, verify_chain
from backend.db import bind_engine, write_tx
from backend.programme.returns import inspection_opinions
from backend.registry.services import facility_rows
from backend.settings import Settings
from backend.sync_api.rules import BackendStandardRules
from backend.tables_index import TABLES
from media.uploads import arrived_blobs_held, stored_blobs_held
from sync.api import PushContext, push
from sync.context import Caller
from sync.protocol import Limits, PullResponse, PutOp
from sync.pull import PullContext, pull
from sync.pull_cookie import decode_cookie
from tests.backend.support import new_inspections

WRITERS = 8
PULLERS = 4
PUSHES = 12
ITEMS = ["1.1.1", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "2.1.1"]


# Row locks and out-of-order commits are a PostgreSQL matter: SQLite has one writer.
@pytest.mark.parametrize("db_kind", ["postgres"])
async def test_concurrent_pushes_never_leave_a_cursor_gap(
    app: Litestar, settings: Settings, demo: dict[str, Any], db_kind: str
) -> None:
    engine = PostgresEngine(config={"dsn": settings.database_url})
    await engine.start_connection_pool(min_size=WRITERS + PULLERS, max_size=WRITERS + PULLERS + 2)
    bind_engine(engine, TABLES)
    try:
        await _run(engine, demo)
    finally:
        bind_engine(app.state.engine, TABLES)
        await engine.close_connection_pool()


async def _run(engine: PostgresEngine, demo: dict[str, Any]) -> None:
    inspections = [demo["review_inspection"], *await new_inspections(demo, 2)]  # on the engine bound above
    caller = Caller(user_id=demo["inspectors"][0], role="admin", readable=None, writable=None)
    push_ctx = PushContext(
        engine=engine,
        transaction=lambda: write_tx(engine),
        rules=BackendStandardRules(),
        audit=record_many,
        blobs_stored=stored_blobs_held,
        blobs_arrived=arrived_blobs_held,
    )
    pull_ctx = PullContext(
        engine=engine,
        limits=Limits(max_mutations=500, max_body_bytes=1 << 21),
        facilities=facility_rows,
        opinions=inspection_opinions,
        users=user_name_rows,
    )
    committed: dict[str, tuple[str, int]] = {}  # note id -> (inspection, version)
    done = asyncio.Event()

    async def writer(n: int) -> None:
        rng = random.Random(n)
        client = f"writer-{n}"
        next_id = 1
        for _ in range(PUSHES):
            mutations: list[dict[str, Any]] = []
            notes: dict[int, str] = {}
            for _ in range(rng.randint(3, 12)):
                inspection = str(rng.choice(inspections))
                if rng.random() < 0.5:
                    note = str(uuid.uuid4())
                    notes[next_id] = note
                    args = {
                        "inspectionId": inspection,
                        "itemCode": rng.choice(ITEMS),
                        "noteId": note,
                        "text": "t",
                    }
                    mutations.append({"id": next_id, "name": "addNote", "args": args})
                else:
                    args = {
                        "inspectionId": inspection,
                        "itemCode": rng.choice(ITEMS),
                        "field": "value",
                        "value": rng.choice("ABCD"),
                        "baseVersion": 10**9,
                    }
                    mutations.append({"id": next_id, "name": "setAnswer", "args": args})
                next_id += 1
            body = msgspec.json.encode(
                {"protocolVersion": 1, "clientGroupId": client, "clientId": client, "mutations": mutations}
            )
            answer = await push(body, caller=caller, ctx=push_ctx)
            for result in answer.results:
                assert result.status == "applied", result
                if result.id in notes:
                    assert result.version is not None
                    mutation = next(m for m in mutations if m["id"] == result.id)
                    committed[notes[result.id]] = (mutation["args"]["inspectionId"], result.version)

    pages: list[list[tuple[dict[str, int], dict[str, int], set[str]]]] = [[] for _ in range(PULLERS)]

    async def puller(n: int) -> None:
        cookie: str | None = None
        seen: dict[str, int] = {}
        while True:
            finished = done.is_set()
            body = msgspec.json.encode({"protocolVersion": 1, "clientGroupId": f"p{n}", "cookie": cookie})
            page: PullResponse = await pull(body, caller=caller, ctx=pull_ctx)
            state = decode_cookie(page.cookie)
            assert state is not None
            after = {iid: v for iid, (v, _) in state.items()}
            notes = {
                op.key.removeprefix("note/")
                for op in page.patch
                if isinstance(op, PutOp) and op.key.startswith("note/")
            }
            pages[n].append((dict(seen), after, notes))
            seen, cookie = after, page.cookie
            if finished and not page.has_more:
                return
            await asyncio.sleep(0)

    async def writers() -> None:
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        done.set()

    await asyncio.wait_for(asyncio.gather(writers(), *(puller(n) for n in range(PULLERS))), timeout=240)

    assert len(committed) > 100
    for n in range(PULLERS):
        delivered: set[str] = set()
        for before, after, notes in pages[n]:
            for note, (inspection, version) in committed.items():
                if before.get(inspection, 0) < version <= after.get(inspection, 0):
                    assert note in notes, f"puller {n} moved past version {version} without note {note}"
            delivered |= notes
        assert delivered == set(committed)
        assert len(pages[n]) > 3  # the pullers really ran while the writers wrote
    assert await verify_chain() == (True, None)
