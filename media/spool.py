"""The spool: upload parts and verified files on the app's own disk until the transfer worker stores them.

Layout under the spool root::

    parts/<upload id>.part          bytes of an unfinished upload, appended and fsynced per chunk; its size
                                    IS the upload's offset (the source of truth, as in tusd's file store)
    parts/<upload id>.json          the session's immutable facts (sha256, size, photo, owner), written once
                                    at creation so a PATCH needs no database read
    sha256/ab/cd/<sha256>           a whole file whose sha256 was checked, waiting for the transfer worker

A PATCH holds ``flock(LOCK_EX)`` on the part file while it checks the offset, appends and fsyncs, so two
writers of one upload serialize even across processes (flock locks belong to the open file description:
two ``open()`` calls in one process exclude each other too).

Every function here is blocking and meant for a worker thread (``anyio.to_thread.run_sync``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any

HASH_CHUNK = 1024 * 1024

# sync_file_range(2) (Linux; not in Python's os module): start writing a range back to disk without waiting.
_SYNC_FILE_RANGE_WRITE = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_sync_file_range = getattr(_libc, "sync_file_range", None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    _sync_file_range.restype = ctypes.c_int


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing ``length`` bytes at ``offset`` back to disk, without waiting, so a later
    fsync finds them on their way. Only a hint: durability still comes from that fsync."""
    if _sync_file_range is not None and length > 0:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def part_path(root: Path, upload_id: str) -> Path:
    return root / "parts" / f"{upload_id}.part"


def meta_path(root: Path, upload_id: str) -> Path:
    return root / "parts" / f"{upload_id}.json"


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    """Write the sidecar atomically (temp file, fsync, rename, directory fsync)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(meta, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_meta(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            meta: dict[str, Any] = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    return meta


def open_locked(path: Path) -> tuple[int, int] | None:
    """Open the part file and take its exclusive lock without waiting.

    Returns (fd, size) under the lock, or None when another writer holds it. FileNotFoundError when the part
    is gone, also when it was removed (finished, expired) while we waited: the open fd must still be the file
    at ``path``.
    """
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                return None
            raise
        st = os.fstat(fd)
        if st.st_nlink == 0 or os.stat(path).st_ino != st.st_ino:
            raise FileNotFoundError(errno.ENOENT, "upload part was removed", str(path))
        return fd, st.st_size
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


def rollback(fd: int, size: int) -> None:
    """Cut the part back to ``size`` (a refused chunk is not kept) and make that durable."""
    os.ftruncate(fd, size)
    os.fsync(fd)


def spooled_path(root: Path, sha256_hex: str) -> Path:
    return root / "sha256" / sha256_hex[:2] / sha256_hex[2:4] / sha256_hex


def ensure_part(path: Path) -> None:
    """Create an empty part file (and its folder) if it does not exist yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError), open(path, "xb"):
        pass


def sha256_file(path: Path, limit: int | None = None) -> tuple[str, int]:
    """sha256 hex and byte count of the file (or of its first ``limit`` bytes), read in 1 MiB pieces."""
    digest = hashlib.sha256()
    count = 0
    with open(path, "rb") as handle:
        while True:
            want = HASH_CHUNK if limit is None else min(HASH_CHUNK, limit - count)
            if want <= 0:
                break
            piece = handle.read(want)
            if not piece:
                break
            digest.update(piece)
            count += len(piece)
    return digest.hexdigest(), count


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)
        handle.flush()
        os.fsync(handle.fileno())


def link_verified(part: Path, target: Path) -> None:
    """Give a verified part its content-addressed name too (a hard link, directory fsynced). The part keeps
    its own name until the database has the blob: a crash in between leaves a whole session, which the next
    PATCH (or HEAD + an empty PATCH) finishes again. A file already at ``target`` has the same, verified bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.link(part, target)
    fsync_dir(target.parent)


def promote(part: Path, target: Path) -> None:
    """Move a verified part to its content-addressed place (atomic rename, directory fsynced)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, target)
    fsync_dir(target.parent)


def remove(path: Path | None) -> None:
    if path is None:
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
