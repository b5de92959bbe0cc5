"""Storage contract shared by the backends: errors, keys, the ``Storage`` protocol.

Split out of media/storage.py (which re-exports everything) so the backends can import it without a cycle.
Keys are relative POSIX paths made of ``[A-Za-z0-9_][A-Za-z0-9._-]*`` segments; blobs use
``blobs/sha256/ab/cd/<sha256>`` (see :func:`blob_key`). Anything else (``..``, absolute paths, backslashes,
hidden segments) is refused with :class:`InvalidKeyError` on every backend.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import quote

BLOB_PREFIX = "blobs/sha256"
DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_KEY_LENGTH = 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


# -- errors ---
class StorageError(Exception):
    """Base class for storage failures."""


class StorageUnavailableError(StorageError):
    """The store cannot be reached or answered 5xx: transient, the transfer worker retries later."""


class IntegrityError(StorageError):
    """The store did not end up with the declared bytes (refused a body damaged in flight, or reports another
    size after the write). Nothing is kept; the source file may be fine, so the transfer is retried."""


class SourceMismatchError(IntegrityError):
    """The local file handed to ``put_file`` is not the declared bytes (size or sha256): the copy to send is
    itself damaged, and retrying cannot help. Nothing stored."""


class InvalidKeyError(StorageError, ValueError):
    """A key that is not a clean relative path (e.g. contains ``..``)."""


class ObjectNotFoundError(StorageError, KeyError):
    """Reading a key that does not exist."""


class BucketMissingError(StorageError):
    """The S3 bucket does not exist (e.g. the store was down when the app started): ``ensure_bucket()``."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    sha256_hex: str
    already_present: bool  # True: an identical object was already there, nothing was written


# -- keys ---
def validate_key(key: str) -> str:
    """Return ``key`` if it is a clean relative path, else raise :class:`InvalidKeyError`."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"invalid storage key {key!r}")
    for seg in key.split("/"):
        if not _SEGMENT.fullmatch(seg):
            raise InvalidKeyError(f"invalid storage key {key!r}")
    return key


def is_sha256(value: object) -> bool:
    """64 lowercase hex digits and nothing else (``fullmatch``: ``match`` with ``$`` takes a trailing newline)."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def require_sha256(sha256_hex: str) -> str:
    if not is_sha256(sha256_hex):
        raise ValueError(f"sha256 must be 64 lowercase hex characters, got {sha256_hex!r}")
    return sha256_hex


def blob_key(sha256_hex: str) -> str:
    """Content-addressed key: ``blobs/sha256/ab/cd/<sha256>``."""
    h = require_sha256(sha256_hex)
    return f"{BLOB_PREFIX}/{h[:2]}/{h[2:4]}/{h}"


def content_disposition(filename: str | None, disposition: Literal["inline", "attachment"] = "inline") -> str:
    """RFC 6266 header value with an ASCII fallback and a UTF-8 ``filename*``."""
    if not filename:
        return disposition
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename)[:200] or "file"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


# -- protocol ---
@runtime_checkable
class Storage(Protocol):
    """What the transfer worker and the photo endpoints use; implemented by LocalStorage and S3Storage."""

    kind: str

    async def put_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        sha256_hex: str,
        size: int,
        *,
        content_type: str | None = None,
    ) -> StoredObject:
        """Copy a local file to ``key``; if it is not the declared bytes raise IntegrityError, store nothing.

        Idempotent: the same key with the same content again is fine (``already_present=True``).
        """
        ...

    async def exists(self, key: str) -> bool: ...

    async def stat(self, key: str) -> int | None:
        """Size in bytes, or None when absent."""
        ...

    def iter_bytes(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Stream the object; raises ObjectNotFoundError (on first iteration) when absent."""
        ...

    async def get_bytes(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; absent is fine."""
        ...

    async def signed_url(
        self,
        key: str,
        expires_in: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """A short-lived URL the client may GET directly, or None if the app must serve the bytes itself."""
        ...

    async def check(self) -> None:
        """Health: raise StorageUnavailableError when the store cannot be used."""
        ...
