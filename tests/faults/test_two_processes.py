"""Two app processes, one PostgreSQL, one S3 (Ceph RGW), no shared disk (``FIELDCHECK_UPLOAD_SPOOL=s3``).

Each process has its own data dir. A device's pushes and pulls alternate between them; uploads alternate
their chunks between them (a 12 MB photo in 1 MiB chunks crosses the 5 MiB part size, so tails are carried
from one process to the other); both run workers, and every derive job is claimed once. Figures are printed
(docs/operations.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from piccolo.engine.postgres import PostgresEngine

from backend.audit.services import verify_chain
from backend.db import bind_engine
from backend.tables_index import TABLES
from sync.client import HttpxTransport, SyncClient
from tests.backend.media_api.live import LiveServer, jpeg_of_about, live_server
from tests.conftest import _pg_admin, pg_dsn
from tests.faults.devices import random_jpeg
from tests.media.s3servers import rgw_available, start_rgw

pytestmark = [
    pytest.mark.s3,
    pytest.mark.skipif(not rgw_available(), reason="Ceph RGW not installed (scripts/s3/install-rgw.sh)"),
]

CHUNK = 1024 * 1024


class Alternating:
    """A sync transport that sends each request to the next process in turn."""

    def __init__(self, transports: list[HttpxTransport]) -> None:
        self.transports = transports
        self.sent = 0

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        transport = self.transports[self.sent % len(self.transports)]
        self.sent += 1
        return await transport.post(path, body)


@dataclass
class Deployment:
    servers: list[LiveServer]
    database_url: str


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("two")
    rgw = start_rgw(port=0)
    database = f"fc_two_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
    env = {
        "FIELDCHECK_DATABASE_URL": pg_dsn(database),
        "FIELDCHECK_STORAGE": "s3",
        "FIELDCHECK_UPLOAD_SPOOL": "s3",
        "FIELDCHECK_S3_ENDPOINT_URL": rgw.endpoint_url,
        "FIELDCHECK_S3_REGION": rgw.region,
        "FIELDCHECK_S3_BUCKET": f"fc-two-{uuid.uuid4().hex[:8]}",
        "FIELDCHECK_S3_ACCESS_KEY": rgw.access_key,
        "FIELDCHECK_S3_SECRET_KEY": rgw.secret_key,
    }
    try:
        with ExitStack() as stack:
            # one after the other: the first loads the demo data into the empty database
            started = []
            for name in ("a", "b"):
                (tmp / name).mkdir()
                started.append(
                    stack.enter_context(live_server(tmp / name, workers=True, extra_env=env, fork=True))
                )
            yield Deployment(started, pg_dsn(database))
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        rgw.stop()


def login(url: str, username: str = "inspector1") -> dict[str, str]:
    response = httpx.post(
        f"{url}/api/auth/login", json={"username": username, "password": "demo"}, timeout=30
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def tus(headers: dict[str, str], offset: int, chunk: bytes) -> dict[str, str]:
    return {
        **headers,
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(len(chunk)),
    }


async def upload_across(
    clients: list[httpx.AsyncClient], headers: dict[str, str], photo_id: uuid.UUID, data: bytes, chunk: int
) -> float:
    """POST on the first process, then each chunk to the next process in turn; seconds taken."""
    began = time.monotonic()
    sha = hashlib.sha256(data).hexdigest()
    body = {"photoId": str(photo_id), "sha256": sha, "size": len(data), "mime": "image/jpeg"}
    created = await clients[0].post("/api/uploads", json=body, headers=headers)
    assert created.status_code == 201, created.text
    url = created.json()["uploadUrl"]
    offset = 0
    n = 0
    while offset < len(data):
        piece = data[offset : offset + chunk]
        http = clients[(n + 1) % len(clients)]
        n += 1
        head = await http.head(url, headers={**headers, "Tus-Resumable": "1.0.0"})
        assert int(head.headers["Upload-Offset"]) == offset  # each process sees what the other received
        answer = await http.patch(url, content=piece, headers=tus(headers, offset, piece))
        assert answer.status_code == 204, answer.text
        offset = int(answer.headers["Upload-Offset"])
    assert answer.headers["Upload-State"] == "stored"
    return time.monotonic() - began


async def scenario(servers: list[LiveServer]) -> dict[str, Any]:
    headers = login(servers[0].url)
    async with (
        httpx.AsyncClient(base_url=servers[0].url, timeout=60) as a,
        httpx.AsyncClient(base_url=servers[1].url, timeout=60) as b,
    ):
        device = SyncClient(Alternating([HttpxTransport(a, headers), HttpxTransport(b, headers)]))
        await device.pull()
        [key] = [k for k in device.store if k.startswith("inspection/")]
        inspection = uuid.UUID(key.split("/", 1)[1])
        # pushes and pulls alternate: each process sees what the other wrote
        notes = [device.add_note(inspection, "1.1.1", f"two processes {n}") for n in range(6)]
        for _ in range(3):
            device.max_batch = 2
            await device.push()
            await device.pull()
        assert device.pending == []
        assert {f"note/{n}" for n in notes} <= set(device.store)
        big = jpeg_of_about(12 * 1024 * 1024)
        small = [random_jpeg(random.Random(n)) for n in range(6)]
        photos = {
            device.add_photo(inspection, "1.1.1", hashlib.sha256(d).hexdigest(), len(d)): d
            for d in [big, *small]
        }
        await device.push()
        assert device.pending == [] or all(m.id <= device.acked for m in device.pending)
        ids = list(photos)
        big_seconds = await upload_across([a, b], headers, ids[0], big, CHUNK)
        small_seconds = [await upload_across([b, a], headers, i, photos[i], 64 * 1024) for i in ids[1:]]
        # a race for one offset from both processes: one chunk is taken, the other told the offset
        race = random_jpeg(random.Random(99))
        race_id = device.add_photo(inspection, "1.1.1", hashlib.sha256(race).hexdigest(), len(race))
        await device.push()
        sha = hashlib.sha256(race).hexdigest()
        created = await a.post(
            "/api/uploads",
            json={"photoId": str(race_id), "sha256": sha, "size": len(race), "mime": "image/jpeg"},
            headers=headers,
        )
        url = created.json()["uploadUrl"]
        half = race[: len(race) // 2]
        answers = await asyncio.gather(
            a.patch(url, content=half, headers=tus(headers, 0, half)),
            b.patch(url, content=half, headers=tus(headers, 0, half)),
        )
        assert sorted(r.status_code for r in answers) == [204, 409], [r.text for r in answers]
        rest = race[len(half) :]
        done = await b.patch(url, content=rest, headers=tus(headers, len(half), rest))
        assert done.status_code == 204, done.text
        photos[race_id] = race
        for photo_id, data in photos.items():
            for http in (a, b):
                got = await http.get(
                    f"/api/photos/{photo_id}/original", headers=headers, follow_redirects=True
                )
                assert got.status_code == 200, got.text
                assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(data).hexdigest()
        return {
            "photos": photos,
            "big_seconds": big_seconds,
            "big_mib_s": len(big) / big_seconds / 2**20,
            "small_seconds": small_seconds,
        }


async def jobs_of(
    database_url: str, shas: set[str]
) -> tuple[list[dict[str, Any]], dict[str, tuple[str, bool]]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch('SELECT "kind", "key", "attempts", "done_at", "lease_owner" FROM "media_job"')
        blobs = await conn.fetch('SELECT "sha256", "state", "derived" FROM "media_blob"')
    finally:
        await conn.close()
    states = {b["sha256"]: (b["state"], b["derived"]) for b in blobs if b["sha256"] in shas}
    return [dict(r) for r in rows if r["key"] in shas], states


async def chains_verify(database_url: str) -> tuple[bool, int | None]:
    bind_engine(PostgresEngine(config={"dsn": database_url}), TABLES)
    return await verify_chain()


def test_an_upload_begun_on_one_process_ends_on_the_other(deployment: Deployment) -> None:
    result = asyncio.run(scenario(deployment.servers))
    shas = {hashlib.sha256(d).hexdigest() for d in result["photos"].values()}
    deadline = time.monotonic() + 90
    while True:
        jobs, blobs = asyncio.run(jobs_of(deployment.database_url, shas))
        if all(j["done_at"] is not None for j in jobs) and len(jobs) >= len(shas):
            break
        assert time.monotonic() < deadline, f"jobs not done in 90 s: {jobs}"
        time.sleep(0.5)
    assert blobs == dict.fromkeys(shas, ("stored", True))
    # every job once: one derive job per file (the bytes are in S3 already: no transfer), claimed once
    assert sorted((j["kind"], j["key"]) for j in jobs) == sorted(("derive", s) for s in shas)
    assert [j["attempts"] for j in jobs] == [1] * len(jobs)
    owners = {j["lease_owner"] for j in jobs}
    # the device's pushes alternated between the processes, each appending to the device's audit chain from
    # the head it last wrote there itself (wrong after the other's append: the insert's guard re-sends it)
    assert asyncio.run(chains_verify(deployment.database_url)) == (True, None)
    sys.stdout.write(
        f"\ntwo processes: 12 MB across both in 1 MiB chunks {result['big_seconds']:.2f} s "
        f"({result['big_mib_s']:.1f} MiB/s); small photos {[round(s, 2) for s in result['small_seconds']]} s; "
        f"derive jobs {len(jobs)} by {len(owners)} worker(s)\n"
    )
