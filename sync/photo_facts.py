"""What the media side learned about a photo's bytes, written into the ``photo`` rows (which only the sync
engine writes): EXIF capture time and GPS, and the same bytes seen at another facility. The backend calls
these from media's hooks with the facts of the blob; they do not change what devices pull (no version)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sync.context import TransactionFactory
from sync.tables import Photo

log = logging.getLogger("fieldcheck.sync")


async def record_capture_facts(
    sha256_hex: str,
    *,
    capture_time: datetime | None,
    capture_local: str | None,
    gps_lat: float | None,
    gps_lon: float | None,
    transaction: TransactionFactory,
) -> None:
    """Copy a blob's capture time and GPS to every photo of those bytes that lacks them."""
    photos = await Photo.select(Photo.id, Photo.taken_at, Photo.capture_time, Photo.gps_lat).where(
        Photo.sha256 == sha256_hex
    )
    updates: list[tuple[Any, dict[Any, Any]]] = []
    for photo in photos:
        changes: dict[Any, Any] = {}
        if photo["capture_time"] is None:
            when = capture_time or _with_device_offset(capture_local, photo["taken_at"])
            if when is not None:
                changes[Photo.capture_time] = when
        if photo["gps_lat"] is None and gps_lat is not None:
            changes[Photo.gps_lat] = gps_lat
            changes[Photo.gps_lon] = gps_lon
        if changes:
            updates.append((photo["id"], changes))
    if not updates:
        return
    async with transaction():
        for photo_id, changes in updates:
            await Photo.update(changes).where(Photo.id == photo_id)


def _with_device_offset(wall_clock: str | None, taken_at: str | None) -> datetime | None:
    """EXIF time without an offset, placed in the time zone of the device's own ``takenAt`` (if it has one)."""
    if not wall_clock or not taken_at:
        return None
    try:
        local = datetime.fromisoformat(wall_clock)
        device = datetime.fromisoformat(taken_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if device.tzinfo is None:
        return None
    return local.replace(tzinfo=device.tzinfo)


async def flag_reused(*, transaction: TransactionFactory, sha256_hex: str | None = None) -> int:
    """Flag photos whose bytes also appear at another facility (for the review office). Returns how many.

    With ``sha256_hex`` only the photos of those bytes are looked at (after an upload); without, all of them
    (housekeeping)."""
    only = ' AND q."sha256" = {}' if sha256_hex is not None else ""
    rows = await Photo.raw(
        'SELECT p."id" FROM "photo" p WHERE p."reused_elsewhere" = {} AND p."deleted" = {} AND p."sha256" IN ('  # noqa: S608
        ' SELECT q."sha256" FROM "photo" q JOIN "inspection" i ON i."id" = q."inspection_id"'
        f' WHERE q."deleted" = {{}}{only} GROUP BY q."sha256" HAVING COUNT(DISTINCT i."facility") > 1)',
        *[False, False, False, *([sha256_hex] if sha256_hex is not None else [])],
    )
    ids = [row["id"] for row in rows]
    if ids:
        async with transaction():
            await Photo.update({Photo.reused_elsewhere: True}).where(Photo.id.is_in(ids))
        log.info("flagged %d photos reused across facilities", len(ids))
    return len(ids)
