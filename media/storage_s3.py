"""S3-compatible storage via boto3 (AWS, Ceph RGW, moto)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from media.storage_base import (
    DEFAULT_CHUNK_SIZE,
    BucketMissingError,
    IntegrityError,
    ObjectNotFoundError,
    SourceMismatchError,
    StorageError,
    StorageUnavailableError,
    StoredObject,
    content_disposition,
    require_sha256,
    validate_key,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_SINGLE_PUT_LIMIT = 5 * 1024**3  # S3's single PutObject ceiling; photos are ≤ 25 MB, so no multipart

T = TypeVar("T")


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

    def client(self) -> S3Client:
        """The boto3 client (blocking; created on first use), for the S3 upload spool."""
        return self._client()

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

    async def ensure_cors(self, origins: tuple[str, ...], *, write: bool = True) -> bool:
        """Whether the bucket lets browsers at ``origins`` GET its objects (the app reads the team's photos
        through signed URLs); with ``write`` a missing rule is added (other rules are kept). No ``origins``:
        whether any rule allows GET at all."""

        def run() -> bool:
            from botocore.exceptions import ClientError

            c = self._client()
            try:
                rules: list[Any] = list(c.get_bucket_cors(Bucket=self.bucket).get("CORSRules", []))
            except ClientError as exc:
                if _code(exc) not in {"NoSuchCORSConfiguration", "404"}:
                    raise
                rules = []
            if cors_allows(rules, origins):
                return True
            if not write or not origins:
                return False
            kept = [rule for rule in rules if rule.get("ID") != CORS_RULE_ID]
            rule: Any = {
                "ID": CORS_RULE_ID,
                "AllowedMethods": ["GET", "HEAD"],
                "AllowedOrigins": list(origins),
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["Content-Length", "Content-Type", "ETag"],
                "MaxAgeSeconds": 3600,
            }
            c.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": [*kept, rule]})
            return cors_allows(list(c.get_bucket_cors(Bucket=self.bucket).get("CORSRules", [])), origins)

        return await self._call(run)

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
        require_sha256(sha256_hex)
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
                raise SourceMismatchError(
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


CORS_RULE_ID = "fieldcheck-photos"


def cors_allows(rules: list[Any], origins: tuple[str, ...]) -> bool:
    """Whether CORS ``rules`` (S3's CORSRules) let every one of ``origins`` GET; no origins: any GET rule."""
    getters = [rule for rule in rules if "GET" in rule.get("AllowedMethods", [])]
    if not origins:
        return bool(getters)
    return all(
        any(
            origin in rule.get("AllowedOrigins", []) or "*" in rule.get("AllowedOrigins", [])
            for rule in getters
        )
        for origin in origins
    )


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
