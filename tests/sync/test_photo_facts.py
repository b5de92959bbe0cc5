"""The sync engine is the one writer of ``photo`` rows: the evidence flags the backend computes are stored by
``sync.photo_facts.record_flags`` (both databases), which bumps the inspection's version so pull sends them."""

from __future__ import annotations

import pathlib
import uuid
from typing import Any

from litestar import Litestar

from backend.db import write_tx
from backend.inspections.tables import Inspection
from sync.api import record_flags
from sync.tables import Photo

ROOT = pathlib.Path(__file__).resolve().parents[2]


async def _photo(inspection_id: uuid.UUID) -> uuid.UUID:
    photo_id = uuid.uuid4()
    await Photo.insert(
        Photo(
            id=photo_id,
            inspection_id=inspection_id,
            item_code="1.1.1",
            sha256="b" * 64,
            size=1,
            mime="image/jpeg",
        )
    )
    return photo_id


async def test_record_flags_stores_them_and_bumps_the_inspection_version(
    app: Litestar, demo: dict[str, Any]
) -> None:
    first, second = demo["self_inspections"][0], demo["self_inspections"][1]
    photos = [await _photo(first), await _photo(first), await _photo(second)]
    before = {row["id"]: row["version"] for row in await Inspection.select(Inspection.id, Inspection.version)}

    await record_flags(
        {
            first: [(photos[0], '[{"code":"no_location"}]', False), (photos[1], "[]", True)],
            second: [(photos[2], "[]", False)],
        },
        transaction=write_tx,
    )

    after = {row["id"]: row["version"] for row in await Inspection.select(Inspection.id, Inspection.version)}
    assert after[first] == before[first] + 1
    assert after[second] == before[second] + 1
    rows = {
        row["id"]: row
        for row in await Photo.select(Photo.id, Photo.flags, Photo.version, Photo.reused_elsewhere)
    }
    assert rows[photos[0]]["flags"] == '[{"code":"no_location"}]'
    assert rows[photos[1]]["flags"] == "[]"
    # the reuse at another facility the backend decided in the same pass
    assert [rows[p]["reused_elsewhere"] for p in photos] == [False, True, False]
    # each photo takes its inspection's new version: the next pull (cookie below it) sends it again
    assert rows[photos[0]]["version"] == rows[photos[1]]["version"] == after[first]
    assert rows[photos[2]]["version"] == after[second]


def test_the_backend_writes_no_photo_row() -> None:
    """Photo rows are written by the sync engine only (issue 12): no backend module updates them itself."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "backend").rglob("*.py"))
        if "migrations" not in path.parts
        and any(
            needle in path.read_text(encoding="utf-8")
            for needle in ('UPDATE "photo"', "Photo.update(", "Photo.insert(", 'INSERT INTO "photo"')
        )
    ]
    assert offenders == []
