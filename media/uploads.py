"""Resumable uploads (a tus 1.0 subset) into the spool, the whole-file check, and the blob + outbox write.

Service functions take what they need as arguments (engine, config, a content validator); the backend does
authorization and links photos. HTTP shapes live in backend/media_api.

The spool is the source of truth for an unfinished upload, as in tusd's file store: the part file's size is
the offset, and a sidecar written at creation holds the session's facts. A PATCH takes ``flock(LOCK_EX)`` on
the part (so writers of one upload serialize, also across processes), compares ``Upload-Offset`` with the
file size, appends, fsyncs and answers: no database read or write per chunk. The database row
(``media_upload``) is written at creation and removed at the end; it is what lists and expires sessions.

Layout: errors and header parsing in media/upload_errors.py, config and result types in media/upload_types.py,
a PATCH's bytes onto the part in media/upload_chunk.py, the last-byte step (finalize, image_validator) in
media/upload_complete.py; all re-exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from piccolo.engine.base import Engine

from media import spool
from media.db import write_tx
from media.tables import Upload
from media.upload_chunk import write_chunk
from media.upload_complete import blob_state as blob_state
from media.upload_complete import blobs as blobs
from media.upload_complete import drop_upload, remove_files
from media.upload_complete import finalize as finalize
from media.upload_complete import image_validator as image_validator
from media.upload_complete import stored_blobs as stored_blobs
from media.upload_errors import ChunkChecksumMismatch as ChunkChecksumMismatch
from media.upload_errors import ClientGone as ClientGone
from media.upload_errors import ContentRejected as ContentRejected
from media.upload_errors import DigestMismatch as DigestMismatch
from media.upload_errors import OffsetMismatch as OffsetMismatch
from media.upload_errors import TooLarge as TooLarge
from media.upload_errors import UploadBusy as UploadBusy
from media.upload_errors import UploadError as UploadError
from media.upload_errors import UploadNotFound as UploadNotFound
from media.upload_errors import check_sha256 as check_sha256
from media.upload_errors import parse_checksum as parse_checksum
from media.upload_types import MAX_CHUNK_BYTES as MAX_CHUNK_BYTES
from media.upload_types import MIN_CHUNK_BYTES as MIN_CHUNK_BYTES
from media.upload_types import Appended as Appended
from media.upload_types import ContentFacts as ContentFacts
from media.upload_types import Created as Created
from media.upload_types import UploadConfig as UploadConfig
from media.upload_types import UploadStatus as UploadStatus
from media.upload_types import Validator as Validator
from media.upload_types import forget_hash, keep_hash, take_hash
from media.upload_types import now_ms as now_ms
from media.upload_types import utc_from_ms as utc_from_ms


# -- create / status --
async def create_upload(
    *,
    engine: Engine[Any],
    config: UploadConfig,
    photo_id: uuid.UUID,
    sha256_hex: str,
    size: int,
    mime: str,
    user_id: uuid.UUID,
) -> Created:
    """Start (or resume) an upload for ``photo_id``; idempotent for the same photo, file and user."""
    check_sha256(sha256_hex)
    if size <= 0:
        raise ContentRejected("the file is empty (0 bytes)", code="empty_file")
    if size > config.max_upload_bytes:
        raise TooLarge(
            f"the file is {size} bytes; the limit is {config.max_upload_bytes} bytes",
            limit=config.max_upload_bytes,
        )
    blob = await blob_state(sha256_hex)
    if blob is not None:
        if blob["state"] == "rejected":
            raise ContentRejected(blob["reject_reason"] or "this file was refused", code="content_rejected")
        # spooled or stored: the bytes are already safe here, nothing to send
        return Created(complete=True, blob_state=blob["state"])
    now = now_ms()
    upload_id = uuid.uuid4()
    path = spool.part_path(config.spool_root, str(upload_id))
    expires = now + config.ttl_seconds * 1000
    # The new session's files are made while the database is asked (both wait on the disk); a resumed
    # session or a failed transaction removes them again. A sidecar without a row is also harmless: no PATCH
    # finds an upload id nobody was given, and housekeeping removes it.
    files = asyncio.ensure_future(
        asyncio.to_thread(
            _create_files, config.spool_root, _meta(upload_id, photo_id, sha256_hex, size, user_id)
        )
    )
    resumed: Created | None = None
    try:
        async with write_tx(engine):
            existing = (
                await Upload.select()
                .where(
                    (Upload.photo_id == photo_id)
                    & (Upload.user_id == user_id)
                    & (Upload.sha256 == sha256_hex)
                )
                .first()
            )
            status = None
            if existing is not None and existing["size"] == size:
                status = await _status(config, existing, now)
            if existing is not None and status is not None:
                resumed = Created(
                    complete=False,
                    upload_id=existing["id"],
                    offset=status.offset,
                    expires_at_ms=status.expires_at_ms,
                )
            else:
                await Upload.insert(
                    Upload(
                        id=upload_id,
                        photo_id=photo_id,
                        sha256=sha256_hex,
                        size=size,
                        mime=mime[:40],
                        spool_path=str(path),
                        user_id=user_id,
                        created_at_ms=now,
                        expires_at_ms=expires,
                    )
                )
    except BaseException:
        await _discard_files(files, config.spool_root, upload_id)
        raise
    if resumed is not None:
        await _discard_files(files, config.spool_root, upload_id)
        return resumed
    await files
    return Created(complete=False, upload_id=upload_id, offset=0, expires_at_ms=expires)


async def _discard_files(files: asyncio.Future[None], root: Path, upload_id: uuid.UUID) -> None:
    with contextlib.suppress(Exception):
        await asyncio.shield(files)
    await anyio.to_thread.run_sync(remove_files, root, str(upload_id))


def _meta(
    upload_id: uuid.UUID, photo_id: uuid.UUID, sha256_hex: str, size: int, user_id: uuid.UUID
) -> dict[str, Any]:
    return {
        "id": str(upload_id),
        "photoId": str(photo_id),
        "sha256": sha256_hex,
        "size": size,
        "userId": str(user_id),
    }


def _create_files(root: Path, meta: dict[str, Any]) -> None:
    # the part first: a sidecar always has its part (the part alone is harmless, housekeeping removes it)
    spool.ensure_part(spool.part_path(root, meta["id"]))
    spool.write_meta(spool.meta_path(root, meta["id"]), meta)


async def _status(config: UploadConfig, row: dict[str, Any], now: int) -> UploadStatus | None:
    """Status of a session row found by POST (recreating a lost sidecar); None when expired or gone."""
    meta = _meta(row["id"], row["photo_id"], row["sha256"], int(row["size"]), row["user_id"])
    part = spool.part_path(config.spool_root, str(row["id"]))

    def look() -> os.stat_result | None:
        try:
            st = part.stat()
        except FileNotFoundError:
            return None
        if spool.read_meta(spool.meta_path(config.spool_root, meta["id"])) is None:
            spool.write_meta(spool.meta_path(config.spool_root, meta["id"]), meta)
        return st

    st = await anyio.to_thread.run_sync(look)
    if st is None:
        return None
    expires = _expiry(st, config)
    if expires <= now:
        return None
    return UploadStatus(
        row["id"], row["photo_id"], row["sha256"], int(row["size"]), st.st_size, expires, part
    )


def _expiry(st: os.stat_result, config: UploadConfig) -> int:
    # TTL counts from the last write (the part's mtime moves with every appended chunk)
    return int(st.st_mtime * 1000) + config.ttl_seconds * 1000


def _read_session(
    config: UploadConfig, upload_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[dict[str, Any], os.stat_result]:
    """Blocking: the sidecar and the part's stat, or UploadNotFound (also for another user's upload)."""
    meta = spool.read_meta(spool.meta_path(config.spool_root, str(upload_id)))
    try:
        if meta is None or meta.get("userId") != str(user_id):
            raise FileNotFoundError
        st = spool.part_path(config.spool_root, str(upload_id)).stat()
    except FileNotFoundError:
        raise UploadNotFound(
            "no such upload (finished, expired or never created); POST /api/uploads again"
        ) from None
    if _expiry(st, config) <= now_ms():
        raise UploadNotFound("this upload expired; POST /api/uploads again")
    return meta, st


def _session_status(config: UploadConfig, upload_id: uuid.UUID, user_id: uuid.UUID) -> UploadStatus:
    """Blocking: the session from the spool (sidecar + part size), no database query."""
    meta, st = _read_session(config, upload_id, user_id)
    return UploadStatus(
        id=upload_id,
        photo_id=uuid.UUID(meta["photoId"]),
        sha256=str(meta["sha256"]),
        size=int(meta["size"]),
        offset=st.st_size,
        expires_at_ms=_expiry(st, config),
        part=spool.part_path(config.spool_root, str(upload_id)),
    )


async def get_upload(config: UploadConfig, upload_id: uuid.UUID, user_id: uuid.UUID) -> UploadStatus:
    """The session (only to the user who created it: ids are capabilities, not to be shared).

    Read from the spool (sidecar + part size), no database query: HEAD answers the part file's size.
    """
    return await anyio.to_thread.run_sync(_session_status, config, upload_id, user_id)


def _status_and_lock(
    config: UploadConfig, upload_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[UploadStatus, tuple[int, int] | None]:
    """Blocking: the session and, if free, its part opened under the lock (one trip to a worker thread)."""
    status = _session_status(config, upload_id, user_id)
    return status, _open_locked(status.part)


def _open_locked(part: Path) -> tuple[int, int] | None:
    """Blocking: :func:`spool.open_locked`, a part that is gone being UploadNotFound."""
    try:
        return spool.open_locked(part)
    except FileNotFoundError:
        raise UploadNotFound("no such upload (finished or expired); POST /api/uploads again") from None


# -- PATCH --
LOCK_WAIT_SECONDS = 10.0
_LOCK_POLL_SECONDS = 0.01


async def _lock(config: UploadConfig, status: UploadStatus) -> tuple[int, int]:
    """flock the part (polling, so no thread sits blocked); UploadBusy after LOCK_WAIT_SECONDS."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        got = await anyio.to_thread.run_sync(_open_locked, status.part)
        if got is not None:
            return got
        if time.monotonic() > deadline:
            size = (await anyio.to_thread.run_sync(os.stat, status.part)).st_size
            raise UploadBusy(
                "another request is still writing this upload; HEAD for the offset and retry", offset=size
            )
        await asyncio.sleep(_LOCK_POLL_SECONDS)


async def append_chunk(
    *,
    engine: Engine[Any],
    config: UploadConfig,
    validator: Validator,
    upload_id: uuid.UUID,
    user_id: uuid.UUID,
    offset: int,
    body: AsyncIterator[bytes],
    content_length: int | None,
    checksum: bytes | None,
) -> Appended:
    """Append one chunk at ``offset`` under the upload's lock; fsync. The last byte triggers :func:`finalize`.

    The part file's size is the offset: no database write per chunk. The body is consumed piece by piece
    (never held whole). On a cut connection the bytes that arrived are kept (fsynced) unless the chunk
    carried a checksum, which can then not be checked: such a chunk is cut off again.
    """
    if content_length is not None and content_length > config.max_chunk_bytes:
        raise TooLarge(f"a chunk may be at most {config.max_chunk_bytes} bytes", limit=config.max_chunk_bytes)
    status, locked = await anyio.to_thread.run_sync(_status_and_lock, config, upload_id, user_id)
    size = status.size
    fd, current = locked if locked is not None else await _lock(config, status)
    try:
        if offset != current:
            raise OffsetMismatch(
                f"Upload-Offset is {offset} but the server has {current} bytes", offset=current
            )
        remaining = size - offset
        if content_length is not None and content_length > remaining:
            raise UploadError(
                f"the chunk ({content_length} bytes) goes past the declared size ({remaining} bytes left)",
                code="chunk_past_end",
            )
        whole = take_hash(upload_id, offset)
        written, gone, whole = await write_chunk(fd, offset, remaining, body, checksum, whole, config)
        new_offset = offset + written
        keep_hash(upload_id, new_offset, whole)
        if gone:
            raise ClientGone(f"connection cut at {new_offset} of {size}")
        if new_offset < size:
            return Appended(offset=new_offset, size=size, complete=False)
        forget_hash(upload_id)
        digest = whole.hexdigest() if whole is not None else None
        state = await finalize(
            engine=engine, config=config, validator=validator, upload=status, digest=digest
        )
        return Appended(offset=size, size=size, complete=True, blob_state=state, sha256=status.sha256)
    finally:
        # closing the fd releases the flock
        await anyio.to_thread.run_sync(os.close, fd)


async def expire_uploads(engine: Engine[Any], config: UploadConfig, *, now: int | None = None) -> int:
    """Delete sessions idle past their TTL and their files; returns how many.

    The row's ``expires_at_ms`` is a lower bound (chunks do not touch the database): a row past it whose
    part was written recently only gets its expiry moved to the part's mtime + TTL.
    """
    cutoff = now_ms() if now is None else now
    rows = await Upload.select(Upload.id).where(Upload.expires_at_ms <= cutoff)
    dropped = 0
    for row in rows:
        part = spool.part_path(config.spool_root, str(row["id"]))
        try:
            expires = _expiry(await anyio.to_thread.run_sync(os.stat, part), config)
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
            stem, _, kind = entry.name.partition(".")
            try:
                upload_id = uuid.UUID(stem)
                idle = int(entry.stat().st_mtime * 1000) + config.ttl_seconds * 1000 <= cutoff
            except (ValueError, FileNotFoundError):
                continue
            if kind in ("part", "json") and idle:
                found.add(upload_id)
        return found

    candidates = await anyio.to_thread.run_sync(idle_ids)
    if not candidates:
        return 0
    known = {row["id"] for row in await Upload.select(Upload.id).where(Upload.id.is_in(list(candidates)))}
    orphans = candidates - known
    for upload_id in orphans:
        await anyio.to_thread.run_sync(remove_files, config.spool_root, str(upload_id))
    return len(orphans)


async def uploaded_bytes(config: UploadConfig, photo_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Bytes received so far per photo with an unfinished upload (its part files' sizes: chunks do not touch
    the database); the largest when a photo has several sessions."""
    if not photo_ids:
        return {}
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
