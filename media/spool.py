"""The spool: upload parts and verified files on the app's own disk until the transfer worker stores them.

Layout under the spool root::

    parts/<upload id>.part          bytes of an unfinished upload (written at their offset, fsynced per chunk)
    sha256/ab/cd/<sha256>           a whole file whose sha256 was checked, waiting for the transfer worker

Every function here is blocking and meant for a worker thread (``anyio.to_thread.run_sync``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

HASH_CHUNK = 1024 * 1024


def part_path(root: Path, upload_id: str) -> Path:
    return root / "parts" / f"{upload_id}.part"


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
