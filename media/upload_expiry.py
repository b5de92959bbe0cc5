"""Housekeeping of the local spool: expired sessions, files a crash left without a row, and the bytes
received so far per photo (the part files' sizes)."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import anyio.to_thread
from piccolo.engine.base import Engine

from media import spool
from media.db import write_tx
from media.tables import Blob, Upload
from media.upload_complete import drop_upload, remove_files
from media.upload_local import expiry
from media.upload_types import UploadConfig


async def expire_local(engine: Engine[Any], config: UploadConfig, cutoff: int) -> int:
    """Delete sessions idle past their TTL and their files; returns how many.

    The row's ``expires_at_ms`` is a lower bound (chunks do not touch the database): a row past it whose
    part was written recently only gets its expiry moved to the part's mtime + TTL.
    """
    rows = await Upload.select(Upload.id).where(Upload.expires_at_ms <= cutoff)
    dropped = 0
    for row in rows:
        part = spool.part_path(config.spool_root, str(row["id"]))
        try:
            expires = expiry(await anyio.to_thread.run_sync(os.stat, part), config)
        except FileNotFoundError:
            expires = 0
        if expires > cutoff:
            async with write_tx(engine):
                await Upload.update({Upload.expires_at_ms: expires}).where(Upload.id == row["id"])
            continue
        await drop_upload(engine, config, row["id"])
        dropped += 1
    return dropped + await _sweep_orphans(config, cutoff)


async def _sweep_orphans(config: UploadConfig, cutoff: int) -> int:
    """Remove spool files of sessions that have no row (the process died between making a session's files
    and committing its row) once they are idle past the TTL; returns how many sessions."""

    def idle_ids() -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        try:
            entries = list(os.scandir(config.spool_root / "parts"))
        except FileNotFoundError:
            return found
        for entry in entries:
            # ``.<id>.json.tmp``: a sidecar being written when the process died
            stem, _, kind = entry.name.removeprefix(".").partition(".")
            try:
                upload_id = uuid.UUID(stem)
                idle = int(entry.stat().st_mtime * 1000) + config.ttl_seconds * 1000 <= cutoff
            except (ValueError, FileNotFoundError):
                continue
            if kind in ("part", "json", "json.tmp") and idle:
                found.add(upload_id)
        return found

    candidates = await anyio.to_thread.run_sync(idle_ids)
    await _sweep_spooled(config, cutoff)
    if not candidates:
        return 0
    known = {row["id"] for row in await Upload.select(Upload.id).where(Upload.id.is_in(list(candidates)))}
    orphans = candidates - known
    for upload_id in orphans:
        await anyio.to_thread.run_sync(remove_files, config.spool_root, str(upload_id))
    return len(orphans)


async def _sweep_spooled(config: UploadConfig, cutoff: int) -> None:
    """Remove verified files that no spooled blob names (a crash between linking one and committing its blob,
    and a session never resumed), once idle past the TTL."""

    def idle_files() -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in (config.spool_root / "sha256").glob("*/*/*"):
            with contextlib.suppress(FileNotFoundError):
                if int(path.stat().st_mtime * 1000) + config.ttl_seconds * 1000 <= cutoff:
                    found[path.name] = path
        return found

    idle = await anyio.to_thread.run_sync(idle_files)
    if not idle:
        return
    rows = await Blob.select(Blob.sha256).where(Blob.sha256.is_in(list(idle)) & (Blob.state == "spooled"))
    for sha in set(idle) - {row["sha256"] for row in rows}:
        await anyio.to_thread.run_sync(spool.remove, idle[sha])


async def uploaded_local(config: UploadConfig, photo_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Bytes received so far per photo with an unfinished upload (its part files' sizes: chunks do not touch
    the database); the largest when a photo has several sessions."""
    sessions = await Upload.select(Upload.id, Upload.photo_id).where(Upload.photo_id.is_in(photo_ids))

    def sizes() -> dict[uuid.UUID, int]:
        out: dict[uuid.UUID, int] = {}
        for row in sessions:
            try:
                got = spool.part_path(config.spool_root, str(row["id"])).stat().st_size
            except FileNotFoundError:
                got = 0
            out[row["photo_id"]] = max(out.get(row["photo_id"], 0), got)
        return out

    return await anyio.to_thread.run_sync(sizes)
