"""Resumable uploads (a tus 1.0 subset) into the spool, the whole-file check, and the blob + outbox write.

Service functions take what they need as arguments (engine, config, a content validator); the backend does
authorization and links photos. HTTP shapes live in backend/media_api.

The spool is the source of truth for an unfinished upload, as in tusd's file store: the part file's size is
the offset, and a sidecar written at creation holds the session's facts. A PATCH takes ``flock(LOCK_EX)`` on
the part (so writers of one upload serialize, also across processes), compares ``Upload-Offset`` with the
file size, appends, fsyncs and answers: no database read or write per chunk. The database row
(``media_upload``) is written at creation and removed at the end; it is what lists and expires sessions.
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
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from piccolo.engine.base import Engine

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
        if existing is not None and existing["size"] == size:
            status = await _status(config, existing, now)
            if status is not None:
                return Created(
                    complete=False,
                    upload_id=existing["id"],
                    offset=status.offset,
                    expires_at_ms=status.expires_at_ms,
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
    meta = _meta(upload_id, photo_id, sha256_hex, size, user_id)
    await anyio.to_thread.run_sync(_create_files, config.spool_root, meta)
    return Created(complete=False, upload_id=upload_id, offset=0, expires_at_ms=expires)


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


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """An unfinished upload as the spool sees it: the part file's size is the offset."""

    id: uuid.UUID
    photo_id: uuid.UUID
    sha256: str
    size: int
    offset: int
    expires_at_ms: int
    part: Path


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


async def get_upload(config: UploadConfig, upload_id: uuid.UUID, user_id: uuid.UUID) -> UploadStatus:
    """The session (only to the user who created it: ids are capabilities, not to be shared).

    Read from the spool (sidecar + part size), no database query: HEAD answers the part file's size.
    """
    meta, st = await anyio.to_thread.run_sync(_read_session, config, upload_id, user_id)
    return UploadStatus(
        id=upload_id,
        photo_id=uuid.UUID(meta["photoId"]),
        sha256=str(meta["sha256"]),
        size=int(meta["size"]),
        offset=st.st_size,
        expires_at_ms=_expiry(st, config),
        part=spool.part_path(config.spool_root, str(upload_id)),
    )


# -- PATCH --
LOCK_WAIT_SECONDS = 10.0
_LOCK_POLL_SECONDS = 0.01
# whole-file sha256 carried from chunk to chunk inside this process: upload id → (bytes hashed, state).
# Valid only while the part's size equals the bytes hashed (bytes before the offset never change: chunks are
# appended, and a refused chunk is cut back to its own start). After a resume elsewhere: one full read.
_HASHES: OrderedDict[uuid.UUID, tuple[int, Any]] = OrderedDict()
_MAX_HASHES = 1024


def _take_hash(upload_id: uuid.UUID, offset: int) -> Any:
    entry = _HASHES.pop(upload_id, None)
    if entry is not None and entry[0] == offset:
        return entry[1]
    return hashlib.sha256() if offset == 0 else None


def _keep_hash(upload_id: uuid.UUID, offset: int, state: Any) -> None:
    if state is None:
        return
    _HASHES[upload_id] = (offset, state)
    while len(_HASHES) > _MAX_HASHES:
        _HASHES.popitem(last=False)


async def _lock(config: UploadConfig, status: UploadStatus) -> tuple[int, int]:
    """flock the part (polling, so no thread sits blocked); UploadBusy after LOCK_WAIT_SECONDS."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            got = await anyio.to_thread.run_sync(spool.open_locked, status.part)
        except FileNotFoundError:
            raise UploadNotFound("no such upload (finished or expired); POST /api/uploads again") from None
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
    status = await get_upload(config, upload_id, user_id)
    size = status.size
    if content_length is not None and content_length > config.max_chunk_bytes:
        raise TooLarge(f"a chunk may be at most {config.max_chunk_bytes} bytes", limit=config.max_chunk_bytes)
    fd, current = await _lock(config, status)
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
        whole = _take_hash(upload_id, offset)
        written, gone, whole = await _write_chunk(fd, offset, remaining, body, checksum, whole, config)
        new_offset = offset + written
        _keep_hash(upload_id, new_offset, whole)
        if gone:
            raise ClientGone(f"connection cut at {new_offset} of {size}")
        if new_offset < size:
            return Appended(offset=new_offset, size=size, complete=False)
        _HASHES.pop(upload_id, None)
        digest = whole.hexdigest() if whole is not None else None
        state = await finalize(
            engine=engine, config=config, validator=validator, upload=status, digest=digest
        )
        return Appended(offset=size, size=size, complete=True, blob_state=state, sha256=status.sha256)
    finally:
        # closing the fd releases the flock
        await anyio.to_thread.run_sync(os.close, fd)


async def _write_chunk(
    fd: int,
    offset: int,
    remaining: int,
    body: AsyncIterator[bytes],
    checksum: bytes | None,
    whole: Any,
    config: UploadConfig,
) -> tuple[int, bool, Any]:
    """Stream ``body`` onto the end of the part (at ``offset``); returns (bytes kept, connection cut, hash).

    Pieces are gathered into 1 MiB blocks; each block is written and hashed (chunk checksum and the running
    whole-file sha256) in a worker thread while the next block arrives, so disk, hashing and network
    overlap and at most two blocks are in memory. fsync before returning. A refused chunk (bad checksum,
    checksummed and cut, past the declared size) is truncated away again: the offset does not move.
    """
    digest = hashlib.sha256() if checksum is not None else None
    running = whole.copy() if whole is not None else None  # committed only if the chunk is kept
    received = 0
    gone = False
    buffer = bytearray()
    pending: asyncio.Future[None] | None = None
    position = offset
    refused: UploadError | None = None
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
                refused = UploadError("the chunk goes past the declared size", code="chunk_past_end")
                break
            buffer += piece
            if len(buffer) >= _WRITE_BUFFER:
                if pending is not None:
                    await pending
                block = bytes(buffer)
                buffer.clear()
                pending = asyncio.ensure_future(
                    asyncio.to_thread(_write_block, fd, block, position, digest, running)
                )
                position += len(block)
        if pending is not None:
            await pending
            pending = None
        if buffer and refused is None:
            await asyncio.to_thread(_write_block, fd, bytes(buffer), position, digest, running)
            position += len(buffer)
            buffer.clear()
        if refused is None and digest is not None and not gone and digest.digest() != checksum:
            refused = ChunkChecksumMismatch(
                "the chunk's sha256 does not match Upload-Checksum; resend it from the same offset",
                offset=offset,
            )
        if refused is None and not (gone and digest is not None):
            await anyio.to_thread.run_sync(os.fsync, fd)
            return position - offset, gone, running
    except BaseException:
        if pending is not None:  # an error while a block was being written: let it finish first
            with contextlib.suppress(Exception):
                await pending
        # a failed write (disk full, cancelled) must not leave half a chunk: cut back to where it began
        with contextlib.suppress(OSError):
            await anyio.to_thread.run_sync(spool.rollback, fd, offset)
        raise
    # refused, or checksummed and cut: the chunk counts whole or not at all
    await anyio.to_thread.run_sync(spool.rollback, fd, offset)
    if refused is not None:
        raise refused
    return 0, True, whole


def _write_block(fd: int, block: bytes, position: int, digest: Any, running: Any) -> None:
    """Runs in a worker thread: hashing and writing both release the GIL for large buffers."""
    if digest is not None:
        digest.update(block)
    if running is not None:
        running.update(block)
    view = memoryview(block)
    while view:
        done = os.pwrite(fd, view, position)
        view = view[done:]
        position += done


# -- the last byte --
async def finalize(
    *,
    engine: Engine[Any],
    config: UploadConfig,
    validator: Validator,
    upload: UploadStatus,
    digest: str | None = None,
) -> str:
    """Whole-file sha256, content check, then blob + transfer/derive jobs in one transaction.

    ``digest`` is the sha256 carried along while appending (this process saw every byte); without it the
    part is read once in a worker thread. Runs under the upload's lock. Returns the blob state (``spooled``,
    or ``stored`` if an identical file already was). Raises DigestMismatch (spool deleted) or
    ContentRejected (spool deleted, blob recorded as rejected).
    """
    sha = upload.sha256
    size = upload.size
    part = upload.part
    if digest is None:
        digest, count = await anyio.to_thread.run_sync(spool.sha256_file, part, None)
    else:
        count = size
    if count != size or digest != sha:
        await _drop_upload(engine, config, upload.id)
        raise DigestMismatch(
            f"the file's sha256 is {digest} ({count} bytes), not the declared {sha}; upload it again",
            actual=digest,
        )
    existing = await blob_state(sha)
    if existing is not None and existing["state"] in ("spooled", "stored"):
        await _drop_upload(engine, config, upload.id)
        return str(existing["state"])
    try:
        facts = await anyio.to_thread.run_sync(validator, part)
    except ContentRejected as exc:
        await _drop_upload(engine, config, upload.id)
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
        await Upload.delete().where(Upload.id == upload.id)
    await anyio.to_thread.run_sync(spool.remove, spool.meta_path(config.spool_root, str(upload.id)))
    return "spooled"


def _remove_files(root: Path, upload_id: str) -> None:
    # the sidecar first: without it no PATCH or HEAD finds the upload any more
    spool.remove(spool.meta_path(root, upload_id))
    spool.remove(spool.part_path(root, upload_id))


async def _drop_upload(engine: Engine[Any], config: UploadConfig, upload_id: uuid.UUID) -> None:
    _HASHES.pop(upload_id, None)
    await anyio.to_thread.run_sync(_remove_files, config.spool_root, str(upload_id))
    async with write_tx(engine):
        await Upload.delete().where(Upload.id == upload_id)


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
        await _drop_upload(engine, config, row["id"])
        dropped += 1
    return dropped


async def uploaded_bytes(config: UploadConfig, upload_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Bytes received so far per unfinished upload (the part files' sizes)."""

    def sizes() -> dict[uuid.UUID, int]:
        out: dict[uuid.UUID, int] = {}
        for upload_id in upload_ids:
            with contextlib.suppress(FileNotFoundError):
                out[upload_id] = spool.part_path(config.spool_root, str(upload_id)).stat().st_size
        return out

    return await anyio.to_thread.run_sync(sizes)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is not None and value.tzinfo is not None else None


def _wall_clock(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat(timespec="seconds")


def utc_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def image_validator(*, max_pixels: int, max_bytes: int) -> Validator:
    """The upload's content check without decoding pixels: sniffed type, size and pixel limits from the header
    (bombs), truncation from the file structure. The full decode happens in the derivative worker."""

    def validate(path: Path) -> ContentFacts:
        from media.images import ImageRejected, check_image

        try:
            facts = check_image(path, max_pixels, max_bytes=max_bytes)
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
