"""Crash consistency: a real ``fieldcheck serve`` is SIGKILLed at random moments while devices push and upload.

Per database, ``FIELDCHECK_FAULT_KILLS`` kills (50 by default; the seed is printed and can be fixed with
``FIELDCHECK_FAULT_SEED``). Kinds of kill: at a random moment 0–300 ms after a request started, in the middle of
a chunk's body (the device sent half of a PATCH), and while the in-process worker holds a job (a transfer to
storage or a derivative: its lease must be taken over after the restart). After every kill, with the server
dead: SQLite's integrity check, every device's mutations exactly 1..lastMutationId once each, at least what the
device saw acknowledged, and each push whole or absent. At the end: every queue drained, every conflict round
one conflict with both values, the audit chain intact, every photo stored with its sha256 and derived, no job
or upload session left, and no spool file that housekeeping would not remove. See docs/operations.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.audit.services import verify_chain
from backend.db import bind_engine, fetch, make_engine, prepare_engine
from backend.media_api.services import upload_config
from backend.settings import Settings
from backend.tables_index import TABLES
from media import uploads
from tests.backend.media_api.live import free_port
from tests.conftest import _pg_admin, pg_dsn
from tests.faults.checks import check_conflicts, check_pushes, sqlite_integrity
from tests.faults.devices import CONFLICT_ITEMS, ConflictPair, Device, Faults, NoteDevice, UploadDevice, login
from tests.faults.server import KillableServer, Zygote
from tests.media.s3servers import rgw_available, start_rgw

needs_rgw = pytest.mark.skipif(
    not rgw_available(), reason="Ceph RGW not installed (scripts/s3/install-rgw.sh)"
)

KILLS = int(os.environ.get("FIELDCHECK_FAULT_KILLS", "50"))
# the variants on Ceph RGW (photos transferred to S3; the S3 upload spool) are slower to start: fewer kills
S3_KILLS = int(os.environ.get("FIELDCHECK_FAULT_S3_KILLS", "10"))
SEED = int(os.environ.get("FIELDCHECK_FAULT_SEED", str(random.SystemRandom().randrange(1 << 30))))
LEASE_SECONDS = 3


async def leased_job(engine: Any, wait: float) -> str | None:
    """Wait until the worker holds a job (a lease is set and the job is not done); its kind."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        rows = await fetch(
            'SELECT "kind" FROM "media_job" WHERE "done_at" IS NULL AND "lease_until" IS NOT NULL '
            'AND "lease_owner" IS NOT NULL LIMIT 1',
            [],
            engine,
        )
        if rows:
            return str(rows[0]["kind"])
        await asyncio.sleep(0.003)
    return None


class Run:
    def __init__(
        self, db_kind: str, tmp: Path, database_url: str, zygote: Zygote, s3: dict[str, str], kills: int
    ) -> None:
        self.db_kind = db_kind
        self.kills = kills
        self.rng = random.Random(SEED)
        env = {"FIELDCHECK_WORKER_LEASE_SECONDS": str(LEASE_SECONDS), **s3}
        if database_url:
            env["FIELDCHECK_DATABASE_URL"] = database_url
        self.settings = Settings.from_env(
            {k: v for k, v in env.items() if k != "FIELDCHECK_WORKER_LEASE_SECONDS"}
            | {"FIELDCHECK_DATA_DIR": str(tmp / "data"), "FIELDCHECK_DATABASE_URL": database_url}
        )
        self.server = KillableServer(zygote, tmp / "data", free_port(), tmp, env)
        self.faults = Faults()
        self.kinds: dict[str, int] = {}
        self.spool_left = 0
        self.orphan_multiparts = 0

    def rng_for(self, name: str) -> random.Random:
        return random.Random(f"{SEED}-{name}")

    async def killer(
        self, engine: Any, devices: list[Device], notes: list[NoteDevice], pair: ConflictPair
    ) -> None:
        every = max(1, self.kills // (len(CONFLICT_ITEMS) + 1))
        for n in range(self.kills):
            if n % every == 0:
                pair.go.release()  # the next conflict round starts, and meets the next kills
            self.faults.activity.clear()
            await asyncio.wait_for(self.faults.activity.wait(), timeout=30)
            roll = self.rng.random()
            kind = "random"
            if roll < 0.15:
                self.faults.killed.clear()
                self.faults.mid_body_reached.clear()
                self.faults.want_mid_body = True
                try:
                    await asyncio.wait_for(self.faults.mid_body_reached.wait(), timeout=1.5)
                    await asyncio.sleep(0.02)  # the half body reaches the server
                    kind = "mid-body"
                except TimeoutError:
                    pass
                self.faults.want_mid_body = False
            elif roll < 0.35:
                job = await leased_job(engine, wait=1.5)
                kind = f"worker-{job}" if job else "random"
            if kind == "random":
                await asyncio.sleep(self.rng.uniform(0, 0.3))
            self.faults.up.clear()
            self.server.kill()
            self.faults.killed.set()
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            # with the server dead: what every crash must leave behind
            if self.db_kind == "sqlite":
                assert sqlite_integrity(self.settings.sqlite_path) == "ok"
            await check_pushes(engine, devices, notes)
            await self.server.start()
            self.faults.up.set()
        self.faults.stopping = True
        pair.go.release()

    async def scenario(self) -> dict[str, Any]:
        began = time.monotonic()
        await self.server.start()
        self.faults.up.set()
        engine = make_engine(self.settings)
        bind_engine(engine, TABLES)
        await prepare_engine(engine)
        async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as http:
            pulled_by = await login(http, "inspector1")
            probe = Device(http, pulled_by, self.faults, f"probe-{uuid.uuid4().hex[:6]}")
            await probe.pull()
            [key] = [k for k in probe.sync.store if k.startswith("inspection/")]
            inspection = uuid.UUID(key.split("/", 1)[1])
            notes = [
                NoteDevice(
                    http,
                    await login(http, user),
                    self.faults,
                    f"note{n}",
                    inspection=inspection,
                    rng=self.rng_for(f"note{n}"),
                )
                for n, user in enumerate(["inspector1", "inspector4", "inspector5"])
            ]
            photos = [
                UploadDevice(
                    http,
                    await login(http, user),
                    self.faults,
                    f"photo{n}",
                    inspection=inspection,
                    rng=self.rng_for(f"photo{n}"),
                )
                for n, user in enumerate(["inspector3", "inspector2"])
            ]
            pair = ConflictPair(
                Device(http, await login(http, "inspector1"), self.faults, "conflict-a"),
                Device(http, await login(http, "inspector2"), self.faults, "conflict-b"),
                inspection,
                self.rng_for("conflict"),
            )
            devices: list[Device] = [*notes, *photos, pair.a, pair.b]
            tasks = [asyncio.create_task(d.run()) for d in [*notes, *photos]]
            tasks.append(asyncio.create_task(pair.run()))
            await self.killer(engine, devices, notes, pair)
            killing = time.monotonic() - began
            # the last start stays up: every device drains its queue and finishes its upload
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
            for device in devices:
                await device.flush()
            await check_pushes(engine, devices, notes)
            conflict_rounds = await check_conflicts(engine, pair)
            assert await verify_chain() == (True, None)
            assert not self.faults.server_errors, self.faults.server_errors[:5]
            all_uploads = [u for d in photos for u in d.uploads]
            assert all(u.done for u in all_uploads)
            await self.wait_for_jobs(engine)
            for device in photos:
                for upload in device.uploads:
                    response = await http.get(
                        f"/api/photos/{upload.photo_id}/original",
                        headers=device.headers,
                        follow_redirects=True,
                    )
                    assert response.status_code == 200, response.text
                    assert hashlib.sha256(response.content).hexdigest() == upload.sha256
            shas = {u.sha256 for u in all_uploads}
            blobs = await fetch('SELECT "sha256", "state", "derived" FROM "media_blob"', [], engine)
            states = {b["sha256"]: (b["state"], bool(b["derived"])) for b in blobs if b["sha256"] in shas}
            assert states == dict.fromkeys(shas, ("stored", True))
        self.server.stop()
        if self.db_kind == "sqlite":
            assert sqlite_integrity(self.settings.sqlite_path) == "ok"
        await self.check_spool(engine)
        return {
            "kills": self.kills,
            "kinds": dict(sorted(self.kinds.items())),
            "seconds": round(time.monotonic() - began, 1),
            "killing_seconds": round(killing, 1),
            "mean_restart_s": round(sum(self.server.start_seconds) / len(self.server.start_seconds), 2),
            "mutations": sum(d.queued for d in devices),
            "uploads": len(all_uploads),
            "resumes": sum(u.resumes for u in all_uploads),
            "offset_checks": sum(d.offset_checks for d in photos),
            "mid_body_cuts": sum(d.mid_body_cuts for d in photos),
            "conflict_rounds": conflict_rounds,
            "transport_errors": self.faults.transport_errors,
            "spool_files_for_housekeeping": self.spool_left,
            "orphan_multipart_uploads": self.orphan_multiparts,
        }

    async def wait_for_jobs(self, engine: Any) -> None:
        """Every job done, including those whose lease a killed process held (taken over once it ran out)."""
        deadline = time.monotonic() + 60
        while True:
            left = await fetch(
                'SELECT "kind", "key", "attempts", "last_error" FROM "media_job" WHERE "done_at" IS NULL',
                [],
                engine,
            )
            if not left:
                return
            assert time.monotonic() < deadline, left
            await asyncio.sleep(0.2)

    async def check_spool(self, engine: Any) -> None:
        """Nothing orphaned for good: what is left in the spool is files of sessions whose row a kill
        prevented, which housekeeping removes once idle past the TTL (run here with the clock moved on)."""
        root = self.settings.data_path / "spool"
        config = upload_config(self.settings)
        self.spool_left = len([p for p in root.rglob("*") if p.is_file()])
        if config.s3 is not None:
            self.spool_left += len(await asyncio.to_thread(s3_keys, config.s3, "uploads/"))
        later = int(time.time() * 1000) + (config.ttl_seconds + 60) * 1000
        await uploads.expire_uploads(engine, config, now=later)
        assert not [p for p in root.rglob("*") if p.is_file()]
        # a session whose files a kill prevented (its row committed first) expires with them
        assert await fetch('SELECT "id" FROM "media_upload"', [], engine) == []
        if config.s3 is not None:
            assert await asyncio.to_thread(s3_keys, config.s3, "uploads/") == []
            # multipart uploads a kill started before their row knew them: the bucket's lifecycle rule's
            self.orphan_multiparts = await asyncio.to_thread(s3_multiparts, config.s3)


def s3_keys(spool: Any, prefix: str) -> list[str]:
    answer = spool.storage.client().list_objects_v2(Bucket=spool.bucket, Prefix=prefix)
    return [item["Key"] for item in answer.get("Contents", [])]


def s3_multiparts(spool: Any) -> int:
    return len(spool.storage.client().list_multipart_uploads(Bucket=spool.bucket).get("Uploads", []))


VARIANTS = [
    pytest.param("sqlite", "", id="sqlite"),
    pytest.param("postgres", "", id="postgres"),
    # photos transferred to S3 by the worker (kills while it puts one: lease recovery against RGW)
    pytest.param("postgres", "local", id="postgres-rgw", marks=[needs_rgw, pytest.mark.s3]),
    # the S3 upload spool (FIELDCHECK_UPLOAD_SPOOL=s3)
    pytest.param(
        "postgres",
        "s3",
        id="postgres-rgw-s3spool",
        # (a kill after the last chunk's commit, before the answer, made POST open a new session at offset 0:
        # the sender was recorded as the blob's holder only after the commit; tests/faults/test_upload_crash_points)
        marks=[needs_rgw, pytest.mark.s3],
    ),
]


@pytest.fixture(scope="module")
def rgw() -> Iterator[Any]:
    server = start_rgw(port=0)
    yield server
    server.stop()


@pytest.mark.parametrize(("db_kind", "spool"), VARIANTS)
def test_kill_the_server_at_random_moments(
    db_kind: str, spool: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kills = S3_KILLS if spool else KILLS
    name = f"{db_kind}{'+rgw' if spool else ''}{'+s3 spool' if spool == 's3' else ''}"
    sys.stdout.write(f"\ncrash consistency on {name}: {kills} kills, FIELDCHECK_FAULT_SEED={SEED}\n")
    s3: dict[str, str] = {}
    if spool:
        server = request.getfixturevalue("rgw")
        s3 = {
            "FIELDCHECK_STORAGE": "s3",
            "FIELDCHECK_UPLOAD_SPOOL": spool,
            "FIELDCHECK_S3_ENDPOINT_URL": server.endpoint_url,
            "FIELDCHECK_S3_REGION": server.region,
            "FIELDCHECK_S3_BUCKET": f"fc-faults-{uuid.uuid4().hex[:8]}",
            "FIELDCHECK_S3_ACCESS_KEY": server.access_key,
            "FIELDCHECK_S3_SECRET_KEY": server.secret_key,
        }
    database = f"fc_faults_{uuid.uuid4().hex[:12]}"
    url = ""
    if db_kind == "postgres":
        asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
        url = pg_dsn(database)
    zygote = Zygote()
    run = Run(db_kind, tmp_path, url, zygote, s3, kills)
    try:
        summary = asyncio.run(run.scenario())
    finally:
        run.server.stop()
        zygote.close()
        if db_kind == "postgres":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    sys.stdout.write(f"crash consistency on {name} (seed {SEED}): {summary}\n")
    assert sum(summary["kinds"].values()) == kills
