"""The outbox's one writer: ``media_job`` rows are added here (uploads, the worker, and the backend's export
jobs alike), on the caller's transaction, so a job commits with the row it works on."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from media.tables import Job
from media.upload_types import now_ms


async def enqueue_jobs(kind: str, keys: Iterable[str], *, now: int | None = None) -> list[uuid.UUID]:
    """One due job of ``kind`` per key; returns their ids."""
    at = now_ms() if now is None else now
    jobs = [Job(id=uuid.uuid4(), kind=kind, key=key, due_at=at, created_at_ms=at) for key in keys]
    if jobs:
        await Job.insert(*jobs)
    return [job.id for job in jobs]


async def enqueue_job(kind: str, key: str, *, now: int | None = None) -> uuid.UUID:
    """One due job of ``kind`` for ``key`` (a blob's sha256, an export's id)."""
    return (await enqueue_jobs(kind, [key], now=now))[0]
