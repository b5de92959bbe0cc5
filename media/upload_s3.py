"""Upload sessions with the spool in S3 (``FIELDCHECK_UPLOAD_SPOOL=s3``): any app process serves any chunk.

The ``media_upload`` row is the session's truth (offset, multipart id, parts, tail length) and its lock: a PATCH
locks the row (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) for the S3 calls of one
chunk, so two processes serialize on one upload. The chunk is read whole first (at most 4 MiB), so the lock
is never held while a slow client sends. A chunk cut mid-body counts nothing (unlike the local spool, which
keeps fsynced bytes). The last byte commits first; the whole-file step runs in its own transaction and can
be run again (an empty PATCH at the full offset) after a crash. Bytes move in :mod:`media.spool_s3`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.querystring import QueryString

from media.db import is_postgres, write_tx
from media.faults import crash_point
from media.jobs import enqueue_job
from media.spool_s3 import PART_MIN_BYTES, S3Spool
from media.storage import blob_key
from media.tables import Blob, Upload
from media.upload_chunk import body_pieces
from media.upload_complete import blob_state, hold, new_blob, record_rejection
from media.upload_errors import (
    ChunkChecksumMismatch,
    ClientGone,
    ContentRejected,
    DigestMismatch,
    OffsetMismatch,
    UploadBusy,
    UploadError,
    UploadNotFound,
)
from media.upload_types import Appended, ContentFacts, Created, UploadConfig, UploadStatus, Validator, now_ms

LOCK_WAIT_SECONDS = 10


def _spool(config: UploadConfig) -> S3Spool:
    assert config.s3 is not None
    spool: S3Spool = config.s3
    return spool


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
    """A new session row, or the live one of this photo, file and user (idempotent POST)."""
    now = now_ms()
    async with write_tx(engine):
        existing = (
            await Upload.select()
            .where(
                (Upload.photo_id == photo_id)
                & (Upload.user_id == user_id)
                & (Upload.sha256 == sha256_hex)
                & (Upload.size == size)
                & (Upload.expires_at_ms > now)
            )
            .first()
        )
        if existing is not None:
            return Created(
                complete=False,
                upload_id=existing["id"],
                offset=int(existing["offset"]),
                expires_at_ms=int(existing["expires_at_ms"]),
            )
        upload_id = uuid.uuid4()
        expires = now + config.ttl_seconds * 1000
        await Upload.insert(
            Upload(
                id=upload_id,
                photo_id=photo_id,
                sha256=sha256_hex,
                size=size,
                mime=mime[:40],
                offset=0,
                spool_path="s3:" + S3Spool.object_key(str(upload_id)),
                user_id=user_id,
                created_at_ms=now,
                expires_at_ms=expires,
            )
        )
    return Created(complete=False, upload_id=upload_id, offset=0, expires_at_ms=expires)


def _status(row: dict[str, Any] | None, user_id: uuid.UUID) -> UploadStatus:
    if row is None or row["user_id"] != user_id or int(row["expires_at_ms"]) <= now_ms():
        raise UploadNotFound("no such upload (finished, expired or never created); POST /api/uploads again")
    return UploadStatus(
        id=row["id"],
        photo_id=row["photo_id"],
        sha256=row["sha256"],
        size=int(row["size"]),
        offset=int(row["offset"]),
        expires_at_ms=int(row["expires_at_ms"]),
        part=Path(row["spool_path"]),
    )


async def get(upload_id: uuid.UUID, user_id: uuid.UUID) -> UploadStatus:
    return _status(await Upload.select().where(Upload.id == upload_id).first(), user_id)


async def _locked_row(engine: Engine[Any], upload_id: uuid.UUID) -> dict[str, Any] | None:
    """The session row, locked for this transaction (waits at most LOCK_WAIT_SECONDS on PostgreSQL)."""
    if not is_postgres(engine):
        return await Upload.select().where(Upload.id == upload_id).first()
    await engine.run_ddl(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'")
    rows = await engine.run_querystring(
        QueryString('SELECT * FROM "media_upload" WHERE "id" = {} FOR UPDATE', upload_id)
    )
    return rows[0] if rows else None


@contextlib.asynccontextmanager
async def _session(
    engine: Engine[Any], upload_id: uuid.UUID, user_id: uuid.UUID
) -> AsyncIterator[tuple[UploadStatus, dict[str, Any]]]:
    """The session and its row, locked until the block ends (its transaction commits)."""
    try:
        async with write_tx(engine):
            row = await _locked_row(engine, upload_id)
            yield _status(row, user_id), row or {}
    except Exception as exc:
        if type(exc).__name__ != "LockNotAvailableError":  # asyncpg: lock_timeout ran out
            raise
        row = await Upload.select(Upload.offset).where(Upload.id == upload_id).first()
        raise UploadBusy(
            "another request is still writing this upload; HEAD for the offset and retry",
            offset=int(row["offset"]) if row else 0,
        ) from exc


async def _read_body(body: AsyncIterator[bytes], remaining: int, config: UploadConfig) -> bytes:
    pieces: list[bytes] = []
    try:
        async with contextlib.aclosing(body_pieces(body, remaining, config)) as arriving:
            async for piece in arriving:
                pieces.append(piece)
    except TimeoutError as exc:
        raise ClientGone("no bytes for too long") from exc
    return b"".join(pieces)


async def append(
    *,
    engine: Engine[Any],
    config: UploadConfig,
    validator: Validator,
    upload_id: uuid.UUID,
    user_id: uuid.UUID,
    offset: int,
    body: AsyncIterator[bytes],
    checksum: bytes | None,
) -> Appended:
    """One chunk: read it, then under the row lock check the offset and add it to the tail or a new part."""
    spool = _spool(config)
    first = await get(upload_id, user_id)
    data = await _read_body(body, max(0, first.size - offset), config)
    if checksum is not None and hashlib.sha256(data).digest() != checksum:
        raise ChunkChecksumMismatch(
            "the chunk's sha256 does not match Upload-Checksum; resend it from the same offset", offset=offset
        )
    async with _session(engine, upload_id, user_id) as (status, row):
        if offset != status.offset:
            raise OffsetMismatch(
                f"Upload-Offset is {offset} but the server has {status.offset} bytes", offset=status.offset
            )
        if len(data) > status.size - offset:
            raise UploadError("the chunk goes past the declared size", code="chunk_past_end")
        if data:
            last = offset + len(data) == status.size
            await _store_chunk(spool, row, data, last, config.ttl_seconds * 1000)
    if status.offset + len(data) < status.size:
        return Appended(offset=status.offset + len(data), size=status.size, complete=False)
    state = await finalize(
        engine=engine, config=config, validator=validator, upload_id=upload_id, user_id=user_id
    )
    return Appended(
        offset=status.size, size=status.size, complete=True, blob_state=state, sha256=status.sha256
    )


async def _store_chunk(spool: S3Spool, row: dict[str, Any], data: bytes, last: bool, ttl_ms: int) -> None:
    """Tail + chunk become a part when they reach 5 MiB or the end, else the new tail. Runs under the lock."""
    key = str(row["id"])
    parts: list[dict[str, Any]] = json.loads(row["parts"] or "[]")
    tail_size = int(row["tail_size"])
    buffered = await asyncio.to_thread(spool.read_tail, key, tail_size) + data
    multipart_id = row["multipart_id"]
    if len(buffered) >= PART_MIN_BYTES or last:
        if not multipart_id:
            multipart_id = await asyncio.to_thread(spool.start, key)
        number = len(parts) + 1
        etag = await asyncio.to_thread(spool.put_part, key, multipart_id, number, buffered)
        crash_point("s3_part_sent")  # the part is in S3, the row does not name it yet
        parts.append({"n": number, "etag": etag, "size": len(buffered)})
        tail_size = 0
    else:
        await asyncio.to_thread(spool.put_tail, key, buffered)
        crash_point("s3_tail_sent")  # the tail in S3 is longer than the row says
        tail_size = len(buffered)
    await Upload.update(
        {
            Upload.offset: int(row["offset"]) + len(data),
            Upload.multipart_id: multipart_id,
            Upload.parts: json.dumps(parts),
            Upload.tail_size: tail_size,
            Upload.expires_at_ms: now_ms() + ttl_ms,
        }
    ).where(Upload.id == row["id"])


async def finalize(
    *,
    engine: Engine[Any],
    config: UploadConfig,
    validator: Validator,
    upload_id: uuid.UUID,
    user_id: uuid.UUID,
) -> str:
    """Complete the multipart upload, read it back (sha256, content check), copy it to its blob key and write
    the blob (``stored``) with its derive job, under the row lock. Returns the blob state."""
    spool = _spool(config)
    key = str(upload_id)
    failure: UploadError | None = None
    async with _session(engine, upload_id, user_id) as (status, row):
        sha, size = status.sha256, status.size
        existing = await blob_state(sha)
        if existing is not None and existing["state"] in ("spooled", "stored"):
            state = str(existing["state"])
        else:
            state = "stored"
            await asyncio.to_thread(spool.complete, key, row["multipart_id"], json.loads(row["parts"]), size)
            with tempfile.TemporaryDirectory(prefix="fc-upload-") as tmp:
                facts, failure = await _check(spool, key, sha, size, validator, Path(tmp) / "file")
            if facts is not None:
                await asyncio.to_thread(spool.copy_to, key, blob_key(sha), sha, facts.mime)
                inserted = (
                    await Blob.insert(new_blob(sha, size, facts, spool_path=None))
                    .on_conflict(action="DO NOTHING")
                    .returning(Blob.sha256)
                )
                if inserted:  # (another session of the same file may have finished first)
                    await enqueue_job("derive", sha)
            elif isinstance(failure, ContentRejected):  # recorded in the commit that ends the session
                await record_rejection(engine, sha, size, failure, holder=user_id)
        if failure is None:
            # in the commit that ends the session: a kill before the answer (the objects' removal below takes
            # three S3 calls) must not leave a stored file its sender does not hold, or POST would open a new
            # session at offset 0, below what the 204s acknowledged
            await hold(sha, user_id)
        await Upload.delete().where(Upload.id == upload_id)
    # after the commit: the session's objects (a crash here leaves them to housekeeping's orphan sweep)
    crash_point("upload_finished")
    with contextlib.suppress(Exception):
        await asyncio.to_thread(spool.discard, key, row["multipart_id"])
    if failure is not None:
        raise failure
    return state


async def _check(
    spool: S3Spool, key: str, sha: str, size: int, validator: Validator, target: Path
) -> tuple[ContentFacts | None, UploadError | None]:
    """Read the assembled file back once: its sha256, then the content check."""
    digest, count = await asyncio.to_thread(spool.download, key, target)
    if count != size or digest != sha:
        return None, DigestMismatch(
            f"the file's sha256 is {digest} ({count} bytes), not the declared {sha}; upload it again",
            actual=digest,
        )
    try:
        return await asyncio.to_thread(validator, target), None
    except ContentRejected as exc:
        return None, exc


async def expire(engine: Engine[Any], config: UploadConfig, cutoff: int) -> int:
    """Delete sessions idle past their TTL, then their S3 objects (multipart upload, tail). The row goes first
    and only if still expired, so a session a PATCH has just extended keeps its parts."""
    spool = _spool(config)
    rows = await Upload.select(Upload.id, Upload.multipart_id).where(Upload.expires_at_ms <= cutoff)
    dropped = 0
    for row in rows:
        async with write_tx(engine):
            gone = await engine.run_querystring(
                QueryString(
                    'DELETE FROM "media_upload" WHERE "id" = {} AND "expires_at_ms" <= {} RETURNING "id"',
                    row["id"],
                    cutoff,
                )
            )
        if gone:
            await asyncio.to_thread(spool.discard, str(row["id"]), row["multipart_id"])
            dropped += 1
    await _sweep_orphans(spool, cutoff)
    return dropped


async def _sweep_orphans(spool: S3Spool, cutoff: int) -> None:
    """Objects of sessions with no row, idle past the TTL: a kill between a finished session's commit (its row
    deleted) and the removal of its objects leaves the assembled object and the tail behind."""
    idle = await asyncio.to_thread(spool.idle_sessions, cutoff)
    if not idle:
        return
    live = {r["id"] for r in await Upload.select(Upload.id).where(Upload.id.is_in(list(idle)))}
    orphans = [key for upload_id, keys in idle.items() if upload_id not in live for key in keys]
    if orphans:
        await asyncio.to_thread(spool.delete_keys, orphans)


async def uploaded_bytes(photo_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await Upload.select(Upload.photo_id, Upload.offset).where(Upload.photo_id.is_in(photo_ids))
    out: dict[uuid.UUID, int] = {}
    for row in rows:
        out[row["photo_id"]] = max(out.get(row["photo_id"], 0), int(row["offset"]))
    return out
