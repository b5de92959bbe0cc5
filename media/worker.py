"""Background workers draining the ``media_job`` outbox: transfer (spool → storage) and derive (thumb, preview).

Claiming: PostgreSQL takes due rows with ``FOR UPDATE SKIP LOCKED`` and sets a lease in the same UPDATE;
SQLite does a conditional UPDATE under ``BEGIN IMMEDIATE`` (one writer at a time). A lease that runs out
(crashed or stuck process) makes the job claimable again; finishing checks the lease is still ours. Failures
back off exponentially with full jitter. Every step is idempotent (content-addressed keys, put_file skips an
identical object), so a job done twice after a lost lease stores nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiofiles
import anyio.to_thread
from piccolo.engine.base import Engine
from piccolo.querystring import QueryString

from media import spool
from media.db import is_postgres, write_tx
from media.jobs import enqueue_jobs
from media.phash import bands, to_signed
from media.storage import BucketMissingError, SourceMismatchError, Storage, StorageError, validate_key
from media.tables import BAND_COLUMNS, Blob, Job
from media.uploads import now_ms

log = logging.getLogger("fieldcheck.media.worker")

VARIANTS: dict[str, int] = {"thumb": 320, "preview": 1600}


@dataclass(frozen=True)
class Derived:
    variants: dict[str, bytes]  # variant -> JPEG bytes
    dhash: int | None = None  # perceptual hash of the upright picture (media.phash)


# Blocking: (source file, {variant: longest side}) -> the derivatives; runs in a worker thread.
DeriveFn = Callable[[Path, dict[str, int]], Derived]
# Called once per blob, when its derive job finished (derivatives and perceptual hash made): the backend
# computes its photos' evidence flags. Not after the transfer: nothing a photo shows changes there.
BlobHook = Callable[[str], Awaitable[None]]


class JobFailed(Exception):
    """Raised by a job handler when retrying cannot help: the job ends with this error recorded."""


@dataclass
class Lease:
    """A handler's hold on its claimed job: ``renew()`` extends it (False once another worker took it over,
    when the handler should stop); ``held()`` says whether it is still ours without extending it."""

    worker: MediaWorker
    job_id: uuid.UUID
    attempts: int

    async def renew(self) -> bool:
        until = self.worker.clock() + int(self.worker.config.lease_seconds * 1000)
        async with write_tx(self.worker.engine):
            rows = await self.worker.engine.run_querystring(
                QueryString(
                    'UPDATE "media_job" SET "lease_until" = {} WHERE "id" = {} AND "lease_owner" = {} '
                    'AND "done_at" IS NULL RETURNING "id"',
                    until,
                    self.job_id,
                    self.worker.owner,
                )
            )
        return bool(rows)


# Other job kinds (the backend's exports): called with the job's key and its lease; an exception other than
# JobFailed is retried with backoff, JobFailed ends the job.
JobHandler = Callable[[str, Lease], Awaitable[None]]


def derivative_key(sha256_hex: str, variant: str) -> str:
    return validate_key(f"derived/{variant}/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}.jpg")


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerConfig:
    lease_seconds: float = 120.0
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 900.0
    batch: int = 8
    poll_seconds: float = 1.0


def backoff_ms(attempts: int, config: WorkerConfig, rng: random.Random | None = None) -> int:
    """Full jitter: uniform in [base/2, min(cap, base·2^(n-1))] so retries of many jobs spread out."""
    ceiling = min(config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** max(0, attempts - 1))
    low = min(ceiling, config.backoff_base_seconds / 2)
    return int((rng or random).uniform(low, ceiling) * 1000)


@dataclass
class Claimed:
    id: uuid.UUID
    kind: str
    key: str
    attempts: int


@dataclass
class MediaWorker:
    engine: Engine[Any]
    storage: Storage
    derive: DeriveFn
    config: WorkerConfig = field(default_factory=WorkerConfig)
    owner: str = field(default_factory=default_owner)
    on_blob: BlobHook | None = None
    clock: Callable[[], int] = now_ms
    handlers: dict[str, JobHandler] = field(default_factory=dict)

    # -- claiming --
    async def claim(self, limit: int | None = None) -> list[Claimed]:
        now = self.clock()
        until = now + int(self.config.lease_seconds * 1000)
        limit = limit or self.config.batch
        if is_postgres(self.engine):
            rows = await self.engine.run_querystring(
                QueryString(
                    'UPDATE "media_job" SET "lease_owner" = {}, "lease_until" = {}, "attempts" = "attempts" + 1 '
                    'WHERE "id" IN (SELECT "id" FROM "media_job" WHERE "done_at" IS NULL AND "due_at" <= {} '
                    'AND ("lease_until" IS NULL OR "lease_until" < {}) ORDER BY "due_at" LIMIT {} '
                    'FOR UPDATE SKIP LOCKED) RETURNING "id", "kind", "key", "attempts"',
                    self.owner,
                    until,
                    now,
                    now,
                    limit,
                )
            )
            return [Claimed(_uuid(r["id"]), r["kind"], r["key"], int(r["attempts"])) for r in rows]
        claimed: list[Claimed] = []
        async with write_tx(self.engine):
            candidates = await self.engine.run_querystring(
                QueryString(
                    'SELECT "id" FROM "media_job" WHERE "done_at" IS NULL AND "due_at" <= {} '
                    'AND ("lease_until" IS NULL OR "lease_until" < {}) ORDER BY "due_at" LIMIT {}',
                    now,
                    now,
                    limit,
                )
            )
            for cand in candidates:
                rows = await self.engine.run_querystring(
                    QueryString(
                        'UPDATE "media_job" SET "lease_owner" = {}, "lease_until" = {}, '
                        '"attempts" = "attempts" + 1 WHERE "id" = {} AND "done_at" IS NULL AND "due_at" <= {} '
                        'AND ("lease_until" IS NULL OR "lease_until" < {}) RETURNING "id", "kind", "key", "attempts"',
                        self.owner,
                        until,
                        _uuid(cand["id"]),
                        now,
                        now,
                    )
                )
                claimed += [Claimed(_uuid(r["id"]), r["kind"], r["key"], int(r["attempts"])) for r in rows]
        return claimed

    async def _finish(self, job: Claimed, *, error: str | None = None) -> bool:
        """Mark done (still under our lease). False when the lease was lost to another worker."""
        async with write_tx(self.engine):
            rows = await self.engine.run_querystring(
                QueryString(
                    'UPDATE "media_job" SET "done_at" = {}, "lease_until" = NULL, "last_error" = {} '
                    'WHERE "id" = {} AND "lease_owner" = {} AND "done_at" IS NULL RETURNING "id"',
                    self.clock(),
                    error,
                    job.id,
                    self.owner,
                )
            )
        return bool(rows)

    async def _retry(self, job: Claimed, error: str) -> None:
        due = self.clock() + backoff_ms(job.attempts, self.config)
        async with write_tx(self.engine):
            await self.engine.run_querystring(
                QueryString(
                    'UPDATE "media_job" SET "due_at" = {}, "lease_until" = NULL, "lease_owner" = NULL, '
                    '"last_error" = {} WHERE "id" = {} AND "lease_owner" = {} AND "done_at" IS NULL',
                    due,
                    error[:2000],
                    job.id,
                    self.owner,
                )
            )

    # -- running --
    async def run_once(self) -> int:
        """Process every job due now (claiming in batches) and return how many were handled."""
        handled = 0
        while True:
            jobs = await self.claim()
            if not jobs:
                return handled
            for job in jobs:
                await self.process(job)
                handled += 1

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # a database hiccup must not kill the loop; the leases make retrying safe
                log.exception("media worker pass failed")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.config.poll_seconds)

    async def process(self, job: Claimed) -> None:
        try:
            if job.kind == "transfer":
                await self.transfer(job.key)
            elif job.kind == "derive":
                await self.make_derivatives(job.key)
            elif job.kind in self.handlers:
                await self.handlers[job.kind](job.key, Lease(self, job.id, job.attempts))
                await self._finish(job)
                return
            else:
                await self._finish(job, error=f"unknown job kind {job.kind!r}")
                return
        except (_Permanent, JobFailed) as exc:
            log.error("media job %s %s failed for good: %s", job.kind, job.key, exc)
            await self._finish(job, error=str(exc))
            return
        except (StorageError, OSError, _Later) as exc:
            log.warning("media job %s %s attempt %d failed: %s", job.kind, job.key, job.attempts, exc)
            await self._retry(job, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # unexpected: keep it retrying (with backoff) and visible in last_error
            log.exception("media job %s %s crashed", job.kind, job.key)
            await self._retry(job, f"{type(exc).__name__}: {exc}")
            return
        await self._finish(job)
        if self.on_blob is not None and job.kind == "derive":
            await self.on_blob(job.key)

    # -- transfer --
    async def transfer(self, sha: str) -> None:
        blob = await Blob.select().where(Blob.sha256 == sha).first()
        if blob is None or blob["state"] == "rejected":
            return
        path = Path(blob["spool_path"]) if blob["spool_path"] else None
        if blob["state"] == "stored":
            await anyio.to_thread.run_sync(spool.remove, path)
            return
        key = blob["storage_key"]
        size = int(blob["size"])
        if path is None or not await anyio.to_thread.run_sync(path.exists):
            # crashed after the copy but before marking? then the object is there with the right size
            if await self.storage.stat(key) == size:
                await self._mark_stored(sha)
                return
            await self._lose(sha, "the spool copy is missing and storage does not have it")
            raise _Permanent(f"{sha}: spool copy missing; the device must upload it again")
        try:
            stored = await self._put(key, path, sha, size, blob["mime"] or None)
        except SourceMismatchError as exc:
            # our verified spool copy changed on disk: throw it away, the device (which keeps photos until the
            # receipt says stored) uploads again. The store refusing or misreporting the body (BadDigest, a size
            # after the write) is an IntegrityError of the store's side: a StorageError, retried with backoff.
            await self._lose(sha, f"spool copy damaged: {exc}")
            raise _Permanent(f"{sha}: spool copy damaged: {exc}") from exc
        confirmed = await self.storage.stat(key)
        if confirmed != size:
            raise _Later(f"{key}: storage reports {confirmed} bytes after the copy, expected {size}")
        log.info("stored %s (%d bytes, already present: %s)", key, size, stored.already_present)
        await self._mark_stored(sha)
        await anyio.to_thread.run_sync(spool.remove, path)

    async def _put(self, key: str, path: Path, sha: str, size: int, content_type: str | None) -> Any:
        try:
            return await self.storage.put_file(key, path, sha, size, content_type=content_type)
        except BucketMissingError:
            # the app's start-up could not create it (store down then): create it now, once, and retry
            ensure = getattr(self.storage, "ensure_bucket", None)
            if ensure is None:
                raise
            log.warning("bucket missing; creating it")
            await ensure()
            return await self.storage.put_file(key, path, sha, size, content_type=content_type)

    async def _mark_stored(self, sha: str) -> None:
        from datetime import UTC, datetime

        async with write_tx(self.engine):
            await Blob.update(
                {Blob.state: "stored", Blob.spool_path: None, Blob.stored_at: datetime.now(UTC)}
            ).where((Blob.sha256 == sha) & (Blob.state == "spooled"))

    async def _lose(self, sha: str, reason: str) -> None:
        """Forget a blob whose bytes are gone so the receipt asks the device for them again."""
        log.error("blob %s dropped: %s", sha, reason)
        blob = await Blob.select(Blob.spool_path).where(Blob.sha256 == sha).first()
        async with write_tx(self.engine):
            await Blob.delete().where((Blob.sha256 == sha) & (Blob.state == "spooled"))
            await Job.update({Job.done_at: self.clock(), Job.last_error: reason}).where(
                (Job.key == sha) & Job.done_at.is_null()
            )
        if blob and blob["spool_path"]:
            await anyio.to_thread.run_sync(spool.remove, Path(blob["spool_path"]))

    # -- derivatives --
    async def make_derivatives(self, sha: str) -> None:
        blob = await Blob.select().where(Blob.sha256 == sha).first()
        if blob is None or blob["state"] == "rejected" or (blob["derived"] and blob["phash"] is not None):
            return
        with tempfile.TemporaryDirectory(prefix="fc-derive-") as tmp:
            source = await self._source(blob, Path(tmp))
            try:
                derived = await anyio.to_thread.run_sync(self.derive, source, dict(VARIANTS))
            except DecodeRejected as exc:
                # the upload only checked headers and structure; the first full decode is here
                await self._reject(sha, f"{exc.reason}: {exc.detail}")
                raise _Permanent(f"{sha}: rejected at decode: {exc.reason}: {exc.detail}") from exc
            except Exception as exc:
                # not the image's fault (memory, a bug): recorded, not retried forever
                async with write_tx(self.engine):
                    await Blob.update({Blob.derive_error: f"{type(exc).__name__}: {exc}"}).where(
                        Blob.sha256 == sha
                    )
                raise _Permanent(f"{sha}: derivatives failed: {exc}") from exc
            for variant, data in derived.variants.items():
                out = Path(tmp) / f"{variant}.jpg"
                await anyio.to_thread.run_sync(out.write_bytes, data)
                digest, size = await anyio.to_thread.run_sync(spool.sha256_file, out)
                await self._put(derivative_key(sha, variant), out, digest, size, "image/jpeg")
        values: dict[Any, Any] = {Blob.derived: True, Blob.derive_error: None}
        if derived.dhash is not None:
            values[Blob.phash] = to_signed(derived.dhash)
            values.update(zip(BAND_COLUMNS, bands(derived.dhash), strict=True))
        async with write_tx(self.engine):
            await Blob.update(values).where(Blob.sha256 == sha)

    async def _reject(self, sha: str, reason: str) -> None:
        """The bytes are not a decodable image: the blob (and so every photo of it) becomes ``rejected``
        with the reason, which the receipt shows; the spool and stored copies are removed."""
        log.warning("blob %s rejected at decode: %s", sha, reason)
        blob = await Blob.select(Blob.spool_path, Blob.storage_key).where(Blob.sha256 == sha).first()
        async with write_tx(self.engine):
            await Blob.update(
                {Blob.state: "rejected", Blob.reject_reason: reason, Blob.spool_path: None}
            ).where(Blob.sha256 == sha)
            await Job.update({Job.done_at: self.clock(), Job.last_error: f"rejected: {reason}"}).where(
                (Job.key == sha) & (Job.kind == "transfer") & Job.done_at.is_null()
            )
        if blob is None:
            return
        if blob["spool_path"]:
            await anyio.to_thread.run_sync(spool.remove, Path(blob["spool_path"]))
        if blob["storage_key"]:
            with contextlib.suppress(StorageError):
                await self.storage.delete(blob["storage_key"])

    async def _source(self, blob: dict[str, Any], tmp: Path) -> Path:
        """The original: the spool copy while it exists, else downloaded from storage into ``tmp``."""
        if blob["spool_path"]:
            path = Path(blob["spool_path"])
            if await anyio.to_thread.run_sync(path.exists):
                copy = tmp / "original"
                # a private copy: the transfer worker may delete the spool file meanwhile
                await anyio.to_thread.run_sync(_link_or_copy, path, copy)
                return copy
        target = tmp / "original"
        async with aiofiles.open(target, "wb") as handle:
            async for chunk in self.storage.iter_bytes(blob["storage_key"]):
                await handle.write(chunk)
        return target


class DecodeRejected(Exception):
    """Raised by a DeriveFn when the file does not decode as an image (truncated, corrupt, bomb)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class _Permanent(Exception):
    """Retrying cannot help; the job ends with this error recorded."""


class _Later(Exception):
    """Transient; retried with backoff."""


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        import shutil

        shutil.copyfile(src, dst)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def enqueue_missing_hashes(
    engine: Engine[Any], clock: Callable[[], int] = now_ms, limit: int = 100
) -> int:
    """Derive jobs for stored blobs made before perceptual hashes existed (derived, no hash, no error, no
    pending job): the worker makes their derivatives again and stores the hash. Returns how many."""
    rows = await engine.run_querystring(
        QueryString(
            'SELECT b."sha256" FROM "media_blob" b WHERE b."state" = {} AND b."derived" = {} '
            'AND b."phash" IS NULL AND b."derive_error" IS NULL AND NOT EXISTS (SELECT 1 FROM "media_job" j '
            'WHERE j."key" = b."sha256" AND j."kind" = {} AND j."done_at" IS NULL) LIMIT {}',
            "stored",
            True,
            "derive",
            limit,
        )
    )
    if not rows:
        return 0
    now = clock()
    async with write_tx(engine):
        await enqueue_jobs("derive", (r["sha256"] for r in rows), now=now)
    return len(rows)


async def pending_jobs(kind: str | None = None) -> int:
    query = Job.count().where(Job.done_at.is_null())
    if kind is not None:
        query = query.where(Job.kind == kind)
    return int(await query)


async def queue_summary(now_ms: int) -> list[tuple[str, int, float]]:
    """Per kind: (kind, jobs not done, seconds since the oldest of them fell due; 0 when none is due yet)."""
    rows = await Job.raw(
        "SELECT kind, COUNT(*) AS depth, MIN(due_at) AS oldest FROM media_job WHERE done_at IS NULL GROUP BY kind"
    )
    return [(str(r["kind"]), int(r["depth"]), max(0.0, (now_ms - int(r["oldest"])) / 1000)) for r in rows]


def image_deriver(*, max_pixels: int, max_bytes: int) -> DeriveFn:
    """PDFs: the first page (media.documents.render_first_page); DOCX/XLSX: nothing. Photos: thumb and
    preview through media.images.make_derivatives (one draft() decode, upright, no EXIF), after
    a JPEG's compressed data is checked whole (media.image_structure.check_jpeg_data)."""

    def derive(path: Path, sizes: dict[str, int]) -> Derived:
        from media.documents import PDF, DocumentRejected, render_first_page, sniff_document
        from media.images import ImageRejected, check_jpeg_data, make_derivatives, sniff_file

        with path.open("rb") as handle:
            document = sniff_document(handle.read(1024))
        if document == PDF:
            # a PDF's first page stands for it (no perceptual hash: near-duplicate photos are about pictures)
            try:
                pages = render_first_page(path, sizes)
            except DocumentRejected as exc:
                raise DecodeRejected(exc.reason, exc.detail) from exc
            return Derived({name: page.data for name, page in pages.items()}, None)
        if document is not None:
            return Derived({}, None)  # DOCX/XLSX: no render, the app shows a type icon
        try:
            if sniff_file(path) == "image/jpeg":
                check_jpeg_data(path)  # damage in the middle that the decode below would paint grey
            made = make_derivatives(path, max_pixels=max_pixels, max_bytes=max_bytes, sizes=sizes)
        except ImageRejected as exc:
            raise DecodeRejected(exc.reason, exc.detail) from exc
        return Derived(
            {name: d.data for name, d in made.items()},
            next((d.dhash for d in made.values() if d.dhash is not None), None),
        )

    return derive
