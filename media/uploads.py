"""Resumable uploads (a tus 1.0 subset): the one entry point for the backend, whichever spool holds the bytes.

Service functions take what they need as arguments (engine, config, a content validator); the backend does
authorization and links photos. HTTP shapes live in backend/media_api.

Two spools (``UploadConfig.s3``, set from ``FIELDCHECK_UPLOAD_SPOOL``):
- local (the embedded default): part files on the app's disk, the file size is the offset
  (media/upload_local.py; its housekeeping in media/upload_expiry.py);
- S3: each session an S3 multipart upload, its offset and parts in the database, so any app process serves
  any chunk (media/upload_s3.py, the S3 calls in media/spool_s3.py).

Also: errors and header parsing in media/upload_errors.py, config and result types in media/upload_types.py,
a PATCH's bytes onto a local part in media/upload_chunk.py, the last-byte step of the local spool (finalize,
image_validator, evidence_validator) in media/upload_complete.py; the names the backend uses are re-exported here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from piccolo.engine.base import Engine

from media import upload_expiry, upload_local, upload_s3
from media.upload_complete import arrived_blobs_held as arrived_blobs_held
from media.upload_complete import blob_state as blob_state
from media.upload_complete import blobs as blobs
from media.upload_complete import evidence_validator as evidence_validator
from media.upload_complete import finalize as finalize
from media.upload_complete import held_blobs as held_blobs
from media.upload_complete import image_validator as image_validator
from media.upload_complete import received_blobs as received_blobs
from media.upload_complete import stored_blobs as stored_blobs
from media.upload_complete import stored_blobs_held as stored_blobs_held
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
from media.upload_types import now_ms as now_ms
from media.upload_types import utc_from_ms as utc_from_ms


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
        # spooled or stored: nothing to send for a user who uploaded these bytes before; anyone else proves
        # possession by sending them (verified, then discarded: storage stays deduplicated)
        if await held_blobs([sha256_hex], user_id):
            return Created(complete=True, blob_state=blob["state"])
    create = upload_s3.create if config.s3 is not None else upload_local.create
    return await create(
        engine=engine,
        config=config,
        photo_id=photo_id,
        sha256_hex=sha256_hex,
        size=size,
        mime=mime,
        user_id=user_id,
    )


async def get_upload(config: UploadConfig, upload_id: uuid.UUID, user_id: uuid.UUID) -> UploadStatus:
    """The session (only to the user who created it: ids are capabilities, not to be shared).

    Local spool: read from the spool (sidecar + part size), no database query. S3 spool: the row.
    """
    if config.s3 is not None:
        return await upload_s3.get(upload_id, user_id)
    return await upload_local.get(config, upload_id, user_id)


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
    """Append one chunk at ``offset``; the last byte runs the whole-file step (sha256, content check, blob)."""
    if content_length is not None and content_length > config.max_chunk_bytes:
        raise TooLarge(f"a chunk may be at most {config.max_chunk_bytes} bytes", limit=config.max_chunk_bytes)
    if config.s3 is not None:
        return await upload_s3.append(
            engine=engine,
            config=config,
            validator=validator,
            upload_id=upload_id,
            user_id=user_id,
            offset=offset,
            body=body,
            checksum=checksum,
        )
    return await upload_local.append(
        engine=engine,
        config=config,
        validator=validator,
        upload_id=upload_id,
        user_id=user_id,
        offset=offset,
        body=body,
        content_length=content_length,
        checksum=checksum,
    )


async def expire_uploads(engine: Engine[Any], config: UploadConfig, *, now: int | None = None) -> int:
    """Delete sessions idle past their TTL and their bytes; returns how many."""
    cutoff = now_ms() if now is None else now
    if config.s3 is not None:
        return await upload_s3.expire(engine, config, cutoff)
    return await upload_expiry.expire_local(engine, config, cutoff)


async def uploaded_bytes(config: UploadConfig, photo_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Bytes received so far per photo with an unfinished upload; the largest when a photo has several."""
    if not photo_ids:
        return {}
    if config.s3 is not None:
        return await upload_s3.uploaded_bytes(photo_ids)
    return await upload_expiry.uploaded_local(config, photo_ids)
