"""Object storage for evidence blobs: a local directory or any S3-compatible store.

Both backends take a finished spool file (already hashed once by the upload path), copy it with their own
checksum and confirm size after the write, so a blob marked "stored" is known to be the declared bytes.
Blocking work (file I/O through aiofiles, boto3, hashing) never runs on the event loop.

Keys are relative POSIX paths made of ``[A-Za-z0-9_][A-Za-z0-9._-]*`` segments; blobs use
``blobs/sha256/ab/cd/<sha256>`` (see :func:`blob_key`). Anything else (``..``, absolute paths, backslashes,
hidden segments) is refused with :class:`InvalidKeyError` on every backend.

This module is the public face: the contract lives in media/storage_base.py, the backends in
media/storage_local.py and media/storage_s3.py.
"""

from __future__ import annotations

from typing import Any

from media.storage_base import (
    BLOB_PREFIX,
    DEFAULT_CHUNK_SIZE,
    IntegrityError,
    InvalidKeyError,
    ObjectNotFoundError,
    SourceMismatchError,
    Storage,
    StorageError,
    StorageUnavailableError,
    StoredObject,
    blob_key,
    content_disposition,
    validate_key,
)
from media.storage_base import MAX_KEY_LENGTH as MAX_KEY_LENGTH
from media.storage_base import BucketMissingError as BucketMissingError
from media.storage_local import LocalStorage, sign_local_url, verify_local_signature
from media.storage_s3 import S3Storage

__all__ = [
    "BLOB_PREFIX",
    "DEFAULT_CHUNK_SIZE",
    "IntegrityError",
    "InvalidKeyError",
    "LocalStorage",
    "ObjectNotFoundError",
    "S3Storage",
    "SourceMismatchError",
    "Storage",
    "StorageError",
    "StorageUnavailableError",
    "StoredObject",
    "blob_key",
    "content_disposition",
    "sign_local_url",
    "storage_from_config",
    "validate_key",
    "verify_local_signature",
]


def storage_from_config(kind: str, **kwargs: Any) -> LocalStorage | S3Storage:
    """``storage_from_config("local", root=...)`` or ``storage_from_config("s3", endpoint_url=..., ...)``."""
    if kind == "local":
        return LocalStorage(**kwargs)
    if kind == "s3":
        return S3Storage(**kwargs)
    raise ValueError(f"unknown storage kind {kind!r} (expected 'local' or 's3')")
