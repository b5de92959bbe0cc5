"""Upload sessions in the local spool (the embedded default): create, status, and a PATCH's append.

The spool is the source of truth for an unfinished upload, as in tusd's file store: the part file's size is
the offset, and a sidecar written at creation holds the session's facts. A PATCH takes ``flock(LOCK_EX)`` on
the part (so writers of one upload serialize, also across processes on one disk), compares ``Upload-Offset``
with the file size, appends, fsyncs and answers: no database read or write per chunk. The database row
(``media_upload``) is written at creation and removed at the end; it is what lists and expires sessions.
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
from media.upload_complete import finalize, remove_files
from media.upload_errors import ClientGone, OffsetMismatch, UploadBusy, UploadError, UploadNotFound
from media.upload_types import (
    Appended,
    Created,
    UploadConfig,
    UploadStatus,
    Validator,
    forget_hash,
    keep_hash,
    now_ms,
    take_hash,
)


# -- create / status --
async def create(
    *,
    engine: Engine[Any],
    config: UploadConfig,
    photo_id: uuid.UUID,
    sha256_hex: str,
    size: int,
    mime: str,
    user_id: uuid.UUID,
) -> Created:
    """A new session (part + sidecar + row), or the live one of this photo, file and user."""
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
                        offset=0,
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
    expires = expiry(st, config)
    if expires <= now:
        return None
    return UploadStatus(
        row["id"], row["photo_id"], row["sha256"], int(row["size"]), st.st_size, expires, part
    )


def expiry(st: os.stat_result, config: UploadConfig) -> int:
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
    if expiry(st, config) <= now_ms():
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
        expires_at_ms=expiry(st, config),
        part=spool.part_path(config.spool_root, str(upload_id)),
    )


async def get(config: UploadConfig, upload_id: uuid.UUID, user_id: uuid.UUID) -> UploadStatus:
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


async def append(
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
            engine=engine, config=config, validator=validator, upload=status, user_id=user_id, digest=digest
        )
        return Appended(offset=size, size=size, complete=True, blob_state=state, sha256=status.sha256)
    finally:
        # closing the fd releases the flock
        await anyio.to_thread.run_sync(os.close, fd)
