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


# The inspection row: its lifecycle owner (sync/lifecycle.py) locks and writes it, pull reads it; the one named
# exception.
SYNC_MAY_READ = {"inspection"}

LIFECYCLE = "sync/lifecycle.py"
# demo data seeds inspections at a given status (fixtures, never a move)
SEEDS = {"backend/demo.py", "backend/programme/demo.py"}
STATUS_WRITES = (
    re.compile(r"Inspection\.status\s*:"),  # Piccolo's update({Inspection.status: ...})
    re.compile(r'UPDATE\s+\\?"?inspection\\?"?\s+SET[^;]*?\bstatus\b', re.IGNORECASE | re.DOTALL),
    re.compile(r"Inspection\([^()]*\bstatus\s*=", re.DOTALL),  # a new row at a status of its own
    re.compile(r"Inspection\.update\(\s*\{[^}]*[\"']status[\"']"),
)


# its version (devices' cookies are built from it): bumped under the row lock, by the lifecycle only
VERSION_WRITES = (
    re.compile(r"Inspection\.version\s*:"),
    re.compile(r'UPDATE\s+\\?"?inspection\\?"?\s+SET[^;]{0,300}?\bversion\b', re.IGNORECASE | re.DOTALL),
    re.compile(r"Inspection\([^()]*\bversion\s*=", re.DOTALL),
    re.compile(r"Inspection\.update\(\s*\{[^}]*[\"']version[\"']"),
)
# its lock: a row lock (the table has no lock column), taken in one order (sorted ids) so pushes do not deadlock
LOCKS = (
    re.compile(
        r'FROM\s+\\?"?inspection\\?"?\s[^;]{0,300}?\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE)\b',
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(r"Inspection\.(select|objects)\([^;]{0,400}?\.lock_rows\(", re.DOTALL),
)


def writers(files: dict[str, str], patterns: tuple[re.Pattern[str], ...]) -> set[str]:
    return {
        name
        for name, text in files.items()
        if name != LIFECYCLE and name not in SEEDS and any(p.search(text) for p in patterns)
    }


def status_writers(files: dict[str, str]) -> set[str]:
    return writers(files, STATUS_WRITES)


def test_only_the_lifecycle_writes_an_inspections_status() -> None:
    """draft → submitted → returned / accepted: every move is sync/lifecycle.py's (the push's submit, the
    office's submit, a return, a sign-off reach it through sync.api), so the moves and their refusals live once."""
    assert status_writers(sources("backend", "sync", "media")) == set()


def test_only_the_lifecycle_writes_an_inspections_version_or_locks_it() -> None:
    """The version and the row lock are the lifecycle's too: a push, a move, a new standard and a photo's
    evidence flags (sync/photo_facts.py, which bumped it by its own SQL) all reach sync/lifecycle.py."""
    files = sources("backend", "sync", "media")
    assert writers(files, VERSION_WRITES) == set()
    assert writers(files, LOCKS) == set()


def test_the_status_scan_finds_the_writes_it_forbids() -> None:
    """The scan is no test that cannot fail: each way a status was written before the owner is caught."""
    samples = {
        "a.py": 'await Inspection.update({Inspection.status: "accepted"}).where(Inspection.id == i)',
        "b.py": 'await sql.execute(\'UPDATE "inspection" SET "status" = ?, "submitted_at" = ? WHERE "id" = ?\')',
        "c.py": 'Inspection(id=i, facility=f, status="submitted", stage="self")',
        "d.py": "UPDATE inspection SET version = version + 1, status = 'returned'",
        "e.py": "await Inspection.update({Inspection.version: 3}).where(Inspection.id == i)",
        LIFECYCLE: 'UPDATE "inspection" SET "status" = ?',
    }
    assert status_writers(samples) == {"a.py", "b.py", "c.py", "d.py"}


def test_the_version_and_lock_scans_find_what_they_forbid() -> None:
    samples = {
        # the photo flags' own bump, before it went through the lifecycle
        "photo_facts.py": """bumped = await Photo.raw(
                'UPDATE "inspection" SET "version" = "version" + 1 WHERE "id" = {} RETURNING "version"',""",
        "orm.py": "await Inspection.update({Inspection.version: Inspection.version + 1})",
        "new.py": "Inspection(facility=f, stage='self', version=4)",
        "status.py": "await Inspection.update({Inspection.status: 'accepted'})",
        "read.py": 'SELECT "version" FROM "inspection" WHERE "id" = ?',
        LIFECYCLE: 'UPDATE "inspection" SET "version" = ? WHERE "id" = ?',
    }
    assert writers(samples, VERSION_WRITES) == {"photo_facts.py", "orm.py", "new.py"}
    locks = {
        "raw.py": 'await sql.fetch(\'SELECT "id" FROM "inspection" WHERE "id" = ? FOR UPDATE\', [i])',
        "orm.py": "await Inspection.select(Inspection.id).where(Inspection.id == i).lock_rows()",
        "other.py": 'SELECT * FROM "media_upload" WHERE "id" = {} FOR UPDATE',
        "read.py": 'SELECT "version" FROM "inspection" WHERE "id" = ?',
        LIFECYCLE: 'SELECT "id" FROM "inspection" WHERE {cond} ORDER BY "id" FOR UPDATE',
    }
    assert writers(locks, LOCKS) == {"raw.py", "orm.py"}


def test_the_columns_default_is_the_lifecycles_first_status() -> None:
    from backend.inspections.tables import Inspection
    from sync import lifecycle

    assert Inspection.status.default == lifecycle.INITIAL
    assert set(lifecycle.EDITABLE) | set(lifecycle.TEAM_FIXED) == set(lifecycle.STATUSES)


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


def test_the_reuse_at_another_facility_is_decided_once() -> None:
    """``photo.reused_elsewhere`` is decided by backend/evidence/rules.py: reused_elsewhere (in the flags' pass)
    and written with the flags by sync/photo_facts.py: record_flags; no second computation in SQL or elsewhere."""
    writers = {
        name
        for name, text in sources("backend", "sync", "media").items()
        if re.search(r"Photo\.reused_elsewhere\s*:|\"reused_elsewhere\"\s*=", text)
    }
    assert writers == {"sync/photo_facts.py"}
    deciders = {
        name
        for name, text in sources("backend", "sync", "media").items()
        if re.search(r"HAVING\s+COUNT\(DISTINCT\s+\w+\.\"facility\"\)|def reused_elsewhere\(", text)
    }
    assert deciders == {"backend/evidence/rules.py"}
