"""Runs one export job under the media worker's lease: builds the file in a private temporary directory,
puts it into storage under a key fixed by the job id, and marks the job done only while the lease is ours.

Run twice (a lease lost to a slow first run), the second run writes the same key again from its own
temporary file; the store replaces the object whole (a rename on local storage, one PUT on S3), so there is one
file and never a half-written one, and only the run holding the lease marks the job done. Any error marks the
job ``failed`` with the reason (a new export can be started); nothing is retried behind the user's back.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio.to_thread

from backend.accounts.services import auth_user_from_row
from backend.accounts.tables import User
from backend.db import write_tx
from backend.exports.services import params_of
from backend.exports.sources import ROUND_KINDS, Blocks, Source, round_source
from backend.exports.tables import ExportJob
from backend.exports.writers import TableWriter, open_writer
from backend.inspections.scope import visible_facility_ids
from backend.reports.printable import PrintableParams, to_pdf
from backend.reports.registry import PRINTABLES, WORKBOOKS
from backend.settings import Settings
from backend.vocabulary import Lang
from media import spool
from media.storage import Storage
from media.worker import JobFailed, JobHandler, Lease

log = logging.getLogger("fieldcheck.exports")

PROGRESS_EVERY_SECONDS = 0.5


class LeaseLost(Exception):
    """Another worker holds the job now; this run stops without touching the job's state."""


def export_handler(*, settings: Settings, storage: Storage) -> JobHandler:
    async def handle(key: str, lease: Lease) -> None:
        job = await ExportJob.select().where(ExportJob.id == UUID(key)).first()
        if job is None or job["status"] in ("done", "failed"):
            return
        await _update(job["id"], status="running", attempts=lease.attempts, progress_note="started")
        try:
            await run_export(job, lease=lease, settings=settings, storage=storage)
        except LeaseLost:
            log.warning("export %s: lease lost, the other worker finishes it", key)
        except Exception as exc:
            log.exception("export %s failed", key)
            await _update(
                job["id"],
                status="failed",
                error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=datetime.now(UTC),
            )
            raise JobFailed(str(exc)) from exc

    return handle


async def run_export(job: dict[str, Any], *, lease: Lease, settings: Settings, storage: Storage) -> None:
    params = params_of(job)
    user_row = await User.select().where(User.id == job["requested_by"]).first()
    if user_row is None or not user_row["active"]:
        raise PermissionError("the user who asked for this export is no longer active")
    user = auth_user_from_row(user_row)  # the requester's rights now, not when it was queued
    progress = _Progress(job["id"], lease)
    lang: Lang = "en" if params.get("lang") == "en" else "zh"  # older jobs have none: Chinese
    with tempfile.TemporaryDirectory(prefix="fc-export-") as tmp:
        # storage keys are ASCII; the readable (Chinese) name is the download's, from the row
        path = Path(tmp) / f"export.{job['format']}"
        if job["kind"] in ROUND_KINDS:
            visible = await visible_facility_ids(user)
            source = await round_source(job["kind"], UUID(params["round_id"]), visible, lang)
            rows = await _write_table(source, job["format"], path, progress)
        elif job["format"] == "xlsx":  # a report made as a workbook (WORKBOOKS)
            about = {k: UUID(v) for k, v in params.items() if k.endswith("_id")}
            book = await WORKBOOKS[job["kind"]](user, PrintableParams(**about, lang=lang))
            await anyio.to_thread.run_sync(path.write_bytes, book)
            rows = 0
        else:
            render = PRINTABLES[job["kind"]]
            about = {k: UUID(v) for k, v in params.items() if k.endswith("_id")}
            printable = await render(user, PrintableParams(**about, lang=lang), storage)
            await progress.report(0.5, "printing", 0, force=True)
            pdf = await to_pdf(printable, chromium=settings.chromium, pwa_dir=settings.pwa_dir)
            await anyio.to_thread.run_sync(path.write_bytes, pdf)
            rows = 0
        digest, size = await anyio.to_thread.run_sync(spool.sha256_file, path)
        key = f"exports/{job['id']}/export.{job['format']}"
        if not await lease.renew():
            raise LeaseLost
        await storage.put_file(key, path, digest, size, content_type=job["content_type"])
    async with write_tx():
        if not await lease.renew():
            raise LeaseLost
        await ExportJob.update(
            {
                ExportJob.status: "done",
                ExportJob.progress: 1.0,
                ExportJob.progress_note: "done",
                ExportJob.rows: rows,
                ExportJob.storage_key: key,
                ExportJob.size: size,
                ExportJob.error: None,
                ExportJob.finished_at: datetime.now(UTC),
            }
        ).where(ExportJob.id == job["id"])


async def _write_table(source: Source, fmt: str, path: Path, progress: _Progress) -> int:
    writer: TableWriter = await anyio.to_thread.run_sync(open_writer, fmt, path, source.header, source.sheet)
    rows = 0
    try:
        for part in source.parts:
            blocks = await part()
            while True:
                step = await anyio.to_thread.run_sync(_next_block, blocks, writer)
                if step is None:
                    break
                written, done = step
                rows += written
                await progress.report(0.95 * done / max(1, source.total), "rows", rows)
            del blocks  # the part's computed round goes before the next part is computed
    finally:
        await anyio.to_thread.run_sync(writer.close)
    await progress.report(0.97, "saving", rows, force=True)
    return rows


def _next_block(blocks: Blocks, writer: TableWriter) -> tuple[int, int] | None:
    """Pull one block from the source and write it (both in the worker thread)."""
    try:
        block, done = next(blocks)
    except StopIteration:
        return None
    writer.write(block)
    return len(block), done


class _Progress:
    def __init__(self, job_id: UUID, lease: Lease, clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id, self.lease, self.clock = job_id, lease, clock
        self.last = 0.0

    async def report(self, fraction: float, note: str, rows: int, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = now
        if not await self.lease.renew():  # also keeps a long export's lease alive
            raise LeaseLost
        await _update(self.job_id, progress=min(1.0, fraction), progress_note=note, rows=rows)


async def _update(job_id: UUID, **values: Any) -> None:
    async with write_tx():
        await ExportJob.update({getattr(ExportJob, k): v for k, v in values.items()}).where(
            ExportJob.id == job_id
        )
