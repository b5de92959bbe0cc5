"""Sync benchmarks through HTTP against one uvicorn server process, on SQLite and PostgreSQL.

    .venv/bin/python bench/sync_bench.py [--db sqlite|postgres|both] [--seconds 8] [--field-seconds 30] [--write]

(a) saturation: push ingest (mutations/s) of 100-mutation batches with 1, 10 and 50 closed-loop devices;
    baseline: the same devices pushing one mutation per request.
(b) field load: 500 devices, each pushing a 20-mutation batch every 10 s (open loop): p50/p99 push latency;
    baseline: the same 500 devices sending each mutation as its own request.
(c) pull of an inspection with 100 articles: initial (cookie null), then after 10,000 updates to the same
    articles both from the old cookie and from null; baseline: the same pulls one row per request (maxOps=1).

The server is a separate process (``uvicorn backend.asgi:app``); the load generator runs here. Prints a table
and, with ``--write``, rewrites only the "## Sync" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Sync"
SOAK_SECTION = "## Sync soak"
PG_ADMIN = os.environ.get("FIELDCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
GRADES = ("A", "B", "C", "D")
BENCH_STANDARD = "bench-100-articles"


# ------------------------------------------------------------------------------------------ setup


async def prepare(data_dir: Path, database_url: str, inspections: int) -> dict[str, Any]:
    """Migrate, load the demo set, add a 100-article standard and bench inspections with their teams."""
    from backend.accounts.schemas import CreateUserRequest
    from backend.accounts.services import create_user
    from backend.db import bind_engine, make_engine, prepare_engine, write_tx
    from backend.demo import load_demo
    from backend.inspections.tables import Inspection, InspectionMember
    from backend.migrations import migrate
    from backend.settings import Settings
    from backend.standards import load_shipped
    from backend.standards.services import save_standard
    from backend.tables_index import TABLES

    settings = Settings(data_dir=str(data_dir), database_url=database_url)
    engine = make_engine(settings)
    bind_engine(engine, TABLES)
    await prepare_engine(engine)
    await migrate(engine)
    demo = await load_demo()
    township = load_shipped("township-2018")
    standard = _hundred_articles(township)
    await save_standard(standard=standard, actor_id=None, publish=True, source="import")
    items = township_items(township)
    users = []
    for n in range(1, 6):
        users.append(demo["inspectors"][n - 1])
    ids: list[uuid.UUID] = []
    async with write_tx():
        for n in range(inspections):
            row = Inspection(
                facility=demo["facilities"][n % len(demo["facilities"])],
                round=demo["round"],
                stage="county",
                standard_version_id=township.id,
                status="in_progress",
            )
            await row.save()
            ids.append(row.id)
            for user in users:
                await InspectionMember(inspection=row.id, user=user).save()
        big = Inspection(
            facility=demo["facilities"][0],
            round=demo["round"],
            stage="county",
            standard_version_id=BENCH_STANDARD,
            status="in_progress",
        )
        await big.save()
    puller = await create_user(
        data=CreateUserRequest(username="benchpull", password="bench-pass-1", role="inspector"),  # noqa: S106
        actor_id=None,
    )
    async with write_tx():
        await InspectionMember(inspection=big.id, user=puller.id).save()
        await InspectionMember(inspection=big.id, user=users[0]).save()
    return {"inspections": ids, "items": items, "big": big.id, "big_items": list(_numbers(standard))}


async def prepare_teams(
    data_dir: Path, database_url: str, devices: int, setup: dict[str, Any]
) -> list[tuple[uuid.UUID, list[dict[str, str]]]]:
    """For the soak: one inspection per 5 devices, each device its own inspector (as in the field: a team of
    five experts, one tablet each). Users and tokens are inserted directly (one password hash for all, no
    login per user); returns (inspection, the members' request headers) per team."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from backend.accounts.passwords import hash_password
    from backend.accounts.services import token_digest
    from backend.accounts.tables import AuthToken, User
    from backend.db import bind_engine, make_engine, prepare_engine, write_tx
    from backend.inspections.tables import Inspection, InspectionMember
    from backend.settings import Settings
    from backend.tables_index import TABLES

    engine = make_engine(Settings(data_dir=str(data_dir), database_url=database_url))
    bind_engine(engine, TABLES)
    await prepare_engine(engine)
    password_hash = await hash_password(secrets.token_urlsafe(12))
    expires = datetime.now(UTC) + timedelta(hours=6)
    template = (await Inspection.select().where(Inspection.id == setup["inspections"][0]).first()) or {}
    teams: list[tuple[uuid.UUID, list[dict[str, str]]]] = []
    for start in range(0, devices, 5):
        async with write_tx():
            inspection = Inspection(
                facility=template["facility"],
                round=template["round"],
                stage="county",
                standard_version_id=template["standard_version_id"],
                status="in_progress",
            )
            await inspection.save()
            members = []
            for k in range(min(5, devices - start)):
                user = User(
                    username=f"soak{start + k}",
                    password_hash=password_hash,
                    role="inspector",
                )
                await user.save()
                token = secrets.token_urlsafe(32)
                await AuthToken(token_hash=token_digest(token), user=user.id, expires_at=expires).save()
                await InspectionMember(inspection=inspection.id, user=user.id, is_lead=k == 0).save()
                members.append({"Authorization": f"Bearer {token}", "content-type": "application/json"})
        teams.append((inspection.id, members))
    return teams


async def prepare_clinic(data_dir: Path, database_url: str, years: int = 3) -> dict[str, Any]:
    """For the soak's probe: the demo clinic (``clinic1``) with a token and one self-assessment per year, as
    ``bench/clinic_history.py`` sets it up (its history is written over HTTP once the server runs)."""
    from backend.db import bind_engine, make_engine, prepare_engine
    from backend.settings import Settings
    from backend.tables_index import TABLES

    engine = make_engine(Settings(data_dir=str(data_dir), database_url=database_url))
    bind_engine(engine, TABLES)
    await prepare_engine(engine)
    return await clinic_years(years)


async def clinic_years(years: int, round_id: Any = None) -> dict[str, Any]:
    """On the bound engine: a token for ``clinic1`` and one self-assessment per year of its facility (in
    ``round_id``, else the round of the first inspection), the township's items and the request headers."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from backend.accounts.services import token_digest
    from backend.accounts.tables import AuthToken, User
    from backend.db import write_tx
    from backend.inspections.tables import Inspection
    from backend.standards import load_shipped

    township = load_shipped("township-2018")
    clinic = await User.select(User.id, User.facility).where(User.username == "clinic1").first()
    assert clinic is not None
    if round_id is None:
        template = await Inspection.select(Inspection.round).first()
        assert template is not None
        round_id = template["round"]
    token = secrets.token_urlsafe(32)
    inspections = []
    async with write_tx():
        await AuthToken(
            token_hash=token_digest(token),
            user=clinic["id"],
            expires_at=datetime.now(UTC) + timedelta(hours=6),
        ).save()
        for _ in range(years):
            row = Inspection(
                facility=clinic["facility"],
                round=round_id,
                stage="self",
                standard_version_id=township.id,
                status="in_progress",
            )
            await row.save()
            inspections.append(row.id)
    return {
        "inspections": inspections,
        "items": township_items(township),
        "headers": {"Authorization": f"Bearer {token}"},
    }


async def clinic_history(url: str, clinic: dict[str, Any]) -> dict[str, str]:
    """The clinic's 3 years written over HTTP by ``bench/clinic_history.py``'s writer; returns its headers."""
    import clinic_history as history  # bench/, next to this file

    from sync.client import HttpxTransport, SyncClient

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        writer = SyncClient(HttpxTransport(http, clinic["headers"]))
        await history.write_history(writer, clinic, 3, random.Random(7))
    return {**clinic["headers"], "content-type": "application/json"}


def township_items(standard: Any) -> list[str]:
    return _numbers(standard)


def _numbers(standard: Any) -> list[str]:
    from backend.standards.validation import walk_articles

    return [article.number for _, article, _ in walk_articles(standard)]


def _hundred_articles(township: Any) -> Any:
    """The township standard re-cut to exactly 100 articles (same grades and rules), as its own standard."""
    from backend.standards.schemas import Section
    from backend.standards.validation import walk_articles

    template = next(a for _, a, _ in walk_articles(township))
    articles = tuple(
        msgspec.structs.replace(template, number=f"9.{n // 10 + 1}.{n % 10 + 1}", title=f"bench article {n}")
        for n in range(100)
    )
    section = Section(code="9", title="bench", articles=articles)
    determination = township.determination
    return msgspec.structs.replace(
        township, id=BENCH_STANDARD, name="bench", sections=(section,), determination=determination
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, data_dir: Path, database_url: str, workers: int = 1) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "FIELDCHECK_DATA_DIR": str(data_dir),
            "FIELDCHECK_DATABASE_URL": database_url,
            "FIELDCHECK_WORKERS": "false",
            "FIELDCHECK_SECRET_KEY": "bench",
            "FIELDCHECK_LOGIN_MAX_FAILURES": "1000",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.asgi:app",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                *(["--workers", str(workers)] if workers > 1 else []),
            ],
            cwd=ROOT,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    async def wait(self) -> None:
        async with httpx.AsyncClient(base_url=self.url) as http:
            for _ in range(200):
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("server did not start")

    def pids(self) -> list[int]:
        """The processes that serve: uvicorn's workers when it runs several, else the one process."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        workers = [
            int(c) for c in children if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()
        ]
        return workers or [self.proc.pid]

    async def wait_workers(self, count: int) -> None:
        for _ in range(200):
            if count <= 1 or len(self.pids()) >= count:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{count} server processes did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


# ------------------------------------------------------------------------------------------ load


@dataclass
class Device:
    client_id: str
    inspection: uuid.UUID
    items: list[str]
    headers: dict[str, str]
    next_id: int = 1
    versions: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    cookie: str | None = None

    def body(self, count: int) -> bytes:
        mutations = []
        for _ in range(count):
            item = self.rng.choice(self.items)
            mutations.append(
                {
                    "id": self.next_id,
                    "name": "setAnswer",
                    "hlc": f"{int(time.time() * 1000):013d}-0000-{self.client_id[:8]}",
                    "args": {
                        "inspectionId": str(self.inspection),
                        "itemCode": item,
                        "field": "value",
                        "value": self.rng.choice(GRADES),
                        "baseVersion": self.versions.get(item, 0),
                    },
                }
            )
            self.next_id += 1
        return msgspec.json.encode(
            {
                "protocolVersion": 1,
                "clientGroupId": self.client_id,
                "clientId": self.client_id,
                "mutations": mutations,
            }
        )


async def tokens(url: str) -> list[dict[str, str]]:
    async with httpx.AsyncClient(base_url=url) as http:
        out = []
        for n in range(1, 6):
            r = await http.post("/api/auth/login", json={"username": f"inspector{n}", "password": "demo"})
            r.raise_for_status()
            out.append({"Authorization": f"Bearer {r.json()['token']}", "content-type": "application/json"})
        return out


def make_devices(
    n: int, setup: dict[str, Any], headers: list[dict[str, str]], items_per_device: int = 8
) -> list[Device]:
    devices = []
    for i in range(n):
        inspection = setup["inspections"][i % len(setup["inspections"])]
        # Devices sharing an inspection grade different articles (as a team splits the checklist).
        slot = (i // len(setup["inspections"])) % 5
        items = [it for k, it in enumerate(setup["items"]) if k % 5 == slot][:items_per_device]
        devices.append(
            Device(
                client_id=str(uuid.uuid4()),
                inspection=inspection,
                items=items,
                headers=headers[slot],
                rng=random.Random(i),
            )
        )
    return devices


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client (POST only) with up to ``size`` connections, for the load.

    httpx costs about a millisecond of CPU per request, which on 2 cores shared with the server is a large
    share of a 1-device closed loop (a push's round trip is ~6 ms); this costs a tenth of that. The server
    sees ordinary HTTP/1.1 requests either way."""

    def __init__(self, url: str, size: int) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port, self.size = host, int(port), size
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._free = asyncio.Semaphore(size)

    async def __aenter__(self) -> RawHttp:
        return self

    async def __aexit__(self, *_: object) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        request = self._request(path, body, headers)
        async with self._free:
            while self._idle:
                connection = self._idle.pop()
                if connection[0].at_eof():  # the server closes idle connections (uvicorn: after 5 s)
                    connection[1].close()
                    continue
                answer = await self._exchange(connection, request)
                if answer is not None:
                    return answer
                # closed by the server just as the request went out: it was not handled, so send it again
            answer = await self._exchange(await asyncio.open_connection(self.host, self.port), request)
            if answer is None:
                raise ConnectionError("the server closed a new connection without answering")
            return answer

    def _request(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        start = f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n{head}\r\n"
        return start.encode() + body

    async def _exchange(
        self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[int, bytes] | None:
        """The answer, or None when the connection was closed before any byte of one came back."""
        reader, writer = connection
        keep = False
        try:
            writer.write(request)
            status_line = await reader.readline()
            if not status_line:
                return None
            status = int(status_line.split()[1])
            length, keep = 0, True
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    keep = False
                elif name == "transfer-encoding":
                    raise RuntimeError("a chunked answer was not expected")
            return status, await reader.readexactly(length)
        except BaseException:
            keep = False
            raise
        finally:
            if keep:
                self._idle.append(connection)
            else:
                writer.close()


async def push_once(http: RawHttp, device: Device, count: int) -> tuple[float, int]:
    body = device.body(count)
    started = time.perf_counter()
    status, content = await http.post("/api/sync/push", body, device.headers)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"push failed: {status} {content[:300]!r}")
    answer = msgspec.json.decode(content)
    applied = 0
    for result in answer["results"]:
        if result["status"] in ("applied", "conflict"):
            applied += 1
    return elapsed, applied


async def saturation(
    url: str, setup: dict[str, Any], headers: list[dict[str, str]], n: int, batch: int, seconds: float
) -> dict[str, float]:
    devices = make_devices(n, setup, headers)
    done = 0
    latencies: list[float] = []
    async with RawHttp(url, n) as http:
        await push_once(http, devices[0], 1)  # warm up
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def loop(device: Device) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                elapsed, applied = await push_once(http, device, batch)
                done += applied
                latencies.append(elapsed)

        await asyncio.gather(*(loop(d) for d in devices))
        wall = time.perf_counter() - started
    return {
        "rate": done / wall,
        "p50": _pct(latencies, 50),
        "p99": _pct(latencies, 99),
        "requests": len(latencies),
    }


async def field_load(
    url: str,
    setup: dict[str, Any],
    headers: list[dict[str, str]],
    n: int,
    batch: int,
    per_request: int,
    seconds: float,
) -> dict[str, float]:
    """Open loop: each device sends ``batch`` mutations every 10 s, ``per_request`` per request, on a schedule
    that does not wait for the server."""
    devices = make_devices(n, setup, headers)
    latencies: list[float] = []
    late = 0
    async with RawHttp(url, 200) as http:
        await push_once(http, devices[0], 1)
        start = time.perf_counter()

        async def device_loop(device: Device, offset: float) -> None:
            nonlocal late
            tick = start + offset
            while tick < start + seconds:
                delay = tick - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    late += 1
                for _ in range(batch // per_request):
                    elapsed, _ = await push_once(http, device, per_request)
                    latencies.append(elapsed)
                tick += 10.0

        rng = random.Random(5)
        tasks = [asyncio.ensure_future(device_loop(d, rng.uniform(0, 10))) for d in devices]
        # A design that cannot keep up builds a backlog without end: stop 30 s after the last scheduled send
        # and count what never completed.
        _, pending = await asyncio.wait(tasks, timeout=seconds + 30)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    scheduled = n * (batch // per_request) * max(1, round(seconds / 10))
    return {
        "p50": _pct(latencies, 50) * 1000,
        "p99": _pct(latencies, 99) * 1000,
        "requests": len(latencies),
        "scheduled": scheduled,
        "late": late,
    }


async def pull_once(http: RawHttp, device: Device) -> tuple[float, int]:
    """The device's pull from its cookie, every page; returns (seconds, status of the last page)."""
    started = time.perf_counter()
    while True:
        body = msgspec.json.encode(
            {"protocolVersion": 1, "clientGroupId": device.client_id, "cookie": device.cookie}
        )
        status, content = await http.post("/api/sync/pull", body, device.headers)
        if status != 200:
            return time.perf_counter() - started, status
        page = msgspec.json.decode(content)
        device.cookie = page["cookie"]
        for op in page["patch"]:
            # answer/<inspection>/<item>/<field>: the versions the next push builds on
            parts = op["key"].split("/")
            value = op.get("value")
            if (
                op["op"] == "put"
                and parts[0] == "answer"
                and parts[-1] == "value"
                and isinstance(value, dict)
            ):
                device.versions[parts[2]] = int(value.get("version", device.versions.get(parts[2], 0)))
        if not page["hasMore"]:
            return time.perf_counter() - started, status


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def big_history(url: str, setup: dict[str, Any], rounds: int = 100) -> dict[str, str]:
    """The 100-article bench inspection after ``rounds`` x 100 updates; returns its reader's headers."""
    big, items = setup["big"], setup["big_items"]
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        login = await http.post("/api/auth/login", json={"username": "benchpull", "password": "bench-pass-1"})
        reader = {"Authorization": f"Bearer {login.json()['token']}", "content-type": "application/json"}
        writer = Device(
            client_id=str(uuid.uuid4()), inspection=big, items=items, headers=(await tokens(url))[0]
        )
        for _ in range(rounds):
            mutations = []
            for item in items:
                args = {"inspectionId": str(big), "itemCode": item, "field": "value"}
                args |= {"value": random.choice(GRADES), "baseVersion": writer.versions.get(item, 0)}
                mutations.append({"id": writer.next_id, "name": "setAnswer", "args": args})
                writer.next_id += 1
            body = {
                "protocolVersion": 1,
                "clientGroupId": "w",
                "clientId": writer.client_id,
                "mutations": mutations,
            }
            answer = await http.post("/api/sync/push", json=body, headers=writer.headers)
            for item, result in zip(items, answer.json()["results"], strict=True):
                writer.versions[item] = result["version"]
    return reader


async def soak(
    url: str,
    setup: dict[str, Any],
    n: int,
    seconds: float,
    server_pids: list[int],
    timing: str = "10s",
    probe: dict[str, str] | None = None,
    clinic: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Open loop: each of ``n`` devices pushes a 20-mutation batch every 10 s and then pulls from its cookie
    (``timing="10s"``), or as the app does (``"app"``, pwa_static/sync/engine.js): a push of the one change at
    each change (one every 10 s on average, Poisson) then a pull, and a pull on its 30-s timer. The servers'
    RSS is sampled every second (the largest process counts). Device k is member k % 5 of its team's
    inspection and grades its fifth of the articles. With ``probe`` (a reader of the 100-article inspection
    after 10,000 updates, :func:`big_history`), that reader's first pull (cookie null, every page) is timed
    twice a second during the soak; with ``clinic`` (the demo clinic after 3 years of self-assessments,
    :func:`clinic_history`), a new device of the clinic's first pull is timed right after each of them."""
    devices = []
    for inspection, members in setup["teams"]:
        for slot, member in enumerate(members):
            items = [it for k, it in enumerate(setup["items"]) if k % 5 == slot]
            devices.append(
                Device(
                    client_id=str(uuid.uuid4()),
                    inspection=inspection,
                    items=items,
                    headers=member,
                    rng=random.Random(len(devices)),
                )
            )
    assert len(devices) == n
    pushes: list[float] = []
    pulls: list[float] = []
    errors: dict[str, int] = {}
    late = 0
    rss: list[int] = [max(rss_kib(pid) for pid in server_pids)]
    load_before = os.getloadavg()[0]
    async with RawHttp(url, 200) as http:
        await push_once(http, devices[0], 1)
        cpu_start = sum(cpu_seconds(pid) for pid in server_pids)
        start = time.perf_counter()
        stop = asyncio.Event()

        async def sample() -> None:
            while not stop.is_set():
                rss.append(max(rss_kib(pid) for pid in server_pids))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

        async def device_loop(device: Device, offset: float) -> None:
            nonlocal late
            tick = start + offset
            while tick < start + seconds:
                delay = tick - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    late += 1
                try:
                    elapsed, _ = await push_once(http, device, 20)
                    pushes.append(elapsed)
                    took, status = await pull_once(http, device)
                    pulls.append(took)
                    if status != 200:
                        errors[f"pull {status}"] = errors.get(f"pull {status}", 0) + 1
                except (RuntimeError, ConnectionError, OSError) as error:
                    key = str(error)[:60]
                    errors[key] = errors.get(key, 0) + 1
                tick += 10.0

        async def app_device(device: Device, offset: float) -> None:
            """A change every 10 s on average, pushed at once with a pull; a pull every 30 s on the timer."""
            nonlocal late
            rng = random.Random(offset)
            timer = start + offset * 3
            change = start + rng.expovariate(0.1)
            while min(timer, change) < start + seconds:
                due, is_change = (change, True) if change < timer else (timer, False)
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -1:
                    late += 1
                try:
                    if is_change:
                        elapsed, _ = await push_once(http, device, 1)
                        pushes.append(elapsed)
                    took, status = await pull_once(http, device)
                    pulls.append(took)
                    if status != 200:
                        errors[f"pull {status}"] = errors.get(f"pull {status}", 0) + 1
                except (RuntimeError, ConnectionError, OSError) as error:
                    key = str(error)[:60]
                    errors[key] = errors.get(key, 0) + 1
                if is_change:
                    change += rng.expovariate(0.1)
                else:
                    timer += 30.0

        probes: list[float] = []
        clinic_pulls: list[float] = []

        async def probe_loop() -> None:
            assert probe is not None
            reader = Device(client_id=str(uuid.uuid4()), inspection=setup["big"], items=[], headers=probe)
            while not stop.is_set():
                reader.cookie = None
                took, status = await pull_once(http, reader)
                if status == 200:
                    probes.append(took)
                else:
                    errors[f"probe {status}"] = errors.get(f"probe {status}", 0) + 1
                if clinic is not None:  # a new device of the clinic: a new client group, cookie null
                    device = Device(
                        client_id=str(uuid.uuid4()), inspection=setup["big"], items=[], headers=clinic
                    )
                    took, status = await pull_once(http, device)
                    if status == 200:
                        clinic_pulls.append(took)
                    else:
                        errors[f"clinic {status}"] = errors.get(f"clinic {status}", 0) + 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

        loop_of = app_device if timing == "app" else device_loop
        sampler = asyncio.ensure_future(sample())
        prober = asyncio.ensure_future(probe_loop()) if probe is not None else None
        rng = random.Random(7)
        tasks = [asyncio.ensure_future(loop_of(d, rng.uniform(0, 10))) for d in devices]
        _, pending = await asyncio.wait(tasks, timeout=seconds + 30)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        stop.set()
        await sampler
        if prober is not None:
            await prober
        cpu = sum(cpu_seconds(pid) for pid in server_pids) - cpu_start
        wall = time.perf_counter() - start
    scheduled = n * max(1, round(seconds / 10))
    return {
        "timing": timing,
        "processes": len(server_pids),
        "probe_pulls": len(probes),
        "probe_p50": _pct(probes, 50) * 1000,
        "probe_p99": _pct(probes, 99) * 1000,
        "clinic_pulls": len(clinic_pulls),
        "clinic_p50": _pct(clinic_pulls, 50) * 1000,
        "clinic_p99": _pct(clinic_pulls, 99) * 1000,
        "pulls": len(pulls),
        "devices": n,
        "seconds": seconds,
        "push_p50": _pct(pushes, 50) * 1000,
        "push_p99": _pct(pushes, 99) * 1000,
        "pull_p50": _pct(pulls, 50) * 1000,
        "pull_p99": _pct(pulls, 99) * 1000,
        "pushes": len(pushes),
        "scheduled": scheduled,
        "late": late,
        "errors": errors,
        "rss_start_mib": rss[0] / 1024,
        "rss_max_mib": max(rss) / 1024,
        "rss_end_mib": rss[-1] / 1024,
        "rss_samples": len(rss),
        # the server is one process (one core for Python): CPU per push + pull bounds the devices it can serve
        "cpu_ms_per_cycle": cpu * 1000 / max(1, len(pulls)),
        "server_cpu_share": cpu / wall,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


async def pull_bench(url: str, setup: dict[str, Any], repeats: int = 7) -> dict[str, float]:
    big = setup["big"]
    items = setup["big_items"]
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        login = await http.post("/api/auth/login", json={"username": "benchpull", "password": "bench-pass-1"})
        reader = {"Authorization": f"Bearer {login.json()['token']}"}
        writer = (await tokens(url))[0]
        writer_device = Device(client_id=str(uuid.uuid4()), inspection=big, items=items, headers=writer)

        async def write_all() -> None:
            mutations = []
            for item in items:
                mutations.append(
                    {
                        "id": writer_device.next_id,
                        "name": "setAnswer",
                        "args": {
                            "inspectionId": str(big),
                            "itemCode": item,
                            "field": "value",
                            "value": random.choice(GRADES),
                            "baseVersion": writer_device.versions.get(item, 0),
                        },
                    }
                )
                writer_device.next_id += 1
            body = msgspec.json.encode(
                {
                    "protocolVersion": 1,
                    "clientGroupId": "w",
                    "clientId": writer_device.client_id,
                    "mutations": mutations,
                }
            )
            r = await http.post("/api/sync/push", content=body, headers=writer)
            for item, result in zip(items, r.json()["results"], strict=True):
                assert result["status"] == "applied", result
                writer_device.versions[item] = result["version"]

        async def timed_pull(cookie: str | None, max_ops: int | None = None) -> tuple[float, int, str]:
            best = float("inf")
            rows = 0
            final = ""
            for _ in range(repeats):
                started = time.perf_counter()
                current = cookie
                count = 0
                while True:
                    body: dict[str, Any] = {"protocolVersion": 1, "clientGroupId": "r", "cookie": current}
                    if max_ops is not None:
                        body["maxOps"] = max_ops
                    r = await http.post("/api/sync/pull", json=body, headers=reader)
                    page = r.json()
                    count += sum(1 for op in page["patch"] if op["key"].startswith("answer/"))
                    current = page["cookie"]
                    if not page["hasMore"]:
                        break
                best = min(best, time.perf_counter() - started)
                rows, final = count, current
            return best * 1000, rows, final

        await write_all()
        initial, initial_rows, cookie = await timed_pull(None)
        initial_naive, _, _ = await timed_pull(None, max_ops=1)
        for _ in range(100):
            await write_all()  # 100 x 100 = 10,000 updates to the same articles
        after_delta, delta_rows, _ = await timed_pull(cookie)
        after_full, full_rows, _ = await timed_pull(None)
        after_naive, _, _ = await timed_pull(cookie, max_ops=1)
    return {
        "initial": initial,
        "initial_rows": initial_rows,
        "initial_naive": initial_naive,
        "after_delta": after_delta,
        "delta_rows": delta_rows,
        "after_full": after_full,
        "full_rows": full_rows,
        "after_naive": after_naive,
    }


def _pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# ------------------------------------------------------------------------------------------ runs


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_db(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="fc-sync-bench-"))
    database_url = ""
    dbname = ""
    if kind == "postgres":
        dbname = f"fc_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{dbname}"'))
        database_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    try:
        setup = asyncio.run(prepare(tmp, database_url, inspections=50))
        if args.soak:
            setup["teams"] = asyncio.run(prepare_teams(tmp, database_url, args.soak_devices, setup))
            if args.soak_probe:
                setup["clinic"] = asyncio.run(prepare_clinic(tmp, database_url))
        server = Server(tmp, database_url, workers=args.soak_workers if args.soak else 1)
        try:
            asyncio.run(server.wait())
            if args.soak:
                return asyncio.run(_soak(server, setup, args))
            return asyncio.run(_measure(server.url, setup, args))
        finally:
            server.stop()
    finally:
        if dbname:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


async def _measure(url: str, setup: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    headers = await tokens(url)
    out: dict[str, Any] = {"saturation": {}, "baseline": {}}
    for n in args.devices:
        out["saturation"][n] = await saturation(url, setup, headers, n, 100, args.seconds)
        if args.baselines:
            out["baseline"][n] = await saturation(url, setup, headers, n, 1, args.seconds)
        base = out["baseline"].get(n, {}).get("rate")
        print(
            f"  (a) {n:>2} devices: {out['saturation'][n]['rate']:,.0f} mut/s; baseline "
            f"{'-' if base is None else f'{base:,.0f}'}",
            flush=True,
        )
    if args.parts == "a":
        return out
    out["field"] = await field_load(url, setup, headers, 500, 20, 20, args.field_seconds)
    out["field_naive"] = await field_load(url, setup, headers, 500, 20, 1, args.field_seconds)
    print(f"  (b) p50 {out['field']['p50']:.1f} ms p99 {out['field']['p99']:.1f} ms", flush=True)
    out["pull"] = await pull_bench(url, setup)
    print(f"  (c) {out['pull']}", flush=True)
    return out


async def _soak(server: Server, setup: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    await server.wait_workers(args.soak_workers)
    probe = await big_history(server.url, setup) if args.soak_probe else None
    clinic = await clinic_history(server.url, setup["clinic"]) if args.soak_probe else None
    result = await soak(
        server.url,
        setup,
        args.soak_devices,
        args.soak_seconds,
        server.pids(),
        args.soak_timing,
        probe,
        clinic,
    )
    if probe is not None:
        print(
            f"  probe: first pull of the 100-article inspection after 10,000 updates, {result['probe_pulls']} "
            f"pulls, p50 {result['probe_p50']:.1f} ms p99 {result['probe_p99']:.1f} ms; a clinic's first pull "
            f"after 3 years, {result['clinic_pulls']} pulls, p50 {result['clinic_p50']:.1f} ms p99 "
            f"{result['clinic_p99']:.1f} ms",
            flush=True,
        )
    print(
        f"  soak: push p50 {result['push_p50']:.1f} ms p99 {result['push_p99']:.1f} ms, pull p99 "
        f"{result['pull_p99']:.1f} ms, {result['pushes']} / {result['scheduled']} pushes, errors "
        f"{result['errors'] or 'none'}, RSS {result['rss_start_mib']:.0f} → max {result['rss_max_mib']:.0f} MiB, "
        f"server CPU {result['cpu_ms_per_cycle']:.1f} ms per push + pull ({result['server_cpu_share']:.0%} of a "
        f"core), load average {result['load_before']:.1f} → {result['load_after']:.1f}",
        flush=True,
    )
    return result


def render_soak(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        SOAK_SECTION,
        "",
        f"{args.soak_devices:,} devices against uvicorn ({args.soak_workers} process(es)), open loop for "
        f"{args.soak_seconds:g} s, timing {args.soak_timing} (10s: a 20-mutation push then a pull every 10 s; app: "
        "a push of each change, one every 10 s on average, with a pull, and a pull every 30 s): "
        f"{args.soak_devices // 5} inspections, each with a team of five inspectors, one device each; each "
        "device pushes a 20-mutation batch every 10 s (a random phase each) and then pulls from its cookie, "
        "every page; the server's RSS (VmRSS) is sampled every second. Python "
        f"{platform.python_version()}, {os.cpu_count()} cores (load generator and server share them), "
        f"{platform.machine()}. Command: `.venv/bin/python bench/sync_bench.py --soak --db {args.db} "
        f"--soak-devices {args.soak_devices} --soak-seconds {args.soak_seconds:g} --soak-workers {args.soak_workers} "
        f"--soak-timing {args.soak_timing} --write`.",
        "",
        "| database | p50 push | p99 push | p50 pull | p99 pull | pushes done / scheduled | late starts | errors "
        "| server RSS at start | max | at end | server CPU per push + pull | server CPU use | machine load average |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for kind, r in results.items():
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none"
        lines.append(
            f"| {kind} | {r['push_p50']:.1f} ms | {r['push_p99']:.1f} ms | {r['pull_p50']:.1f} ms "
            f"| {r['pull_p99']:.1f} ms | {r['pushes']} / {r['scheduled']} | {r['late']} | {errors} "
            f"| {r['rss_start_mib']:.0f} MiB | {r['rss_max_mib']:.0f} MiB | {r['rss_end_mib']:.0f} MiB "
            f"| {r['cpu_ms_per_cycle']:.1f} ms | {r['server_cpu_share']:.0%} of a core "
            f"| {r['load_before']:.1f} → {r['load_after']:.1f} |"
        )
    lines += ["", "Targets: p99 push < 100 ms, no error, server RSS < 250 MB.", ""]
    return "\n".join(lines)


def render(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        SECTION,
        "",
        f"Through HTTP against one uvicorn process (the load generator is a second process); Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}. Baselines run in the same "
        "run against the same server: one row (mutation) per request. Command: "
        f"`.venv/bin/python bench/sync_bench.py --db {args.db} --seconds {args.seconds:g} "
        f"--field-seconds {args.field_seconds:g} --write`.",
        "",
        "### (a) Saturation: push ingest, 100-mutation batches, closed loop",
        "",
        "| database | devices | mutations/s | p50 push | p99 push | baseline (1 per request) mutations/s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, r in results.items():
        for n, s in r["saturation"].items():
            b = r["baseline"][n]
            lines.append(
                f"| {kind} | {n} | {s['rate']:,.0f} | {s['p50'] * 1000:.1f} ms | {s['p99'] * 1000:.1f} ms "
                f"| {b['rate']:,.0f} | {s['rate'] / b['rate']:.1f}× |"
            )
    lines += [
        "",
        "Target: ≥ 15,000 mutations/s on SQLite (a CouchDB-protocol server does about 14,500/s in this shape).",
        "",
        f"### (b) Field load: 500 devices, a 20-mutation push every 10 s each (open loop, {args.field_seconds:g} s)",
        "",
        "| database | p50 push | p99 push | requests done / scheduled | baseline p50 (1 per request) | baseline p99 "
        "| baseline requests done / scheduled |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, r in results.items():
        f, b = r["field"], r["field_naive"]
        lines.append(
            f"| {kind} | {f['p50']:.1f} ms | {f['p99']:.1f} ms | {f['requests']} / {f['scheduled']} | {b['p50']:.1f} ms "
            f"| {b['p99']:.1f} ms | {b['requests']} / {b['scheduled']} |"
        )
    lines += [
        "",
        "Target: p99 < 100 ms.",
        "",
        "### (c) Pull of an inspection with 100 articles (best of 7)",
        "",
        "| database | initial pull | after 10,000 updates, from the old cookie | after 10,000 updates, from null | baseline initial (1 row per request) | baseline after updates |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, r in results.items():
        p = r["pull"]
        lines.append(
            f"| {kind} | {p['initial']:.1f} ms ({p['initial_rows']} rows) | {p['after_delta']:.1f} ms "
            f"({p['delta_rows']} rows) | {p['after_full']:.1f} ms ({p['full_rows']} rows) "
            f"| {p['initial_naive']:.1f} ms | {p['after_naive']:.1f} ms |"
        )
    lines += ["", "Target: < 50 ms for both.", ""]
    return "\n".join(lines)


def write_section(text: str, section: str = SECTION) -> None:
    doc = BENCH_DOC.read_text(encoding="utf-8") if BENCH_DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    doc = pattern.sub(text + "\n", doc) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + text + "\n"
    BENCH_DOC.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--field-seconds", type=float, default=30.0)
    parser.add_argument("--write", action="store_true")
    # For quick iterations on push ingest: only part (a), optionally without its baselines (never with --write).
    parser.add_argument("--parts", choices=["a", "abc"], default="abc")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false")
    parser.add_argument("--devices", type=lambda v: [int(n) for n in v.split(",")], default=[1, 10, 50])
    # The field soak alone (its own section in docs/benchmarks.md).
    parser.add_argument("--soak", action="store_true")
    parser.add_argument("--soak-devices", type=int, default=2000)
    parser.add_argument("--soak-seconds", type=float, default=60.0)
    # server processes (uvicorn --workers N; CPU summed over them, RSS of the largest) and the devices' timing
    parser.add_argument("--soak-workers", type=int, default=1)
    parser.add_argument("--soak-timing", choices=["10s", "app"], default="10s")
    # time a reader's first pull of the 100-article inspection after 10,000 updates during the soak, and a
    # new device's first pull of the demo clinic after 3 years of self-assessments (bench/clinic_history.py)
    parser.add_argument("--soak-probe", action="store_true")
    args = parser.parse_args()
    if args.write and (args.parts != "abc" or not args.baselines or args.devices != [1, 10, 50]):
        parser.error("--write needs the full run (--parts abc, with baselines)")
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = {}
    for kind in kinds:
        print(f"== {kind}", flush=True)
        results[kind] = run_db(kind, args)
    if args.soak:
        text = render_soak(results, args)
        print(text)
        if args.write:
            write_section(text, SOAK_SECTION)
            print(f"wrote {SOAK_SECTION} in {BENCH_DOC}")
        return
    if args.parts == "a" or not args.baselines:
        for kind, r in results.items():
            for n, sat in r["saturation"].items():
                print(
                    f"{kind} {n:>2} devices: {sat['rate']:,.0f} mut/s p50 {sat['p50'] * 1000:.1f} ms "
                    f"p99 {sat['p99'] * 1000:.1f} ms"
                )
            if "field" in r:
                print(f"{kind} (b) {r['field']}")
        return
    text = render(results, args)
    print(text)
    if args.write:
        write_section(text)
        print(f"wrote {SECTION} in {BENCH_DOC}")


if __name__ == "__main__":
    main()
