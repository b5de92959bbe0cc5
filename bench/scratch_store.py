"""A scratch store for an in-process bench: a fresh data directory and, on PostgreSQL, a fresh database dropped
afterwards; and the settings of an app run in the bench's own process (no workers). Shared by
``sync_cycle.py`` and ``clinic_history.py``, which import it from beside them (copy it with them for A/B runs)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("FIELDCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def with_database(dsn: str, dbname: str) -> str:
    """``dsn`` naming ``dbname`` instead, its query kept: ``postgresql://postgres@/postgres?host=/var/run/postgresql``
    (a Unix socket, FIELDCHECK_TEST_PG) becomes ``postgresql://postgres@/<dbname>?host=/var/run/postgresql``."""
    base, sep, query = dsn.partition("?")
    return base.rsplit("/", 1)[0] + "/" + dbname + sep + query


@contextlib.contextmanager
def scratch_store(db: str, prefix: str) -> Iterator[tuple[Path, str]]:
    """(data directory, database URL): the URL is empty on SQLite (the data directory holds the file)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"fc-{prefix}-"))
    dbname = database_url = ""
    if db == "postgres":
        dbname = f"fc_{prefix}_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{dbname}"'))
        database_url = with_database(PG_ADMIN, dbname)
    try:
        yield data_dir, database_url
    finally:
        if dbname:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


def in_process_settings(data_dir: Path, database_url: str) -> Any:
    """The app's settings for a bench that drives ``create_app`` in its own process (no media workers)."""
    from backend.settings import Settings

    return Settings(
        data_dir=str(data_dir),
        database_url=database_url,
        workers=False,
        secret_key="bench",  # noqa: S106
    )
