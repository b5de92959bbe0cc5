"""Server CPU per device cycle (a 20-mutation push, then a pull from the device's cookie), in process.

    .venv/bin/python bench/sync_cycle.py [--db sqlite|postgres] [--devices 200] [--rounds 3] [--concurrency 8]
                                         [--gap 10.5]
                                         [--profile out.pstats] [--count-round-trips] [--server-cpu]

The app (``create_app``) is driven through raw ASGI calls (no HTTP client, no sockets) so that what is timed is
the app's own CPU: ``time.process_time()`` of this process (the event loop and SQLite's threads; PostgreSQL's
server work is not counted). Devices are teams of five on one inspection each, as in the soak
(``sync_bench.py --soak``); ``--concurrency`` devices run their cycles at once, so pushes meet in group commits
as they do under load. Prints the CPU per cycle of each round after a warm-up round, all of it and the server's
(without the devices' side: building the push bodies and reading the pull pages, timed on the loop's thread). For A/B runs against
another commit, run this file with that commit's code first on ``PYTHONPATH`` (it imports ``backend`` from
there and only the soak's setup and the scratch store from ``bench/sync_bench.py`` and
``bench/scratch_store.py`` beside it).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sync_bench  # noqa: E402  (the soak's setup and device model)
from scratch_store import PG_ADMIN, in_process_settings, scratch_store  # noqa: E402


class RoundTrips:
    """Counts PostgreSQL round trips: asyncpg's extended-protocol calls (``_execute``, ``_executemany``: fetch,
    execute with arguments, executemany) and ``execute`` without arguments (the simple protocol: ``BEGIN``,
    ``COMMIT``). Installed on asyncpg's ``Connection`` class; ``count`` is read around one device's cycle."""

    def __init__(self) -> None:
        from asyncpg.connection import Connection

        self.count = 0
        counter = self

        def counted(original: Any, *, simple_only: bool = False) -> Any:
            async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                if not simple_only or len(args) == 1:
                    counter.count += 1
                return await original(self, *args, **kwargs)

            return wrapper

        Connection._execute = counted(Connection._execute)
        Connection._executemany = counted(Connection._executemany)
        Connection.execute = counted(Connection.execute, simple_only=True)


async def asgi_post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def server_cpu(database_url: str) -> dict[int, float]:
    """PostgreSQL: CPU seconds so far of each server process connected to the bench's database (by pid, from
    ``/proc/<pid>/stat``: the server must run on this machine and be readable)."""
    import asyncpg

    dbname = database_url.partition("?")[0].rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        pids = [
            r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", dbname)
        ]
    finally:
        await conn.close()
    return _proc_cpu(pids)


def _proc_cpu(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


class Harness:
    """The CPU this process spends as the devices (building push bodies, reading pull pages), on the loop's
    thread, which the server's CPU per cycle leaves out: it is the load's, not the server's."""

    seconds = 0.0


async def cycle(app: Any, device: sync_bench.Device, trips: RoundTrips | None = None) -> None:
    mark = time.thread_time()
    body = device.body(20)
    Harness.seconds += time.thread_time() - mark
    status, content = await asgi_post(app, "/api/sync/push", body, device.headers)
    if status != 200:
        raise RuntimeError(f"push {status}: {content[:200]!r}")
    if trips is not None:
        print(f"  round trips: push {trips.count}", flush=True)
        trips.count = 0
    while True:
        mark = time.thread_time()
        body = msgspec.json.encode(
            {"protocolVersion": 1, "clientGroupId": device.client_id, "cookie": device.cookie}
        )
        Harness.seconds += time.thread_time() - mark
        status, content = await asgi_post(app, "/api/sync/pull", body, device.headers)
        if status != 200:
            raise RuntimeError(f"pull {status}: {content[:200]!r}")
        mark = time.thread_time()
        page = msgspec.json.decode(content)
        device.cookie = page["cookie"]
        for op in page["patch"]:
            parts = op["key"].split("/")
            value = op.get("value")
            if (
                op["op"] == "put"
                and parts[0] == "answer"
                and parts[-1] == "value"
                and isinstance(value, dict)
            ):
                device.versions[parts[2]] = int(value.get("version", device.versions.get(parts[2], 0)))
        Harness.seconds += time.thread_time() - mark
        if not page["hasMore"]:
            if trips is not None:
                print(f"  round trips: pull {trips.count}", flush=True)
            return


async def run(args: argparse.Namespace, data_dir: Path, database_url: str) -> tuple[list[float], list[float]]:
    from backend.app import create_app

    setup = await sync_bench.prepare(data_dir, database_url, inspections=5)
    teams = await sync_bench.prepare_teams(data_dir, database_url, args.devices, setup)
    devices = []
    for inspection, members in teams:
        for slot, member in enumerate(members):
            items = [it for k, it in enumerate(setup["items"]) if k % 5 == slot]
            devices.append(
                sync_bench.Device(
                    client_id=str(uuid.uuid4()), inspection=inspection, items=items, headers=member
                )
            )
    app = create_app(in_process_settings(data_dir, database_url))
    trips = RoundTrips() if args.count_round_trips else None
    per_cycle: list[float] = []
    server_side: list[float] = []
    async with app.lifespan():
        queue: asyncio.Queue[sync_bench.Device] = asyncio.Queue()

        async def worker() -> None:
            while not queue.empty():
                await cycle(app, queue.get_nowait())

        profiler = cProfile.Profile(time.thread_time) if args.profile else None  # CPU of the loop thread
        for round_no in range(args.rounds + 1):
            for device in devices:
                queue.put_nowait(device)
            if round_no > 0 and args.gap > 0:
                await asyncio.sleep(
                    args.gap
                )  # as in the soak: a device's next cycle finds its token cache stale
            if round_no == 1 and profiler is not None:
                profiler.enable()
            server_before = await server_cpu(database_url) if args.server_cpu else {}
            started, main_started, harness = time.process_time(), time.thread_time(), Harness.seconds
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            took = time.process_time() - started
            load_side = Harness.seconds - harness
            main = time.thread_time() - main_started
            if args.server_cpu and round_no > 0:
                server_after = await server_cpu(database_url)
                server = sum(t - server_before.get(pid, 0.0) for pid, t in server_after.items())
                print(
                    f"  round {round_no}: PostgreSQL's CPU {server * 1000 / len(devices):.2f} ms per cycle",
                    flush=True,
                )
            if round_no > 0:  # round 0 warms the caches up (and is every device's first pull)
                per_cycle.append(took * 1000 / len(devices))
                server_side.append((took - load_side) * 1000 / len(devices))
                print(
                    f"  round {round_no}: {per_cycle[-1]:.2f} ms CPU per cycle, of which the event loop's "
                    f"thread {main * 1000 / len(devices):.2f} ms, the devices' side (bodies, pages) "
                    f"{load_side * 1000 / len(devices):.2f} ms: the server's {server_side[-1]:.2f} ms",
                    flush=True,
                )
            elif trips is not None:
                # one more cycle of one device, alone and with its token still cached: its round trips
                trips.count = 0
                await cycle(app, devices[0], trips)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
    return per_cycle, server_side


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", default="")
    # PostgreSQL: print the round trips of one device's push and pull after the warm-up round
    parser.add_argument("--count-round-trips", action="store_true")
    # PostgreSQL on this machine: also print the server processes' CPU per cycle (from /proc)
    parser.add_argument("--server-cpu", action="store_true")
    # seconds between rounds: the soak's devices cycle every 10 s, past the token cache's freshness (10 s)
    parser.add_argument("--gap", type=float, default=10.5)
    args = parser.parse_args()
    with scratch_store(args.db, "cycle") as (data_dir, database_url):
        per_cycle, server_side = asyncio.run(run(args, data_dir, database_url))
    import backend

    # min / median: all of this process's CPU per cycle (as before 2026-12-05); server_*: without the devices'
    # side (building push bodies, reading pull pages), which is the load generator's work, not the server's
    print(
        f"RESULT {args.db} {Path(backend.__file__).parents[1].name} devices={args.devices} "
        f"cpu_per_cycle_ms min={min(per_cycle):.2f} median={sorted(per_cycle)[len(per_cycle) // 2]:.2f} "
        f"server_min={min(server_side):.2f} server_median={sorted(server_side)[len(server_side) // 2]:.2f} "
        f"load={os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
