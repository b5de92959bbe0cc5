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
