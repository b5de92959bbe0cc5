"""Upload errors (a stable ``code``, a ``detail`` and extra fields; ``backend/errors.py`` gives each kind its HTTP
status) and header/checksum parsing."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from media.storage_base import is_sha256


class UploadError(Exception):
    code = "bad_upload"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class UploadNotFound(UploadError):
    code = "upload_not_found"


class OffsetMismatch(UploadError):
    code = "offset_mismatch"


class UploadBusy(UploadError):
    code = "upload_busy"


class ChunkChecksumMismatch(UploadError):
    code = "checksum_mismatch"


class DigestMismatch(UploadError):
    code = "sha256_mismatch"


class ContentRejected(UploadError):
    code = "content_rejected"


class TooLarge(UploadError):
    code = "upload_too_large"


class ClientGone(Exception):
    """The connection ended before the chunk's last byte (what was received is kept unless checksummed)."""


def check_sha256(value: str) -> str:
    if not is_sha256(value):
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
