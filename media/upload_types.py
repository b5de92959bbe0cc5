"""Upload configuration and result types, shared by media/uploads.py and media/upload_complete.py."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIN_CHUNK_BYTES = 256 * 1024
MAX_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadConfig:
    spool_root: Path
    max_upload_bytes: int
    max_chunk_bytes: int = MAX_CHUNK_BYTES
    # an unfinished upload is kept this long after its last chunk (rural devices come back days later)
    ttl_seconds: int = 7 * 24 * 3600
    # a chunk whose next bytes do not arrive for this long is treated as a cut connection
    idle_timeout_seconds: float = 60.0
    # the spool in S3 (a media.spool_s3.S3Spool) instead of spool_root: any process serves any chunk
    s3: Any = None


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


def utc_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


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


# whole-file sha256 carried from chunk to chunk inside this process: upload id → (bytes hashed, state).
# Valid only while the part's size equals the bytes hashed (bytes before the offset never change: chunks are
# appended, and a refused chunk is cut back to its own start). After a resume elsewhere: one full read.
_HASHES: OrderedDict[uuid.UUID, tuple[int, Any]] = OrderedDict()
_MAX_HASHES = 1024


def take_hash(upload_id: uuid.UUID, offset: int) -> Any:
    entry = _HASHES.pop(upload_id, None)
    if entry is not None and entry[0] == offset:
        return entry[1]
    return hashlib.sha256() if offset == 0 else None


def forget_hash(upload_id: uuid.UUID) -> None:
    _HASHES.pop(upload_id, None)


def keep_hash(upload_id: uuid.UUID, offset: int, state: Any) -> None:
    if state is None:
        return
    _HASHES[upload_id] = (offset, state)
    while len(_HASHES) > _MAX_HASHES:
        _HASHES.popitem(last=False)
