"""Background workers draining the ``media_job`` outbox: claim a due job, run it, finish or retry it. What the
transfer (spool → storage) and derive (thumb, preview) jobs do to a blob is media/blob_jobs.py.

Claiming: PostgreSQL takes due rows with ``FOR UPDATE SKIP LOCKED`` and sets a lease in the same UPDATE;
SQLite does a conditional UPDATE under ``BEGIN IMMEDIATE`` (one writer at a time). A lease that runs out
(crashed or stuck process) makes the job claimable again; finishing checks the lease is still ours. Failures
back off exponentially with full jitter. Every step is idempotent, so a job done twice after a lost lease
stores nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from piccolo.engine.base import Engine
from piccolo.querystring import QueryString

from media.blob_jobs import DeriveFn, PermanentFailure, RetryLater, make_derivatives, transfer
from media.db import is_postgres, write_tx
from media.jobs import enqueue_jobs
from media.storage import Storage, StorageError
from media.tables import Job
from media.uploads import now_ms

log = logging.getLogger("fieldcheck.media.worker")


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
                await transfer(job.key, engine=self.engine, storage=self.storage, clock=self.clock)
            elif job.kind == "derive":
                await make_derivatives(
                    job.key, engine=self.engine, storage=self.storage, derive=self.derive, clock=self.clock
                )
            elif job.kind in self.handlers:
                await self.handlers[job.kind](job.key, Lease(self, job.id, job.attempts))
                await self._finish(job)
                return
            else:
                await self._finish(job, error=f"unknown job kind {job.kind!r}")
                return
        except (PermanentFailure, JobFailed) as exc:
            log.error("media job %s %s failed for good: %s", job.kind, job.key, exc)
            await self._finish(job, error=str(exc))
            return
        except (StorageError, OSError, RetryLater) as exc:
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
