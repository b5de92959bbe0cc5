"""Object storage for evidence blobs: a local directory or any S3-compatible store.

Both backends take a finished spool file (already hashed once by the upload path), copy it with their own
checksum and confirm size after the write, so a blob marked "stored" is known to be the declared bytes.
Blocking work (file I/O through aiofiles, boto3, hashing) never runs on the event loop.

Keys are relative POSIX paths made of ``[A-Za-z0-9_][A-Za-z0-9._-]*`` segments; blobs use
``blobs/sha256/ab/cd/<sha256>`` (see :func:`blob_key`). Anything else (``..``, absolute paths, backslashes,
hidden segments) is refused with :class:`InvalidKeyError` on every backend.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import re
import stat as statmod
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable
from urllib.parse import quote, urlencode

import aiofiles
import aiofiles.os

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = [
    "BLOB_PREFIX",
    "DEFAULT_CHUNK_SIZE",
    "IntegrityError",
    "InvalidKeyError",
    "LocalStorage",
    "ObjectNotFoundError",
    "S3Storage",
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

BLOB_PREFIX = "blobs/sha256"
DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_KEY_LENGTH = 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_SINGLE_PUT_LIMIT = 5 * 1024**3  # S3's single PutObject ceiling; photos are ≤ 25 MB, so no multipart

T = TypeVar("T")


# -- errors ---
class StorageError(Exception):
    """Base class for storage failures."""


class StorageUnavailableError(StorageError):
    """The store cannot be reached or answered 5xx: transient, the transfer worker retries later."""


class IntegrityError(StorageError):
    """Bytes do not match the declared sha256/size (spool corrupted or damaged in flight). Nothing stored."""


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


def _check_sha256(sha256_hex: str) -> str:
    if not isinstance(sha256_hex, str) or not _SHA256_HEX.fullmatch(sha256_hex):
        raise ValueError(f"sha256 must be 64 lowercase hex characters, got {sha256_hex!r}")
    return sha256_hex


def blob_key(sha256_hex: str) -> str:
    """Content-addressed key: ``blobs/sha256/ab/cd/<sha256>``."""
    h = _check_sha256(sha256_hex)
    return f"{BLOB_PREFIX}/{h[:2]}/{h[2:4]}/{h}"


def content_disposition(filename: str | None, disposition: Literal["inline", "attachment"] = "inline") -> str:
    """RFC 6266 header value with an ASCII fallback and a UTF-8 ``filename*``."""
    if not filename:
        return disposition
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename)[:200] or "file"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


# -- local signed URLs (served by the backend) ---
def _secret_bytes(secret: str | bytes) -> bytes:
    b = secret.encode() if isinstance(secret, str) else bytes(secret)
    if len(b) < 16:
        raise ValueError("URL signing secret must be at least 16 bytes")
    return b


def sign_local_url(
    key: str,
    expires_at: int,
    secret: str | bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
) -> str:
    """HMAC-SHA256 (base64url, unpadded) over key, expiry (unix seconds) and the response headers."""
    validate_key(key)
    msg = "\n".join(["fieldcheck-media-v1", key, str(int(expires_at)), filename or "", content_type or ""])
    mac = hmac.new(_secret_bytes(secret), msg.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def verify_local_signature(
    key: str,
    expires_at: int | str,
    signature: str,
    secret: str | bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    now: float | None = None,
) -> bool:
    """True only for an unexpired URL whose signature matches exactly (constant-time compare)."""
    try:
        exp = int(expires_at)
        expected = sign_local_url(key, exp, secret, filename=filename, content_type=content_type)
    except (ValueError, TypeError):
        return False
    if (time.time() if now is None else now) >= exp:
        return False
    return hmac.compare_digest(expected.encode(), (signature or "").encode())


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


# -- local directory ---
class LocalStorage:
    """A directory tree; writes are atomic (temp file in the same dir, fsync, rename, fsync dir).

    ``url_base`` + ``url_secret`` enable HMAC-signed URLs (``{url_base}/{key}?exp=..&sig=..[&fn=..&ct=..]``)
    that the backend checks with :func:`verify_local_signature`; without them :meth:`signed_url` is None.
    """

    kind = "local"

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        url_base: str | None = None,
        url_secret: str | bytes | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.root = Path(root).absolute()
        self.url_base = url_base.rstrip("/") if url_base else None
        self._secret = _secret_bytes(url_secret) if url_secret is not None else None
        self.chunk_size = chunk_size

    def path_for(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    async def put_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        sha256_hex: str,
        size: int,
        *,
        content_type: str | None = None,
    ) -> StoredObject:
        dest = self.path_for(key)
        _check_sha256(sha256_hex)
        if await self.stat(key) == size and await _sha256_of(dest, self.chunk_size) == sha256_hex:
            return StoredObject(key, size, sha256_hex, already_present=True)
        await aiofiles.os.makedirs(dest.parent, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        h = hashlib.sha256()
        written = 0
        try:
            async with aiofiles.open(path, "rb") as src, aiofiles.open(tmp, "xb") as out:
                while chunk := await src.read(self.chunk_size):
                    await asyncio.to_thread(h.update, chunk)
                    await out.write(chunk)
                    written += len(chunk)
                await out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())
            if written != size or h.hexdigest() != sha256_hex:
                raise IntegrityError(
                    f"{key}: spool is {written} bytes sha256 {h.hexdigest()}, "
                    f"declared {size} bytes {sha256_hex}"
                )
            await aiofiles.os.replace(tmp, dest)
            await asyncio.to_thread(_fsync_dir, dest.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                await aiofiles.os.remove(tmp)
        stored = await self.stat(key)
        if stored != size:
            raise IntegrityError(f"{key}: {stored} bytes on disk after write, expected {size}")
        return StoredObject(key, size, sha256_hex, already_present=False)

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None

    async def stat(self, key: str) -> int | None:
        try:
            st = await aiofiles.os.stat(self.path_for(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return st.st_size if statmod.S_ISREG(st.st_mode) else None

    async def iter_bytes(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        p = self.path_for(key)
        try:
            f = await aiofiles.open(p, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFoundError(key) from exc
        try:
            while chunk := await f.read(chunk_size):
                yield chunk
        finally:
            await f.close()

    async def get_bytes(self, key: str) -> bytes:
        return b"".join([c async for c in self.iter_bytes(key)])

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            await aiofiles.os.remove(self.path_for(key))

    async def signed_url(
        self,
        key: str,
        expires_in: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        validate_key(key)
        if self.url_base is None or self._secret is None:
            return None
        exp = int(time.time()) + int(expires_in)
        params = {"exp": str(exp)}
        if filename:
            params["fn"] = filename
        if content_type:
            params["ct"] = content_type
        params["sig"] = sign_local_url(key, exp, self._secret, filename=filename, content_type=content_type)
        return f"{self.url_base}/{quote(key)}?{urlencode(params)}"

    async def check(self) -> None:
        probe = self.root / f".health-{uuid.uuid4().hex}"
        try:
            await aiofiles.os.makedirs(self.root, exist_ok=True)
            async with aiofiles.open(probe, "xb") as f:
                await f.write(b"ok")
            await aiofiles.os.remove(probe)
        except OSError as exc:
            raise StorageUnavailableError(f"local storage at {self.root} not writable: {exc}") from exc


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def _sha256_of(path: Path, chunk_size: int) -> str | None:
    h = hashlib.sha256()
    try:
        async with aiofiles.open(path, "rb") as f:
            while chunk := await f.read(chunk_size):
                await asyncio.to_thread(h.update, chunk)
    except FileNotFoundError:
        return None
    return h.hexdigest()


def _hash_file(path: str | os.PathLike[str], chunk_size: int) -> tuple[str, str, int]:
    """sha256 hex, Content-MD5 (base64) and size in one pass (runs in a worker thread)."""
    sha, md5, n = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            sha.update(chunk)
            md5.update(chunk)
            n += len(chunk)
    return sha.hexdigest(), base64.b64encode(md5.digest()).decode(), n


# -- S3 ---
_UNAVAILABLE_CODES = {
    "ServiceUnavailable",
    "SlowDown",
    "InternalError",
    "RequestTimeout",
    "503",
    "500",
    "502",
    "504",
}


class S3Storage:
    """Any S3-compatible store via boto3 (s3v4, path-style, checksums only when required).

    Uploads send Content-MD5 (AWS and Ceph RGW reject damaged bodies with BadDigest) and the sha256 as object
    metadata (``x-amz-meta-sha256``); after the write, HEAD confirms size and sha256. Emulators do not enforce
    ``x-amz-checksum-sha256``, so the sha256 is checked here, not delegated. ``verify_readback=True`` also
    downloads and re-hashes each new object (for stores that ignore Content-MD5, e.g. moto).
    """

    kind = "s3"

    def __init__(
        self,
        endpoint_url: str | None,
        region: str,
        bucket: str,
        access_key: str | None,
        secret_key: str | None,
        *,
        verify_readback: bool = False,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
        max_pool_connections: int = 20,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.bucket = bucket
        self._access_key = access_key
        self._secret_key = secret_key
        self.verify_readback = verify_readback
        self.chunk_size = chunk_size
        self._client_opts = {
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "max_attempts": max_attempts,
            "max_pool_connections": max_pool_connections,
        }
        self._client_obj: S3Client | None = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the secret
        return f"S3Storage(endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r})"

    # boto3 client creation reads JSON models from disk: done lazily inside a worker thread.
    def _client(self) -> S3Client:
        with self._client_lock:
            if self._client_obj is None:
                import boto3
                from botocore.config import Config

                o = self._client_opts
                cfg = Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    connect_timeout=o["connect_timeout"],
                    read_timeout=o["read_timeout"],
                    retries={"max_attempts": int(o["max_attempts"]), "mode": "standard"},
                    max_pool_connections=int(o["max_pool_connections"]),
                )
                self._client_obj = boto3.client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    aws_access_key_id=self._access_key,
                    aws_secret_access_key=self._secret_key,
                    config=cfg,
                )
            return self._client_obj

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run blocking boto3 work in a worker thread and map its errors to ours."""
        try:
            return await asyncio.to_thread(fn)
        except (StorageError, OSError):
            raise  # ours, or a local file problem (e.g. the spool file is gone)
        except Exception as exc:
            raise _map_error(exc) from exc

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (idempotent)."""

        def run() -> None:
            from botocore.exceptions import ClientError

            c = self._client()
            try:
                c.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if _code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                    raise
            try:
                if self.region in ("", "us-east-1"):
                    c.create_bucket(Bucket=self.bucket)
                else:
                    c.create_bucket(
                        Bucket=self.bucket,
                        CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
                    )
            except ClientError as exc:
                if _code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise

        await self._call(run)

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return dict(self._client().head_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    async def put_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        sha256_hex: str,
        size: int,
        *,
        content_type: str | None = None,
    ) -> StoredObject:
        validate_key(key)
        _check_sha256(sha256_hex)
        if size > _SINGLE_PUT_LIMIT:
            raise StorageError(
                f"{key}: {size} bytes is over the single-PUT limit; multipart is not implemented"
            )

        def run() -> StoredObject:
            head = self._head(key)
            if head is not None and _matches(head, size, sha256_hex):
                return StoredObject(key, size, sha256_hex, already_present=True)
            actual_sha, md5_b64, actual_size = _hash_file(path, self.chunk_size)
            if actual_size != size or actual_sha != sha256_hex:
                raise IntegrityError(
                    f"{key}: spool is {actual_size} bytes sha256 {actual_sha}, "
                    f"declared {size} bytes {sha256_hex}"
                )
            c = self._client()
            extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
            with open(path, "rb") as body:
                c.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentLength=size,
                    ContentMD5=md5_b64,
                    Metadata={"sha256": sha256_hex},
                    **extra,
                )
            head = self._head(key)
            if head is None or not _matches(head, size, sha256_hex):
                self._client().delete_object(Bucket=self.bucket, Key=key)
                got = None if head is None else head.get("ContentLength")
                raise IntegrityError(f"{key}: store reports {got} bytes after write, expected {size}")
            if self.verify_readback:
                obj = c.get_object(Bucket=self.bucket, Key=key)
                h, n = hashlib.sha256(), 0
                for chunk in obj["Body"].iter_chunks(self.chunk_size):
                    h.update(chunk)
                    n += len(chunk)
                if n != size or h.hexdigest() != sha256_hex:
                    c.delete_object(Bucket=self.bucket, Key=key)
                    raise IntegrityError(
                        f"{key}: read back {n} bytes sha256 {h.hexdigest()}, expected {sha256_hex}"
                    )
            return StoredObject(key, size, sha256_hex, already_present=False)

        return await self._call(run)

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None

    async def stat(self, key: str) -> int | None:
        validate_key(key)
        head = await self._call(lambda: self._head(key))
        return None if head is None else int(head["ContentLength"])

    async def iter_bytes(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        validate_key(key)

        def open_body() -> Any:
            from botocore.exceptions import ClientError

            try:
                return self._client().get_object(Bucket=self.bucket, Key=key)["Body"]
            except ClientError as exc:
                if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                    raise ObjectNotFoundError(key) from exc
                raise

        body = await self._call(open_body)
        try:
            while True:
                chunk: bytes = await self._call(lambda: body.read(chunk_size))
                if not chunk:
                    break
                yield chunk
        finally:
            await asyncio.to_thread(body.close)

    async def get_bytes(self, key: str) -> bytes:
        return b"".join([c async for c in self.iter_bytes(key, self.chunk_size)])

    async def delete(self, key: str) -> None:
        validate_key(key)
        await self._call(lambda: self._client().delete_object(Bucket=self.bucket, Key=key))

    async def signed_url(
        self,
        key: str,
        expires_in: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        validate_key(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        url: str = await self._call(
            lambda: self._client().generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires_in)
            )
        )
        return url

    async def check(self) -> None:
        await self._call(lambda: self._client().head_bucket(Bucket=self.bucket))


def _matches(head: dict[str, Any], size: int, sha256_hex: str) -> bool:
    meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    return int(head.get("ContentLength", -1)) == size and meta.get("sha256") == sha256_hex


def _code(exc: Exception) -> str:
    resp = getattr(exc, "response", None) or {}
    err = resp.get("Error") or {}
    code = str(err.get("Code") or "")
    if not code:
        code = str((resp.get("ResponseMetadata") or {}).get("HTTPStatusCode") or "")
    return code


def _status(exc: Exception) -> int:
    resp: dict[str, Any] = dict(getattr(exc, "response", None) or {})
    return int((resp.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)


def _map_error(exc: Exception) -> StorageError:
    from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ClientError):
        code = _code(exc)
        status = _status(exc)
        if code == "NoSuchBucket":
            return BucketMissingError(f"store answered NoSuchBucket: {exc}")
        if code in {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}:
            return IntegrityError(f"store refused the body: {code}")
        if code in _UNAVAILABLE_CODES or status >= 500:
            return StorageUnavailableError(f"store answered {code or status}")
        return StorageError(f"store error {code or status}: {exc}")
    if isinstance(exc, ConnectionError | HTTPClientError):
        return StorageUnavailableError(f"store unreachable: {exc}")
    if isinstance(exc, BotoCoreError):
        return StorageError(str(exc))
    return StorageError(repr(exc))


def storage_from_config(kind: str, **kwargs: Any) -> LocalStorage | S3Storage:
    """``storage_from_config("local", root=...)`` or ``storage_from_config("s3", endpoint_url=..., ...)``."""
    if kind == "local":
        return LocalStorage(**kwargs)
    if kind == "s3":
        return S3Storage(**kwargs)
    raise ValueError(f"unknown storage kind {kind!r} (expected 'local' or 's3')")
