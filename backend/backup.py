"""Backup and restore of the embedded deployment: the SQLite file, local storage, the spool, the secret key.

A backup is a directory::

    fieldcheck.sqlite   a consistent copy made with SQLite's online backup API while the app keeps serving
    spool/              uploads in progress and verified photos not yet in storage
    storage/            local object storage (photos and their derivatives)
    secret_key          the generated signing key, when the settings do not give one
    manifest.json       what was copied, from where, and the copy's integrity check

Order matters for consistency: the database first, then the spool, then storage. Storage only grows (objects
are written whole, then renamed into place), so every object the database copy refers to is already there
when storage is copied after it; a photo the transfer worker moved from the spool to storage in between is
found in storage's copy, and the worker, finding its spool copy missing but the object present, marks it
stored (media/blob_jobs.py). An unfinished upload's offset is its part file's size, so a longer part file than
the database knew of is resumed from where it ends.

Blocking functions: the CLI runs them directly, another caller would run them in a thread.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
DOCS_HINT = "see docs/operations.md, section Backups"
# rows whose absolute spool paths move with the data dir on restore
_SPOOL_PATH_TABLES = ("media_blob", "media_upload")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one line for the operator."""


@dataclass(frozen=True)
class Summary:
    path: Path
    database_bytes: int
    files: int
    file_bytes: int


def _refuse_unless_embedded(settings: Settings, what: str) -> None:
    if settings.is_postgres:
        raise BackupError(
            f"fieldcheck {what} covers the embedded SQLite database only; this deployment uses PostgreSQL: "
            f"use pg_dump or pg_basebackup with WAL archiving ({DOCS_HINT})"
        )
    if settings.storage != "local":
        raise BackupError(
            f"fieldcheck {what} covers local storage only; this deployment keeps photos in S3: "
            f"use bucket versioning or replication ({DOCS_HINT})"
        )


def _spool_root(settings: Settings) -> str:
    # exactly as the app writes it into media_blob.spool_path (backend/media_api/services.py)
    return str(settings.data_path / "spool")


def _is_temporary(path: Path) -> bool:
    # LocalStorage and the spool write ".<name>.<...>.tmp" then rename: a half-written file is not data
    return path.name.startswith(".") and path.name.endswith(".tmp")


def _copy_tree(source: Path, target: Path) -> tuple[int, int]:
    """Copy the regular files under ``source`` that still exist while walking it; returns (files, bytes)."""
    files = size = 0
    if not source.is_dir():
        return files, size
    for directory, _, names in os.walk(source):
        for name in sorted(names):
            path = Path(directory) / name
            if _is_temporary(path):
                continue
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, dest)
            except FileNotFoundError:
                continue  # moved to storage or expired while we walked: storage's copy comes next
            files += 1
            size += dest.stat().st_size
    return files, size


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "; ".join(str(row[0]) for row in rows)


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root``, private to the service (files 0600, directories 0700:
    the database holds password hashes) whatever modes the copied files had."""
    for directory, _, names in os.walk(root):
        os.chmod(directory, 0o700)
        for name in names:
            os.chmod(Path(directory) / name, 0o600)
            with open(Path(directory) / name, "rb") as handle:
                os.fsync(handle.fileno())
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def backup(settings: Settings, dest: Path) -> Summary:
    """Copy a (possibly running) embedded deployment into the new directory ``dest``."""
    _refuse_unless_embedded(settings, "backup")
    source_db = settings.sqlite_path
    if not source_db.is_file():
        raise BackupError(f"no database at {source_db}; is FIELDCHECK_DATA_DIR right?")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory; choose a new one")
    # built beside dest and renamed at the end, so a half-made backup never looks like a backup
    work = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700, parents=True)
    try:
        started = time.time()
        source = sqlite3.connect(source_db, timeout=30)
        target = sqlite3.connect(work / "fieldcheck.sqlite")
        try:
            # one step: one read transaction sees one committed state; in WAL mode writers go on meanwhile
            source.backup(target)
        finally:
            target.close()
            source.close()
        integrity = _integrity(work / "fieldcheck.sqlite")
        if integrity != "ok":
            raise BackupError(f"the copied database fails its integrity check: {integrity}")
        spool_files, spool_bytes = _copy_tree(settings.data_path / "spool", work / "spool")
        storage_files, storage_bytes = _copy_tree(settings.data_path / "storage", work / "storage")
        key_file = settings.data_path / "secret_key"
        key_copied = not settings.secret_key and key_file.is_file()
        if key_copied:
            shutil.copy2(key_file, work / "secret_key")
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "sourceDataDir": str(settings.data_path.resolve()),
            "spoolRoot": _spool_root(settings),
            "integrityCheck": integrity,
            "databaseBytes": (work / "fieldcheck.sqlite").stat().st_size,
            "spool": {"files": spool_files, "bytes": spool_bytes},
            "storage": {"files": storage_files, "bytes": storage_bytes},
            # a key given by FIELDCHECK_SECRET_KEY is the operator's to keep, it is not copied
            "secretKey": "copied" if key_copied else "from settings, not copied",
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _fsync_tree(work)
        if dest.exists():
            dest.rmdir()
        work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Summary(dest, manifest["databaseBytes"], spool_files + storage_files, spool_bytes + storage_bytes)


def _read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} is not a fieldcheck backup (no {MANIFEST})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src}: backup format {manifest.get('format')!r} is not {FORMAT}")
    if not (src / "fieldcheck.sqlite").is_file():
        raise BackupError(f"{src}: the backup has no fieldcheck.sqlite")
    return manifest


def _clear_data_dir(data: Path) -> None:
    for name in ("fieldcheck.sqlite", "fieldcheck.sqlite-wal", "fieldcheck.sqlite-shm", "secret_key"):
        (data / name).unlink(missing_ok=True)
    for name in ("spool", "storage"):
        shutil.rmtree(data / name, ignore_errors=True)


def _move_spool_paths(database: Path, old_root: str, new_root: str) -> None:
    if old_root == new_root:
        return
    conn = sqlite3.connect(database)
    try:
        with conn:
            for table in _SPOOL_PATH_TABLES:
                conn.execute(
                    f'UPDATE "{table}" SET spool_path = ? || substr(spool_path, ?) '  # noqa: S608 - fixed names
                    "WHERE substr(spool_path, 1, ?) = ?",
                    (new_root, len(old_root) + 1, len(old_root), old_root),
                )
    finally:
        conn.close()


def _revoke_tokens(database: Path) -> None:
    """A restore starts a new token epoch: every sign-in of the backup ends. A token logged out (or whose
    password changed, or user deactivated) after the backup was taken is still in the backup's table and
    would be valid again otherwise."""
    conn = sqlite3.connect(database)
    try:
        with conn:
            conn.execute('DELETE FROM "auth_token"')
    finally:
        conn.close()


def restore(settings: Settings, src: Path, *, force: bool = False) -> Summary:
    """Bring a backup into the data dir of ``settings``; the server must not be running on it."""
    _refuse_unless_embedded(settings, "restore")
    manifest = _read_manifest(src)
    data = settings.data_path
    if data.exists() and any(data.iterdir()):
        if not force:
            raise BackupError(
                f"{data} is not empty; restore into an empty data dir, or pass --force to replace its "
                "database, storage, spool and key (stop the server first)"
            )
        _clear_data_dir(data)
    data.mkdir(parents=True, exist_ok=True)
    database = data / "fieldcheck.sqlite"
    shutil.copy2(src / "fieldcheck.sqlite", database)
    _move_spool_paths(database, manifest["spoolRoot"], _spool_root(settings))
    _revoke_tokens(database)
    integrity = _integrity(database)
    if integrity != "ok":
        raise BackupError(f"the restored database fails its integrity check: {integrity}")
    spool_files, spool_bytes = _copy_tree(src / "spool", data / "spool")
    storage_files, storage_bytes = _copy_tree(src / "storage", data / "storage")
    if (src / "secret_key").is_file():
        shutil.copy2(src / "secret_key", data / "secret_key")
        (data / "secret_key").chmod(0o600)
    _fsync_tree(data)
    return Summary(data, database.stat().st_size, spool_files + storage_files, spool_bytes + storage_bytes)
