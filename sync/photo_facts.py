"""What the media side learned about a photo's bytes, written into the ``photo`` rows (which only the sync
engine writes): EXIF capture time and GPS, the same bytes seen at another facility (these do not change what
devices pull: no version), and the evidence flags the backend computed (these do). The backend calls these
from media's hooks and its evidence service with what it found."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sync import lifecycle
from sync.context import TransactionFactory
from sync.sql import Sql
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


async def record_flags(
    updates: Mapping[Any, list[tuple[Any, str, bool]]], *, transaction: TransactionFactory
) -> None:
    """Store evidence flags (JSON the backend computed) and the reuse the backend found on photos,
    ``{inspection id: [(photo id, flags, reused at another facility)]}``.
    Unlike the facts above, flags are shown in pull: the lifecycle bumps each inspection's version under its
    row's lock (inspections in sorted order, as a push locks them) and the photos take that version, so the
    next pull sends them again."""
    if not updates:
        return
    async with transaction() as tx:
        # the version is the lifecycle's to write (sync/lifecycle.py), under the lock a push takes
        versions = await lifecycle.bump_all(Sql(tx.engine), list(updates))
        for inspection_id, photos in updates.items():
            for photo_id, encoded, reused in photos:
                await Photo.update(
                    {
                        Photo.flags: encoded,
                        Photo.reused_elsewhere: reused,
                        Photo.version: versions[inspection_id],
                    }
                ).where(Photo.id == photo_id)
