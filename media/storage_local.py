"""Local-directory storage and the HMAC-signed URLs the backend serves for it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import stat as statmod
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, urlencode

import aiofiles
import aiofiles.os

from media.storage_base import (
    DEFAULT_CHUNK_SIZE,
    IntegrityError,
    ObjectNotFoundError,
    SourceMismatchError,
    StorageUnavailableError,
    StoredObject,
    require_sha256,
    validate_key,
)


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
        require_sha256(sha256_hex)
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
                raise SourceMismatchError(
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
