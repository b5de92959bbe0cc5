"""What the media side learned about a photo's bytes, written into the ``photo`` rows (which only the sync
engine writes): EXIF capture time and GPS, the same bytes seen at another facility (these do not change what
devices pull: no version), and the evidence flags the backend computed (these do). The backend calls these
from media's hooks and its evidence service with what it found."""

from __future__ import annotations

import logging
from collections.abc import Mapping
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


async def record_flags(
    updates: Mapping[Any, list[tuple[Any, str]]], *, transaction: TransactionFactory
) -> None:
    """Store evidence flags (JSON the backend computed) on photos, ``{inspection id: [(photo id, flags)]}``.
    Unlike the facts above, flags are shown in pull: each inspection's version is bumped under its row's lock
    (inspections in sorted order, as a push locks them) and the photos take that version, so the next pull
    sends them again."""
    if not updates:
        return
    async with transaction():
        for inspection_id in sorted(updates, key=str):
            bumped = await Photo.raw(
                'UPDATE "inspection" SET "version" = "version" + 1 WHERE "id" = {} RETURNING "version"',
                inspection_id,
            )
            version = int(bumped[0]["version"])
            for photo_id, encoded in updates[inspection_id]:
                await Photo.update({Photo.flags: encoded, Photo.version: version}).where(Photo.id == photo_id)
