"""The outbox workers on both databases: leases, concurrent claims, reclaiming, backoff, idempotent transfer."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from backend.workers import build_media_worker
from media.storage import (
    DEFAULT_CHUNK_SIZE,
    IntegrityError,
    LocalStorage,
    StorageUnavailableError,
    StoredObject,
    blob_key,
)
from media.tables import Blob, Job
from media.uploads import now_ms
from media.worker import MediaWorker, WorkerConfig
from tests.backend.media_api.helpers import add_photo, noisy_jpeg, upload


class Clock:
    def __init__(self) -> None:
        self.now = now_ms()

    def __call__(self) -> int:
        return self.now


class SwitchableStorage:
    """LocalStorage that can be 'down' (every call raises StorageUnavailableError) and counts writes."""

    kind = "local"

    def __init__(self, inner: LocalStorage) -> None:
        self.inner = inner
        self.down = False
        self.puts: list[str] = []

    def _check(self) -> None:
        if self.down:
            raise StorageUnavailableError("store unreachable (test)")

    async def put_file(
        self, key: str, path: Any, sha256_hex: str, size: int, *, content_type: str | None = None
    ) -> StoredObject:
        self._check()
        stored = await self.inner.put_file(key, path, sha256_hex, size, content_type=content_type)
        if not stored.already_present:
            self.puts.append(key)
        return stored

    async def exists(self, key: str) -> bool:
        self._check()
        return await self.inner.exists(key)

    async def stat(self, key: str) -> int | None:
        self._check()
        return await self.inner.stat(key)

    async def iter_bytes(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        self._check()
        async for chunk in self.inner.iter_bytes(key, chunk_size):
            yield chunk

    async def get_bytes(self, key: str) -> bytes:
        self._check()
        return await self.inner.get_bytes(key)

    async def delete(self, key: str) -> None:
        self._check()
        await self.inner.delete(key)

    async def signed_url(
        self, key: str, expires_in: int, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        return None

    async def check(self) -> None:
        self._check()


def make_worker(app: Litestar, storage: Any, clock: Clock, owner: str, lease: float = 30) -> MediaWorker:
    worker = build_media_worker(
        app.state.settings,
        app.state.engine,
        storage,
        WorkerConfig(lease_seconds=lease, backoff_base_seconds=2, backoff_cap_seconds=60),
    )
    worker.owner = owner
    worker.clock = clock
    return worker


async def _jobs(n: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    now = now_ms()
    for job_id in ids:
        await Job.insert(
            Job(id=job_id, kind="noop", key=os.urandom(8).hex(), due_at=now - 1, created_at_ms=now)
        )
    return ids


async def test_concurrent_claims_never_share_a_job(app: Litestar, demo: dict[str, Any]) -> None:
    ids = await _jobs(40)
    clock = Clock()
    workers = [make_worker(app, app.state.storage, clock, f"w{i}") for i in range(4)]
    claimed: list[list[Any]] = [[] for _ in workers]

    async def drain(index: int) -> None:
        while jobs := await workers[index].claim(limit=3):
            claimed[index] += [j.id for j in jobs]
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(i) for i in range(len(workers))))
    flat = [job_id for part in claimed for job_id in part]
    assert sorted(flat) == sorted(ids)  # every job once, none twice
    rows = await Job.select(Job.attempts, Job.lease_owner)
    assert all(r["attempts"] == 1 for r in rows)


async def test_stale_lease_is_reclaimed_and_the_old_owner_cannot_finish(
    app: Litestar, demo: dict[str, Any]
) -> None:
    [job_id] = await _jobs(1)
    clock = Clock()
    first = make_worker(app, app.state.storage, clock, "crashed", lease=10)
    second = make_worker(app, app.state.storage, clock, "alive", lease=10)
    [job] = await first.claim()
    assert await second.claim() == []  # leased
    clock.now += 11_000  # the first worker died; its lease ran out
    [again] = await second.claim()
    assert again.id == job_id
    assert again.attempts == 2
    assert not await first._finish(job)  # lost lease: cannot mark someone else's job done
    await second.process(again)  # unknown kind: finished with the error recorded
    row = await Job.select().where(Job.id == job_id).first()
    assert row is not None
    assert row["done_at"] is not None
    assert row["lease_owner"] == "alive"
    assert "unknown job kind" in row["last_error"]


async def test_outage_backs_off_then_stores_once(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str], tmp_path: Path
) -> None:
    storage = SwitchableStorage(app.state.storage)
    clock = Clock()
    worker = make_worker(app, storage, clock, "w")
    photos = [await add_photo(demo["review_inspection"], noisy_jpeg(200, 150)) for _ in range(3)]
    storage.down = True
    for photo in photos:  # the store is down: uploads still succeed into the spool
        assert (await upload(client, inspector, photo)).status_code == 204
    receipt = (
        await client.get(f"/api/inspections/{demo['review_inspection']}/receipt", headers=inspector)
    ).json()
    assert {p["state"] for p in receipt["photos"]} == {"received"}

    clock.now = now_ms()
    delays = []
    for _ in range(4):
        handled = await worker.run_once()
        assert handled == 6  # 3 transfers + 3 derivatives, all failing
        rows = await Job.select().where(Job.done_at.is_null())
        assert len(rows) == 6
        assert all("StorageUnavailableError" in r["last_error"] for r in rows)
        due = min(r["due_at"] for r in rows) - clock.now
        delays.append(max(r["due_at"] for r in rows) - clock.now)
        assert due > 0
        assert await worker.run_once() == 0  # nothing due before the backoff runs out
        clock.now += max(r["due_at"] for r in rows) - clock.now + 1
    # exponential with jitter: base 2 s doubles each attempt (ceilings 2, 4, 8, 16 s)
    assert delays[-1] > delays[0]
    assert all(d <= c * 1000 for d, c in zip(delays, (2, 4, 8, 16), strict=True))
    assert all(b["state"] == "spooled" for b in await Blob.select())

    storage.down = False
    assert await worker.run_once() == 6
    assert await Job.count().where(Job.done_at.is_null()) == 0
    blobs = await Blob.select()
    assert {b["state"] for b in blobs} == {"stored"}
    assert all(b["derived"] for b in blobs)
    originals = sorted(k for k in storage.puts if k.startswith("blobs/"))
    assert originals == sorted(blob_key(p.sha256) for p in photos)  # each exactly once
    assert len(storage.puts) == 9  # + thumb and preview each
    receipt = (
        await client.get(f"/api/inspections/{demo['review_inspection']}/receipt", headers=inspector)
    ).json()
    assert {p["state"] for p in receipt["photos"]} == {"stored"}


class RefusingStorage(SwitchableStorage):
    """The store refuses the first body (S3 BadDigest: damaged in flight), then takes it."""

    def __init__(self, inner: LocalStorage) -> None:
        super().__init__(inner)
        self.refusals = 1

    async def put_file(
        self, key: str, path: Any, sha256_hex: str, size: int, *, content_type: str | None = None
    ) -> StoredObject:
        if self.refusals and key.startswith("blobs/"):
            self.refusals -= 1
            raise IntegrityError("store refused the body: BadDigest")
        return await super().put_file(key, path, sha256_hex, size, content_type=content_type)


async def test_a_body_refused_by_the_store_is_retried_and_the_spool_copy_kept(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    storage = RefusingStorage(app.state.storage)
    clock = Clock()
    worker = make_worker(app, storage, clock, "w")
    photo = await add_photo(demo["review_inspection"], noisy_jpeg(200, 150))
    assert (await upload(client, inspector, photo)).status_code == 204
    clock.now = now_ms()
    transfer = [j for j in await worker.claim() if j.kind == "transfer"]
    await worker.process(transfer[0])
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None  # not dropped: the device is not asked to upload again
    assert blob["state"] == "spooled"
    assert Path(blob["spool_path"]).exists()  # noqa: ASYNC240 - test check
    job = await Job.select().where((Job.key == photo.sha256) & (Job.kind == "transfer")).first()
    assert job is not None
    assert job["done_at"] is None
    assert "BadDigest" in job["last_error"]
    clock.now = job["due_at"] + 1
    await worker.run_once()
    stored = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert stored is not None
    assert stored["state"] == "stored"
    assert blob_key(photo.sha256) in storage.puts


async def test_crash_between_copy_and_mark_is_repaired(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    photo = await add_photo(demo["review_inspection"], noisy_jpeg(200, 150))
    assert (await upload(client, inspector, photo)).status_code == 204
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    # the copy happened, then the process died before marking the blob; later the spool file was cleaned
    storage: LocalStorage = app.state.storage
    await storage.put_file(blob["storage_key"], blob["spool_path"], photo.sha256, photo.size)
    Path(blob["spool_path"]).unlink()  # noqa: ASYNC240 - test setup
    worker = make_worker(app, storage, Clock(), "w")
    transfer = [j for j in await worker.claim() if j.kind == "transfer"]
    await worker.process(transfer[0])
    row = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert row is not None
    assert row["state"] == "stored"


async def test_reuse_at_another_facility_is_flagged(
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
    worker: MediaWorker,
) -> None:
    from sync.tables import Photo
    from tests.conftest import login

    data = noisy_jpeg(120, 90)
    here = await add_photo(demo["review_inspection"], data)
    same_facility = await add_photo(demo["self_inspections"][0], data)  # the same centre's self-assessment
    assert (await upload(client, inspector, here)).status_code == 204
    await worker.run_once()
    flags = {r["id"]: r["reused_elsewhere"] for r in await Photo.select(Photo.id, Photo.reused_elsewhere)}
    assert flags == {here.id: False, same_facility.id: False}

    elsewhere = await add_photo(demo["self_inspections"][1], data)  # another centre's self-assessment
    from backend.workers import housekeeping

    await housekeeping(app.state.engine, app.state.settings)
    flags = {r["id"]: r["reused_elsewhere"] for r in await Photo.select(Photo.id, Photo.reused_elsewhere)}
    assert flags == {here.id: True, same_facility.id: True, elsewhere.id: True}
    receipt = (
        await client.get(f"/api/inspections/{demo['review_inspection']}/receipt", headers=inspector)
    ).json()
    assert receipt["photos"][0]["reusedElsewhere"] is True
    office = await login(client, "office")
    assert (
        await client.get(f"/api/inspections/{demo['review_inspection']}/receipt", headers=office)
    ).status_code == 200


async def test_a_blobs_photos_are_refreshed_once_per_blob_not_per_job_or_holder(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    """The worker's hook runs after the derive job only (not after the transfer too), once per blob; the
    evidence flags are there afterwards."""
    from backend.sync_api.services import after_blob_derived
    from sync.tables import Photo

    calls: list[str] = []

    async def counted(sha256_hex: str) -> None:
        calls.append(sha256_hex)
        await after_blob_derived(sha256_hex)

    photo = await add_photo(demo["review_inspection"], noisy_jpeg(160, 120))
    assert (await upload(client, inspector, photo)).status_code == 204
    worker = make_worker(app, app.state.storage, Clock(), "w")
    worker.on_blob = counted
    assert await worker.run_once() == 2  # the transfer and the derive job
    assert calls == [photo.sha256]
    row = await Photo.select(Photo.flags).where(Photo.id == photo.id).first()
    assert row is not None
    assert row["flags"] is not None
    assert await worker.run_once() == 0
    assert calls == [photo.sha256]


def _damaged_in_the_middle(kind: str) -> bytes:
    """A file whose header and end are intact but whose compressed pixel data is broken in the middle."""
    import io

    from PIL import Image

    if kind == "png":
        out = io.BytesIO()
        Image.frombytes("RGB", (300, 200), os.urandom(300 * 200 * 3)).save(out, "PNG")
        damaged = bytearray(out.getvalue())
        middle = len(damaged) // 2
        damaged[middle : middle + 64] = b"\0" * 64  # inside IDAT: structure intact, zlib stream broken
        return bytes(damaged)
    # JPEG: libjpeg decodes this without an error (grey where the damage is); only its warnings tell
    damaged = bytearray(noisy_jpeg(600, 400))
    middle = len(damaged) // 2
    damaged[middle : middle + 4096] = bytes(4096)
    return bytes(damaged)


@pytest.mark.parametrize("kind", ["png", "jpeg"])
async def test_file_that_passes_the_upload_check_but_does_not_decode_is_rejected_by_the_worker(
    kind: str,
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
    worker: MediaWorker,
) -> None:
    """The upload checks headers and structure only; the derivative worker's full decode (and for JPEG the
    check of its compressed data) finds the damage, marks the blob rejected with the reason (the receipt
    shows it) and drops the bytes."""
    damaged = _damaged_in_the_middle(kind)
    photo = await add_photo(demo["review_inspection"], bytes(damaged))
    assert (await upload(client, inspector, photo)).status_code == 204  # accepted at upload
    await worker.run_once()
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    assert blob["state"] == "rejected"
    assert blob["reject_reason"].startswith("corrupt")
    assert blob["spool_path"] is None
    assert await Job.count().where(Job.done_at.is_null()) == 0
    receipt = (
        await client.get(f"/api/inspections/{demo['review_inspection']}/receipt", headers=inspector)
    ).json()
    [entry] = [p for p in receipt["photos"] if p["photoId"] == str(photo.id)]
    assert entry["state"] == "rejected"
    assert entry["reason"].startswith("corrupt")
    root = app.state.settings.data_path
    assert not (root / "storage" / blob_key(photo.sha256)).exists()
    assert [p for p in (root / "spool").rglob("*") if p.is_file()] == []
