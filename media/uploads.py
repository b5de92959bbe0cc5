"""Resumable uploads (a tus 1.0 subset) into the spool, the whole-file check, and the blob + outbox write.

Service functions take what they need as arguments (engine, config, a content validator); the backend does
authorization and links photos. HTTP shapes live in backend/media_api.

Concurrency: one request writes an upload at a time inside a process (an asyncio lock per upload); across
processes the offset moves only by a conditional UPDATE (``WHERE offset = <old>``), so a second writer gets
409. Chunks are written at their offset, never appended blindly, and the whole file is hashed at the end, so
even a lost race can only end in a 422 and a fresh upload, never in wrong bytes marked received.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from piccolo.engine.base import Engine
from piccolo.querystring import QueryString

from media import spool
from media.db import write_tx
from media.storage import blob_key
from media.tables import Blob, Job, Upload

MIN_CHUNK_BYTES = 256 * 1024
MAX_CHUNK_BYTES = 4 * 1024 * 1024
_WRITE_BUFFER = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class UploadConfig:
    spool_root: Path
    max_upload_bytes: int
    max_chunk_bytes: int = MAX_CHUNK_BYTES
    # an unfinished upload is kept this long after its last chunk (rural devices come back days later)
    ttl_seconds: int = 7 * 24 * 3600
    # a chunk whose next bytes do not arrive for this long is treated as a cut connection
    idle_timeout_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class ContentFacts:
    """What the validator read from the bytes (never from the client's claims)."""

    mime: str
    width: int | None = None
    height: int | None = None
    capture_time: datetime | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None


# Blocking: sniffs and inspects a whole file, raises ContentRejected. Runs in a worker thread.
Validator = Callable[[Path], ContentFacts]


# -- errors (the backend maps status/code/extra to problem details) --
class UploadError(Exception):
    status = 400
    code = "bad_upload"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class UploadNotFound(UploadError):
    status = 404
    code = "upload_not_found"


class OffsetMismatch(UploadError):
    status = 409
    code = "offset_mismatch"


class UploadBusy(UploadError):
    status = 409
    code = "upload_busy"


class ChunkChecksumMismatch(UploadError):
    status = 460
    code = "checksum_mismatch"


class DigestMismatch(UploadError):
    status = 422
    code = "sha256_mismatch"


class ContentRejected(UploadError):
    status = 422
    code = "content_rejected"


class TooLarge(UploadError):
    status = 413
    code = "upload_too_large"


class ClientGone(Exception):
    """The connection ended before the chunk's last byte (what was received is kept unless checksummed)."""


@dataclass(frozen=True, slots=True)
class Created:
    """Answer to POST: ``complete`` (the blob is already here, send nothing) or a session to PATCH into."""

    complete: bool
    upload_id: uuid.UUID | None = None
    offset: int = 0
    expires_at_ms: int = 0
    blob_state: str | None = None


@dataclass(frozen=True, slots=True)
class Appended:
    offset: int
    size: int
    complete: bool
    blob_state: str | None = None
    sha256: str | None = None


def now_ms() -> int:
    return int(time.time() * 1000)


def check_sha256(value: str) -> str:
    if not _SHA256.fullmatch(value):
        raise UploadError("sha256 must be 64 lowercase hex characters", code="invalid_sha256")
    return value


def parse_checksum(header: str | None) -> bytes | None:
    """``Upload-Checksum: sha256 <base64>`` → the raw digest; other algorithms → 400 (tus checksum ext.)."""
    if header is None or not header.strip():
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise UploadError(
            f"checksum algorithm {algorithm!r} is not supported; use sha256", code="checksum_algorithm"
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise UploadError("Upload-Checksum is not valid base64", code="invalid_checksum") from None
    if len(digest) != 32:
        raise UploadError("Upload-Checksum must be a 32-byte sha256 digest", code="invalid_checksum")
    return digest


# -- create / status --
async def blob_state(sha256_hex: str) -> dict[str, Any] | None:
    row: dict[str, Any] | None = await Blob.select().where(Blob.sha256 == sha256_hex).first()
    return row


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
    async with write_tx(engine):
        existing = (
            await Upload.select()
            .where(
                (Upload.photo_id == photo_id) & (Upload.user_id == user_id) & (Upload.sha256 == sha256_hex)
            )
            .first()
        )
        if existing is not None and existing["expires_at_ms"] > now and existing["size"] == size:
            return Created(
                complete=False,
                upload_id=existing["id"],
                offset=existing["offset"],
                expires_at_ms=existing["expires_at_ms"],
            )
        upload_id = uuid.uuid4()
        path = spool.part_path(config.spool_root, str(upload_id))
        expires = now + config.ttl_seconds * 1000
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
    await anyio.to_thread.run_sync(spool.ensure_part, path)
    return Created(complete=False, upload_id=upload_id, offset=0, expires_at_ms=expires)


async def get_upload(upload_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any]:
    """The session (only to the user who created it: ids are capabilities, not to be shared)."""
    row: dict[str, Any] | None = await Upload.select().where(Upload.id == upload_id).first()
    if row is None or row["user_id"] != user_id or row["expires_at_ms"] <= now_ms():
        raise UploadNotFound("no such upload (finished, expired or never created); POST /api/uploads again")
    return row


# -- PATCH --
_locks: dict[uuid.UUID, asyncio.Lock] = {}


async def _lock_for(upload_id: uuid.UUID) -> asyncio.Lock:
    lock = _locks.get(upload_id)
    if lock is None:
        lock = _locks[upload_id] = asyncio.Lock()
    return lock


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
    """Write one chunk at ``offset``; fsync; move the offset. The last byte triggers :func:`finalize`.

    The body is consumed piece by piece (never held whole). On a cut connection the bytes that arrived are
    kept (fsynced, offset moved) unless the chunk carried a checksum, which can then not be checked.
    """
    lock = await _lock_for(upload_id)
    try:
        await asyncio.wait_for(lock.acquire(), timeout=10)
    except TimeoutError:
        current = await get_upload(upload_id, user_id)
        raise UploadBusy(
            "another request is still writing this upload; HEAD for the offset and retry",
            offset=current["offset"],
        ) from None
    try:
        upload = await get_upload(upload_id, user_id)
        if offset != upload["offset"]:
            raise OffsetMismatch(
                f"Upload-Offset is {offset} but the server has {upload['offset']} bytes",
                offset=upload["offset"],
            )
        size = int(upload["size"])
        remaining = size - offset
        if content_length is not None and content_length > config.max_chunk_bytes:
            raise TooLarge(
                f"a chunk may be at most {config.max_chunk_bytes} bytes", limit=config.max_chunk_bytes
            )
        if content_length is not None and content_length > remaining:
            raise UploadError(
                f"the chunk ({content_length} bytes) goes past the declared size ({remaining} bytes left)",
                code="chunk_past_end",
            )
        path = Path(upload["spool_path"])
        written, gone = await _write_chunk(path, offset, remaining, body, checksum, config)
        new_offset = offset + written
        if written:
            moved = await _move_offset(engine, upload_id, offset, new_offset, config)
            if not moved:
                current = await get_upload(upload_id, user_id)
                raise OffsetMismatch("another request moved this upload", offset=current["offset"])
        if gone:
            raise ClientGone(f"connection cut at {new_offset} of {size}")
        if new_offset < size:
            return Appended(offset=new_offset, size=size, complete=False)
        state = await finalize(engine=engine, config=config, validator=validator, upload=upload)
        return Appended(offset=size, size=size, complete=True, blob_state=state, sha256=upload["sha256"])
    finally:
        lock.release()
        if not lock.locked() and not getattr(lock, "_waiters", None):
            _locks.pop(upload_id, None)


async def _write_chunk(
    path: Path,
    offset: int,
    remaining: int,
    body: AsyncIterator[bytes],
    checksum: bytes | None,
    config: UploadConfig,
) -> tuple[int, bool]:
    """Stream ``body`` into ``path`` at ``offset``; returns (bytes kept, connection cut).

    Pieces are gathered into 1 MiB blocks; each block is written (``pwrite`` at its position) and hashed in
    a worker thread while the next block arrives, so disk and network overlap and at most two blocks are in
    memory. The file is fsynced before returning.
    """
    digest = hashlib.sha256() if checksum is not None else None
    received = 0
    gone = False
    buffer = bytearray()
    await anyio.to_thread.run_sync(spool.ensure_part, path)
    fd = await anyio.to_thread.run_sync(os.open, path, os.O_WRONLY)
    pending: asyncio.Future[None] | None = None
    position = offset
    try:
        iterator = body.__aiter__()
        while True:
            try:
                async with asyncio.timeout(config.idle_timeout_seconds):
                    piece = await iterator.__anext__()
            except StopAsyncIteration:
                break
            except (ClientGone, TimeoutError):
                gone = True
                break
            if not piece:
                continue
            received += len(piece)
            if received > remaining:
                raise UploadError("the chunk goes past the declared size", code="chunk_past_end")
            buffer += piece
            if len(buffer) >= _WRITE_BUFFER:
                if pending is not None:
                    await pending
                block = bytes(buffer)
                buffer.clear()
                pending = asyncio.ensure_future(asyncio.to_thread(_write_block, fd, block, position, digest))
                position += len(block)
        if pending is not None:
            await pending
            pending = None
        if buffer:
            await asyncio.to_thread(_write_block, fd, bytes(buffer), position, digest)
            position += len(buffer)
            buffer.clear()
        await anyio.to_thread.run_sync(os.fsync, fd)
    finally:
        if pending is not None:  # an error while a block was being written: let it finish before closing
            with contextlib.suppress(Exception):
                await pending
        await anyio.to_thread.run_sync(os.close, fd)
    written = position - offset
    if digest is not None and (gone or digest.digest() != checksum):
        # a checksummed chunk counts whole or not at all; the bytes past the offset are overwritten later
        if gone:
            return 0, True
        raise ChunkChecksumMismatch(
            "the chunk's sha256 does not match Upload-Checksum; resend it from the same offset",
            offset=offset,
        )
    return written, gone


def _write_block(fd: int, block: bytes, position: int, digest: Any) -> None:
    """Runs in a worker thread: hashing and writing both release the GIL for large buffers."""
    if digest is not None:
        digest.update(block)
    view = memoryview(block)
    while view:
        done = os.pwrite(fd, view, position)
        view = view[done:]
        position += done


async def _move_offset(
    engine: Engine[Any], upload_id: uuid.UUID, old: int, new: int, config: UploadConfig
) -> bool:
    # the offset only moves from the value this request started at (another writer → 0 rows → 409)
    async with write_tx(engine):
        rows = await engine.run_querystring(
            QueryString(
                'UPDATE "media_upload" SET "offset" = {}, "expires_at_ms" = {} '
                'WHERE "id" = {} AND "offset" = {} RETURNING "id"',
                new,
                now_ms() + config.ttl_seconds * 1000,
                upload_id,
                old,
            )
        )
    return bool(rows)


# -- the last byte --
async def finalize(
    *, engine: Engine[Any], config: UploadConfig, validator: Validator, upload: dict[str, Any]
) -> str:
    """Whole-file sha256, content check, then blob + transfer/derive jobs in one transaction.

    Returns the blob state (``spooled``, or ``stored`` if an identical file already was). Raises
    DigestMismatch (spool deleted) or ContentRejected (spool deleted, blob recorded as rejected).
    """
    sha = upload["sha256"]
    size = int(upload["size"])
    part = Path(upload["spool_path"])
    await anyio.to_thread.run_sync(spool.truncate, part, size)
    actual, count = await anyio.to_thread.run_sync(spool.sha256_file, part, size)
    if count != size or actual != sha:
        await _drop_upload(engine, upload["id"], part)
        raise DigestMismatch(
            f"the file's sha256 is {actual} ({count} bytes), not the declared {sha}; upload it again",
            actual=actual,
        )
    existing = await blob_state(sha)
    if existing is not None and existing["state"] in ("spooled", "stored"):
        await _drop_upload(engine, upload["id"], part)
        return str(existing["state"])
    try:
        facts = await anyio.to_thread.run_sync(validator, part)
    except ContentRejected as exc:
        await _drop_upload(engine, upload["id"], part)
        await _record_rejection(engine, sha, size, exc)
        raise
    target = spool.spooled_path(config.spool_root, sha)
    await anyio.to_thread.run_sync(spool.promote, part, target)
    now = now_ms()
    async with write_tx(engine):
        if not await Blob.exists().where(Blob.sha256 == sha):
            await Blob.insert(
                Blob(
                    sha256=sha,
                    size=size,
                    mime=facts.mime,
                    storage_key=blob_key(sha),
                    state="spooled",
                    spool_path=str(target),
                    width=facts.width,
                    height=facts.height,
                    capture_time=_aware(facts.capture_time),
                    capture_local=_wall_clock(facts.capture_time),
                    gps_lat=facts.gps_lat,
                    gps_lon=facts.gps_lon,
                )
            )
            for kind in ("transfer", "derive"):
                await Job.insert(Job(id=uuid.uuid4(), kind=kind, key=sha, due_at=now, created_at_ms=now))
        await Upload.delete().where(Upload.id == upload["id"])
    return "spooled"


async def _drop_upload(engine: Engine[Any], upload_id: uuid.UUID, part: Path) -> None:
    async with write_tx(engine):
        await Upload.delete().where(Upload.id == upload_id)
    await anyio.to_thread.run_sync(spool.remove, part)


async def _record_rejection(engine: Engine[Any], sha: str, size: int, exc: ContentRejected) -> None:
    """Remember why these bytes were refused (no bytes kept), so the receipt can say it."""
    async with write_tx(engine):
        if not await Blob.exists().where(Blob.sha256 == sha):
            await Blob.insert(
                Blob(
                    sha256=sha,
                    size=size,
                    mime="",
                    storage_key="",
                    state="rejected",
                    spool_path=None,
                    reject_reason=f"{exc.code}: {exc.detail}",
                )
            )


async def expire_uploads(engine: Engine[Any], *, now: int | None = None) -> int:
    """Delete sessions past their expiry and their part files. Returns how many."""
    cutoff = now_ms() if now is None else now
    rows = await Upload.select(Upload.id, Upload.spool_path).where(Upload.expires_at_ms <= cutoff)
    for row in rows:
        await _drop_upload(engine, row["id"], Path(row["spool_path"]))
    return len(rows)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is not None and value.tzinfo is not None else None


def _wall_clock(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat(timespec="seconds")


def utc_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def image_validator(*, max_pixels: int, max_bytes: int) -> Validator:
    """The upload's content check: sniffed type, size and pixel limits, whole decode (bombs, truncation)."""

    def validate(path: Path) -> ContentFacts:
        from media.images import ImageRejected, inspect_image

        try:
            facts = inspect_image(path, max_pixels, max_bytes=max_bytes)
        except ImageRejected as exc:
            raise ContentRejected(exc.detail or exc.reason, code=exc.reason) from exc
        return ContentFacts(
            mime=facts.mime,
            width=facts.width,
            height=facts.height,
            capture_time=facts.captured_at,
            gps_lat=facts.latitude,
            gps_lon=facts.longitude,
        )

    return validate
