"""What an inspector's steady pull asks PostgreSQL, replayed (issue 23: main's pull p99 under the soak).

    .venv/bin/python bench/pull_replay.py [--repeats 300]

Sets up the soak's data (``sync_bench.prepare`` and 1,000 devices' teams), runs six cycles of one team in
process (each of the five devices a 20-mutation push, then a pull from its cookie; device 0 pulls last) and
captures every statement of device 0's last pull (its team's grading since its previous pull). Then:

* the same pull ``--repeats`` times through the app (``httpx.ASGITransport``): this process's CPU and the wall
  per pull;
* the captured statements replayed on one connection, prepared as asyncpg prepares them, ``--repeats`` times:
  the wall per pull and the PostgreSQL backend's CPU per pull (``/proc/<backend pid>/stat``).

Compare commits: copy it into each tree's ``bench/`` (it imports ``sync_bench`` from beside it, which puts
its tree first on the path) and run it there with this venv.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sync_bench  # noqa: E402  (the soak's set-up and devices)
from scratch_store import in_process_settings, scratch_store  # noqa: E402


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(data_dir: Path, url: str, repeats: int) -> None:
    import asyncpg
    import httpx
    from asyncpg.connection import Connection

    from backend.app import create_app

    setup = await sync_bench.prepare(data_dir, url, inspections=50)
    teams = await sync_bench.prepare_teams(data_dir, url, 1000, setup)
    app = create_app(in_process_settings(data_dir, url))
    captured: list[tuple[str, list[Any]]] = []
    capturing = False
    original = Connection._execute

    async def execute(self: Any, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        if capturing:
            captured.append((query, list(args)))
        return await original(self, query, args, *rest, **kwargs)

    Connection._execute = execute  # type: ignore[method-assign]
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            inspection, members = teams[7]
            devices = [
                sync_bench.Device(
                    client_id=str(uuid.uuid4()),
                    inspection=inspection,
                    items=[it for k, it in enumerate(setup["items"]) if k % 5 == slot],
                    headers=member,
                    rng=random.Random(slot),
                )
                for slot, member in enumerate(members)
            ]

            async def pull_body(device: Any) -> bytes:
                return msgspec.json.encode(
                    {"protocolVersion": 1, "clientGroupId": device.client_id, "cookie": device.cookie}
                )

            for _ in range(6):
                for device in devices:
                    pushed = await http.post(
                        "/api/sync/push", content=device.body(20), headers=device.headers
                    )
                    assert pushed.status_code == 200, pushed.text
                    if device is not devices[0]:
                        page = (
                            await http.post(
                                "/api/sync/pull", content=await pull_body(device), headers=device.headers
                            )
                        ).json()
                        device.cookie = page["cookie"]
                body = await pull_body(devices[0])
                capturing, captured[:] = True, []
                page = (await http.post("/api/sync/pull", content=body, headers=devices[0].headers)).json()
                capturing = False
                devices[0].cookie = page["cookie"]
            ops = len(page["patch"])
            cpus, walls = [], []
            for _ in range(repeats):  # the captured pull again (same cookie: the same page)
                cpu, started = time.process_time(), time.perf_counter()
                again = await http.post("/api/sync/pull", content=body, headers=devices[0].headers)
                walls.append((time.perf_counter() - started) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                assert len(again.json()["patch"]) == ops
    conn = await asyncpg.connect(url)
    try:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        statements = [(await conn.prepare(query), args) for query, args in captured]
        for _ in range(20):  # past PostgreSQL's first five custom plans
            for statement, args in statements:
                await statement.fetch(*args)
        replay: list[float] = []
        before = backend_cpu(pid)
        for _ in range(repeats):
            started = time.perf_counter()
            for statement, args in statements:
                await statement.fetch(*args)
            replay.append((time.perf_counter() - started) * 1000)
        backend = (backend_cpu(pid) - before) / repeats * 1000
    finally:
        await conn.close()
    print(
        f"RESULT ops={ops} statements={len(captured)} app: cpu_p50={sync_bench._pct(cpus, 50):.3f} ms "
        f"wall_p50={sync_bench._pct(walls, 50):.3f} ms; statements: wall_p50={sync_bench._pct(replay, 50):.3f} "
        f"p99={sync_bench._pct(replay, 99):.3f} ms backend_cpu={backend:.3f} ms per pull; "
        f"load={os.getloadavg()[0]:.1f}"
    )
    for query, _ in captured:
        print("   ", query[:140])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    with scratch_store("postgres", "replay") as (data_dir, database_url):
        asyncio.run(measure(data_dir, database_url, args.repeats))


if __name__ == "__main__":
    main()
