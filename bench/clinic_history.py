"""A clinic's first pull after 3 years of self-assessments (issue 23, "pull at scale"), in process.

    .venv/bin/python bench/clinic_history.py [--db sqlite|postgres] [--years 3] [--pulls 40] [--edits 3]

Builds the data set through the sync protocol itself, as the clinic's tablet would have written it: per year
one self-assessment (自评) of the demo clinic (``clinic1``, 城关镇卫生院) on the township standard, every graded
article answered (``--edits`` times, the last value stays), one note and four photos per article, an
improvement item (整改) for every fourth article with its owner, due date and status moved along. Then a
new device of the clinic pulls everything (``cookie: null``, every page) ``--pulls`` times; prints the wall
time per first pull (p50, p99, max), the CPU of this process per pull, the rows and pages. The app is
driven through ``httpx.ASGITransport`` (no sockets) and the answer is not decoded past its paging fields: the
times are the app's and httpx's. Then the engine alone, alternated in the same run: ``sync.pull.pull`` and the
encoding of its answer, with the rows built as JSON by the database (``encoded``, the server's way) and as
columns in Python (the reference); the CPU of each per pull (p50), and that both send the very same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sync_bench  # noqa: E402  (the township's articles, percentiles)
from scratch_store import in_process_settings, scratch_store  # noqa: E402

GRADES = "ABCD"


async def prepare(data_dir: Path, database_url: str, years: int) -> dict[str, Any]:
    """Migrate, load the demo, one self-assessment per year of the clinic, and a token for ``clinic1``."""
    from backend.db import bind_engine, make_engine, prepare_engine
    from backend.demo import load_demo
    from backend.migrations import migrate
    from backend.settings import Settings
    from backend.tables_index import TABLES

    engine = make_engine(Settings(data_dir=str(data_dir), database_url=database_url))
    bind_engine(engine, TABLES)
    await prepare_engine(engine)
    await migrate(engine)
    demo = await load_demo()
    return await sync_bench.clinic_years(years, demo["round"])


async def write_history(client: Any, setup: dict[str, Any], edits: int, rng: random.Random) -> int:
    """Every year's self-assessment written through pushes; returns the mutations sent."""
    for inspection in setup["inspections"]:
        for _ in range(edits):  # graded, then revised: the last value stays, the versions move on
            for item in setup["items"]:
                client.set_answer(inspection, item, "value", rng.choice(GRADES))
            await _flush(client)
        for n, item in enumerate(setup["items"]):
            client.add_note(inspection, item, f"{item}: 自评说明 {rng.randrange(10**6)}")
            for _ in range(4):
                client.add_photo(inspection, item, secrets.token_hex(32), rng.randrange(200_000, 3_000_000))
            if n % 4 == 0:
                improvement = client.create_improvement(inspection, item, f"{item} 的差距", "soon")
                client.set_improvement_field(improvement, "owner", "院长")
                client.set_improvement_field(improvement, "dueDate", "2026-06-30")
                client.set_improvement_status(improvement, "in_progress")
        await _flush(client)
    return int(client.next_id) - 1


async def _flush(client: Any) -> None:
    await client.push()
    assert not [m for m in client.pending if m.id > client.acked], "a push was lost in process"
    await client.pull()  # the device sees its versions (the next edit's base version)


class _Page(msgspec.Struct, rename="camel"):
    """Only what paging needs: the patch itself is left undecoded (the time is the server's, not a client's)."""

    cookie: str | None
    has_more: bool


async def first_pull(http: Any, headers: dict[str, str]) -> int:
    """A new device's first pull (cookie null, a new client group), every page; returns the pages."""
    group, cookie, pages = str(uuid.uuid4()), None, 0
    while True:
        body = msgspec.json.encode({"protocolVersion": 1, "clientGroupId": group, "cookie": cookie})
        response = await http.post("/api/sync/pull", content=body, headers=headers)
        assert response.status_code == 200, response.text
        page = msgspec.json.decode(response.content, type=_Page)
        pages += 1
        if not page.has_more:
            return pages
        cookie = page.cookie


async def measure(args: argparse.Namespace, data_dir: Path, database_url: str) -> dict[str, Any]:
    import httpx

    from backend.app import create_app
    from sync.client import HttpxTransport, SyncClient

    setup = await prepare(data_dir, database_url, args.years)
    app = create_app(in_process_settings(data_dir, database_url))
    rng = random.Random(7)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as http:
            writer = SyncClient(HttpxTransport(http, setup["headers"]))
            began = time.perf_counter()
            mutations = await write_history(writer, setup, args.edits, rng)
            built = time.perf_counter() - began
            walls: list[float] = []
            cpus: list[float] = []
            rows = pages = 0
            reader = SyncClient(HttpxTransport(http, setup["headers"]))
            rows = sum(len(page.patch) for page in await reader.pull())  # what a device receives
            headers = {**setup["headers"], "content-type": "application/json"}
            for _ in range(args.pulls):
                started, cpu = time.perf_counter(), time.process_time()
                pages = await first_pull(http, headers)
                walls.append((time.perf_counter() - started) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
            engine = await engine_pulls(app, setup["headers"], args.pulls)
    return {
        "mutations": mutations,
        "build_s": built,
        "rows": rows,
        "pages": pages,
        "p50": sync_bench._pct(walls, 50),
        "p99": sync_bench._pct(walls, 99),
        "max": max(walls),
        "cpu_p50": sync_bench._pct(cpus, 50),
        **engine,
    }


async def engine_pulls(app: Any, headers: dict[str, str], pulls: int) -> dict[str, float]:
    """The first pull's page in the engine alone (no HTTP), encoded and by columns alternated: CPU per pull."""
    import dataclasses

    from backend.accounts.services import user_for_token
    from backend.sync_api.services import caller_source, pull_context
    from sync.protocol import Limits
    from sync.pull import pull

    user = await user_for_token(headers["Authorization"].split()[1])
    assert user is not None
    caller = caller_source(user, with_readable=True, with_writable=False)
    ctx = pull_context(hooks=app.state.hooks, limits=Limits(max_mutations=500, max_body_bytes=1 << 20))
    body = msgspec.json.encode({"protocolVersion": 1, "clientGroupId": "engine"})
    cpus: dict[bool, list[float]] = {True: [], False: []}
    sent: dict[bool, bytes] = {}
    for _ in range(pulls):
        for encoded in (True, False):
            cpu = time.process_time()
            page = await pull(body, caller=caller, ctx=dataclasses.replace(ctx, encoded=encoded))
            sent[encoded] = msgspec.json.encode(page)
            cpus[encoded].append((time.process_time() - cpu) * 1000)
    assert sent[True] == sent[False], "the encoded rows differ from the columns' (sync.pull_rows)"
    return {
        "engine_encoded": sync_bench._pct(cpus[True], 50),
        "engine_columns": sync_bench._pct(cpus[False], 50),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--pulls", type=int, default=40)
    parser.add_argument("--edits", type=int, default=3)
    args = parser.parse_args()
    with scratch_store(args.db, "clinic") as (data_dir, database_url):
        r = asyncio.run(measure(args, data_dir, database_url))
    print(
        f"RESULT {args.db} years={args.years} mutations={r['mutations']} built_in={r['build_s']:.1f}s "
        f"rows={r['rows']} pages={r['pages']} first_pull_ms p50={r['p50']:.1f} p99={r['p99']:.1f} "
        f"max={r['max']:.1f} cpu_p50={r['cpu_p50']:.1f} engine_cpu_p50 encoded={r['engine_encoded']:.2f} "
        f"columns={r['engine_columns']:.2f} load={os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
