"""Evidence flags (DESIGN §7): computed per photo, stored on the photo row, shown to each reader in its scope.

When: after a blob's state changes (upload finished, stored, derivatives and perceptual hash made; the
media workers' hook), for every photo of a facility whose coordinates changed or of a round whose dates
changed, for the near duplicates of removed photos, and by housekeeping for photos whose bytes were already on
the server when they were added (no upload, so no hook). The sync engine writes the new flags
(``sync.api.record_flags``: the photo rows are its own) and bumps the inspection's version, so the next pull
sends the photo again with its flags.

Near duplicates are symmetric: a photo matching another one flags both, so the photos of every matched blob
are recomputed too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from backend.db import current_engine, fetch, write_tx
from backend.errors import NotFound
from backend.evidence.rules import Period, PhotoFacts, Place, encode_flags, photo_flags, reused_elsewhere
from media.phash import find_similar, from_signed
from sync.api import record_flags
from sync.policy import is_document

log = logging.getLogger("fieldcheck.evidence")

_FACTS = (
    'SELECT p."id", p."inspection_id", p."item_code", p."sha256", p."capture_time", p."gps_lat", p."gps_lon", '
    'p."flags", p."reused_elsewhere", p."mime", i."facility", i."round", i."standard_version_id", b."state" AS "blob_state", b."phash", '
    'b."capture_local" '
    'FROM "photo" p JOIN "inspection" i ON i."id" = p."inspection_id" '
    'LEFT JOIN "media_blob" b ON b."sha256" = p."sha256" WHERE p."deleted" = {} AND '
)


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("{}" for _ in values)


def _facts(row: dict[str, Any]) -> PhotoFacts:
    when = row["capture_time"]
    if isinstance(when, str):  # SQLite may hand back text for a computed column
        when = datetime.fromisoformat(when)
    return PhotoFacts(
        photo_id=str(row["id"]),
        inspection_id=str(row["inspection_id"]),
        facility_id=str(row["facility"]),
        item_code=row["item_code"],
        round_id=None if row["round"] is None else str(row["round"]),
        capture_time=when,
        capture_local=row["capture_local"],
        latitude=row["gps_lat"],
        longitude=row["gps_lon"],
    )


async def _photos_where(column: str, values: Sequence[Any]) -> list[dict[str, Any]]:
    if not values:
        return []
    return await fetch(_FACTS + f'p."{column}" IN ({_placeholders(values)})', [False, *values])


async def refresh_for_blob(sha256_hex: str) -> int:
    """Recompute the flags of every photo of these bytes and of the photos of their near duplicates."""
    rows = await _photos_where("sha256", [sha256_hex])
    if not rows:
        return 0
    return await _refresh(rows)


async def refresh_for_facility(facility_id: UUID) -> int:
    """Recompute the flags of every photo taken for a facility (its coordinates changed)."""
    return await _refresh_inspections("facility", facility_id)


async def refresh_for_round(round_id: UUID) -> int:
    """Recompute the flags of every photo of a round's inspections (its dates changed: ``outside_period``)."""
    return await _refresh_inspections("round", round_id)


async def _refresh_inspections(column: str, value: UUID) -> int:
    inspections = await fetch(f'SELECT "id" FROM "inspection" WHERE "{column}" = {{}}', [value])  # noqa: S608
    ids = [row["id"] for row in inspections]
    return await _refresh(await _photos_where("inspection_id", ids), follow_matches=False)


async def refresh_after_removal(photo_ids: Sequence[UUID]) -> int:
    """Photos were removed: recompute the flags of the photos that named them as near duplicates (the
    remaining photos of the same bytes and of every blob near them), so no flag points at a removed photo."""
    if not photo_ids:
        return 0
    removed = await fetch(
        'SELECT DISTINCT p."sha256", b."phash", b."state" FROM "photo" p '  # noqa: S608
        'LEFT JOIN "media_blob" b ON b."sha256" = p."sha256" '
        f'WHERE p."deleted" = {{}} AND p."id" IN ({_placeholders(photo_ids)})',
        [True, *photo_ids],
    )
    engine = current_engine()
    shas: set[str] = set()
    for row in removed:
        shas.add(row["sha256"])
        if row["phash"] is not None and row["state"] != "rejected":
            found = await find_similar(engine, from_signed(int(row["phash"])))
            shas.update(m.sha256 for m in found.matches)
    return await _refresh(await _photos_where("sha256", sorted(shas)), follow_matches=False)


async def refresh_unflagged(limit: int = 500) -> int:
    """Housekeeping: photos whose bytes are on the server but whose flags were never computed (added after
    their bytes were already stored, so no upload and no worker hook ran for them)."""
    rows = await fetch(
        'SELECT p."sha256" FROM "photo" p JOIN "media_blob" b ON b."sha256" = p."sha256" '
        'WHERE p."flags" IS NULL AND p."deleted" = {} AND b."state" <> {} LIMIT {}',
        [False, "rejected", limit],
    )
    changed = 0
    for sha in sorted({row["sha256"] for row in rows}):
        changed += await refresh_for_blob(sha)
    return changed


async def _refresh(rows: list[dict[str, Any]], *, follow_matches: bool = True) -> int:
    """Compute and store the flags of ``rows`` (photo facts); returns how many photos changed."""
    engine = current_engine()
    matches_by_sha: dict[str, dict[str, int]] = {}

    async def look_up(candidates: list[dict[str, Any]]) -> None:
        for row in candidates:
            sha = row["sha256"]
            if sha in matches_by_sha or row["blob_state"] is None or row["blob_state"] == "rejected":
                continue
            found: dict[str, int] = {}
            if row["phash"] is not None:
                lookup = await find_similar(engine, from_signed(int(row["phash"])))
                found = {m.sha256: m.distance for m in lookup.matches}
            found[sha] = 0  # the same bytes elsewhere are the closest duplicate of all
            matches_by_sha[sha] = found

    def matched() -> list[str]:
        return sorted({sha for found in matches_by_sha.values() for sha in found})

    await look_up(rows)
    if follow_matches:
        # the other side of each match gets its flag too (recomputed in full, without following further)
        known = {row["id"] for row in rows}
        partners = [row for row in await _photos_where("sha256", matched()) if row["id"] not in known]
        rows = rows + partners
        await look_up(partners)
    others = await _photos_where("sha256", matched())
    by_sha: dict[str, list[PhotoFacts]] = {}
    for row in others:
        by_sha.setdefault(row["sha256"], []).append(_facts(row))
    places = await _places({row["facility"] for row in rows}, {row["standard_version_id"] for row in rows})
    periods = await _periods({row["round"] for row in rows if row["round"] is not None})

    updates: dict[Any, list[tuple[Any, str, bool]]] = {}
    for row in rows:
        if row["blob_state"] is None or row["blob_state"] == "rejected":
            continue  # facts unknown until the bytes arrive; a rejected photo is already refused
        facts = _facts(row)
        reused = reused_elsewhere(facts, by_sha.get(row["sha256"], []))
        if is_document(row["mime"]):
            # a ledger carries no capture time or place, and near duplicates are about pictures: no flags
            encoded = encode_flags([])
            if encoded != row["flags"] or reused != bool(row["reused_elsewhere"]):
                updates.setdefault(row["inspection_id"], []).append((row["id"], encoded, reused))
            continue
        matches = [
            (other, distance)
            for sha, distance in matches_by_sha.get(row["sha256"], {}).items()
            for other in by_sha.get(sha, [])
        ]
        flags = photo_flags(
            facts,
            matches=matches,
            place=places.get((str(row["facility"]), row["standard_version_id"])),
            period=periods.get(str(row["round"])) if row["round"] is not None else None,
        )
        encoded = encode_flags(flags)
        if encoded != row["flags"] or reused != bool(row["reused_elsewhere"]):
            updates.setdefault(row["inspection_id"], []).append((row["id"], encoded, reused))
    await record_flags(updates, transaction=write_tx)  # the photo rows are the sync engine's to write
    return sum(len(items) for items in updates.values())


async def _places(facility_ids: Iterable[Any], standard_ids: Iterable[str]) -> dict[tuple[str, str], Place]:
    ids = sorted(facility_ids, key=str)
    if not ids:
        return {}
    rows = await fetch(
        f'SELECT "id", "latitude", "longitude" FROM "facility" WHERE "id" IN ({_placeholders(ids)})',  # noqa: S608
        ids,
    )
    radii = {sid: await radius_km(sid) for sid in set(standard_ids)}
    return {
        (str(row["id"]), sid): Place(latitude=row["latitude"], longitude=row["longitude"], radius_km=radius)
        for row in rows
        for sid, radius in radii.items()
    }


async def _periods(round_ids: Iterable[Any]) -> dict[str, Period]:
    ids = sorted(round_ids, key=str)
    if not ids:
        return {}
    rows = await fetch(
        f'SELECT "id", "starts_on", "ends_on" FROM "eval_round" WHERE "id" IN ({_placeholders(ids)})',  # noqa: S608
        ids,
    )
    return {
        str(row["id"]): Period(starts_on=_date(row["starts_on"]), ends_on=_date(row["ends_on"]))
        for row in rows
    }


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


async def radius_km(standard_id: str) -> float:
    """The programme's radius (``programmeSettings.evidenceRadiusKm`` of the inspection's standard)."""
    from backend.standards.loader import load_shipped, shipped_names
    from backend.standards.schemas import ProgrammeSettings
    from backend.standards.services import get_standard

    try:
        return (await get_standard(standard_id=standard_id)).programme_settings.evidence_radius_km
    except NotFound:
        shipped = next((s for s in map(load_shipped, shipped_names()) if s.id == standard_id), None)
        settings = shipped.programme_settings if shipped is not None else ProgrammeSettings()
        return settings.evidence_radius_km
