"""Each table has one writer: checked in the source, since the import contracts cannot see who writes."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sources(*tops: str) -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for top in tops
        for path in (ROOT / top).rglob("*.py")
    }


def test_only_media_jobs_adds_media_jobs() -> None:
    """The outbox's rows are added by media.jobs.enqueue_job(s) only (exports used to insert them)."""
    writers = [
        name
        for name, text in sources("backend", "sync", "media").items()
        if re.search(r"\bJob\.insert\(|\bJob\(id=|INSERT INTO \"?media_job", text) and name != "media/jobs.py"
    ]
    assert writers == []


# The inspection row's version and lock are still taken by the push (sync/push/load.py, write.py) and pull
# reads it: an inspection lifecycle owner is not built yet (issue 24), so it is the one named exception.
SYNC_MAY_READ = {"inspection"}


def test_sync_runs_no_sql_on_the_backends_tables() -> None:
    """Pull gets facilities and opinions through functions handed to it (sync.api.PullContext), as push gets
    the standards' rules: sync's SQL names only sync's own tables."""
    from backend.tables_index import TABLES
    from media.tables import MEDIA_TABLES
    from sync.tables import SYNC_TABLES

    backend_tables = {t._meta.tablename for t in TABLES} - {
        t._meta.tablename for t in (*SYNC_TABLES, *MEDIA_TABLES)
    }
    assert {"facility", "returned_opinion", "eval_round", "inspection"} <= backend_tables
    named = {
        (name, table)
        for name, text in sources("sync").items()
        for table in backend_tables - SYNC_MAY_READ
        if re.search(rf'(FROM|JOIN|INTO|UPDATE)\s+\\?"?{table}\b', text)
    }
    assert named == set()
