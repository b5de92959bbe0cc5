"""The benches' scratch store (bench/scratch_store.py): a fresh data directory, and on PostgreSQL a database of
its own that is gone afterwards, even when the bench fails."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def scratch_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scratch_store", BENCH / "scratch_store.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("scratch_store", module)
    spec.loader.exec_module(module)
    return module


async def database_exists(admin: str, name: str) -> bool:
    conn = await asyncpg.connect(admin)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


def test_sqlite_is_a_fresh_directory_and_no_url() -> None:
    scratch = scratch_module()
    with scratch.scratch_store("sqlite", "t") as (data_dir, url):
        assert url == ""
        assert data_dir.is_dir()
        assert data_dir.name.startswith("fc-t-")
        assert list(data_dir.iterdir()) == []
        settings = scratch.in_process_settings(data_dir, url)
        assert (settings.data_dir, settings.workers) == (str(data_dir), False)


def test_postgres_database_is_dropped_even_when_the_bench_fails() -> None:
    scratch = scratch_module()
    seen: list[str] = []

    def failing_bench() -> None:
        with scratch.scratch_store("postgres", "t") as (_, url):
            seen.append(url.rsplit("/", 1)[1])
            assert asyncio.run(database_exists(scratch.PG_ADMIN, seen[0]))
            raise RuntimeError("bench failed")

    with pytest.raises(RuntimeError, match="bench failed"):
        failing_bench()
    assert seen[0].startswith("fc_t_")
    assert not asyncio.run(database_exists(scratch.PG_ADMIN, seen[0]))
