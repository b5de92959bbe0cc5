"""Background workers: photo transfer (spool → storage) and derivatives, plus housekeeping.

Two ways to run them, same code: in-process from the app's lifespan (``settings.workers``, the default for
one machine) and as ``fieldcheck worker [--once]`` processes. Any number may run against one database: jobs
are claimed with leases (see media.worker), so nothing needs to know about the other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from piccolo.engine.base import Engine

from backend.evidence.services import refresh_unflagged
from backend.exports.runner import export_handler
from backend.exports.services import JOB_KIND
from backend.media_api.services import after_blob_derived, upload_config
from backend.settings import Settings
from media import uploads
from media.blob_jobs import image_deriver
from media.storage import Storage
from media.worker import MediaWorker, WorkerConfig, enqueue_missing_hashes

log = logging.getLogger("fieldcheck.workers")

HOUSEKEEPING_EVERY_SECONDS = 60.0


def build_media_worker(
    settings: Settings, engine: Engine[Any], storage: Storage, config: WorkerConfig | None = None
) -> MediaWorker:
    return MediaWorker(
        engine=engine,
        storage=storage,
        derive=image_deriver(max_pixels=settings.max_image_pixels, max_bytes=settings.max_upload_bytes),
        config=config or WorkerConfig(lease_seconds=settings.worker_lease_seconds),
        on_blob=after_blob_derived,
        handlers={JOB_KIND: export_handler(settings=settings, storage=storage)},
    )


async def housekeeping(engine: Engine[Any], settings: Settings) -> None:
    """Drop expired upload sessions, queue blobs stored before perceptual hashes existed, and compute the
    evidence flags (and the reuse at another facility) of photos whose bytes were on the server when they were
    added."""
    expired = await uploads.expire_uploads(engine, upload_config(settings))
    if expired:
        log.info("removed %d expired upload sessions", expired)
    hashing = await enqueue_missing_hashes(engine)
    if hashing:
        log.info("queued %d stored photos for their perceptual hash", hashing)
    await refresh_unflagged()


async def run_workers(
    settings: Settings,
    *,
    once: bool,
    engine: Engine[Any] | None = None,
    storage: Storage | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Drain due jobs once (``once=True``) or until ``stop`` is set / SIGTERM (CLI)."""
    if engine is None:
        from backend.db import bind_engine, make_engine, prepare_engine
        from backend.tables_index import TABLES

        engine = make_engine(settings)
        bind_engine(engine, TABLES)
        await prepare_engine(engine)
    if storage is None:
        from backend.storage import build_storage

        storage = build_storage(settings)
    worker = build_media_worker(settings, engine, storage)
    if once:
        await housekeeping(engine, settings)
        handled = await worker.run_once()
        log.info("worker pass done: %d jobs", handled)
        return
    stop = stop or _stop_on_signals()
    log.info("media worker %s started", worker.owner)
    tasks = [
        asyncio.create_task(worker.run_forever(stop), name="media-worker"),
        asyncio.create_task(_housekeeping_loop(engine, settings, stop), name="media-housekeeping"),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("media worker %s stopped", worker.owner)


async def _housekeeping_loop(engine: Engine[Any], settings: Settings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await housekeeping(engine, settings)
        except Exception:  # keep going; the next pass retries
            log.exception("housekeeping failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=HOUSEKEEPING_EVERY_SECONDS)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
