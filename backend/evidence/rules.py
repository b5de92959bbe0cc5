"""Evidence flags as pure rules (DESIGN §7): no I/O, tested directly.

A flag informs a person; it never rejects a photo. Stored on the photo row as JSON (``StoredFlag``) with the
related photos' inspection, facility and article, so each reader is shown only the related photo ids it may
see (``sync.flags.visible_flags``): a clinic gets the flag and the reason in words, never another facility's photo ids.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import msgspec

from backend.vocabulary import Message, Param

FlagCode = Literal["near_duplicate", "far_from_facility", "outside_period", "no_capture_time", "no_location"]
FLAG_CODES: tuple[FlagCode, ...] = (
    "near_duplicate",
    "far_from_facility",
    "outside_period",
    "no_capture_time",
    "no_location",
)
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
# The period's dates are calendar days where the photos are taken. The camera's own wall clock (EXIF, no
# zone needed) gives the day; with only an instant (rare: no EXIF wall clock kept) the edges are widened by
# 14 h, the widest UTC offset, rather than guessing the zone.
PERIOD_SLACK = timedelta(hours=14)


class Related(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    photo_id: str
    inspection_id: str
    facility_id: str
    item_code: str
    distance: int


class StoredFlag(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    code: FlagCode
    detail: str  # English, for logs and API clients; people read ``message``
    related: tuple[Related, ...] = ()
    # None on flags stored before messages were kept: the app then says the code's name only
    message: Message | None = None


class PhotoFacts(msgspec.Struct, kw_only=True, frozen=True):
    photo_id: str
    inspection_id: str
    facility_id: str
    item_code: str
    round_id: str | None
    capture_time: datetime | None
    # EXIF DateTimeOriginal as the camera's wall clock (ISO text, no zone)
    capture_local: str | None
    latitude: float | None
    longitude: float | None


class Place(msgspec.Struct, kw_only=True, frozen=True):
    latitude: float | None
    longitude: float | None
    radius_km: float


class Period(msgspec.Struct, kw_only=True, frozen=True):
    starts_on: date | None
    ends_on: date | None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def reused_elsewhere(photo: PhotoFacts, same_bytes: Iterable[PhotoFacts]) -> bool:
    """The one rule of a photo reused at another facility: its very bytes are evidence of another facility too
    (stored as ``photo.reused_elsewhere``, shown in the receipt)."""
    return any(other.facility_id != photo.facility_id for other in same_bytes)


def is_related(photo: PhotoFacts, other: PhotoFacts) -> bool:
    """The same picture counts against the evidence when it is used at another facility, for another article,
    or in another round (last year's photo in this year's self-assessment). The self-assessment and the
    review of the same article in the same round sharing a photo is expected, not flagged."""
    return other.photo_id != photo.photo_id and (
        other.facility_id != photo.facility_id
        or other.item_code != photo.item_code
        or other.round_id != photo.round_id
    )


def near_duplicate_flag(photo: PhotoFacts, matches: list[tuple[PhotoFacts, int]]) -> StoredFlag | None:
    related = sorted(
        (
            Related(
                photo_id=other.photo_id,
                inspection_id=other.inspection_id,
                facility_id=other.facility_id,
                item_code=other.item_code,
                distance=distance,
            )
            for other, distance in matches
            if is_related(photo, other)
        ),
        key=lambda r: (r.distance, r.photo_id),
    )
    if not related:
        return None
    elsewhere = sum(1 for r in related if r.facility_id != photo.facility_id)
    here = len(related) - elsewhere
    parts = []
    if elsewhere:
        parts.append(f"{elsewhere} photo{'s' if elsewhere > 1 else ''} at another facility")
    if here:
        parts.append(
            f"{here} other photo{'s' if here > 1 else ''} of this facility (another article or round)"
        )
    exact = " (the same file)" if related[0].distance == 0 else ""
    counts: dict[str, Param] = {"elsewhere": elsewhere, "here": here}
    return StoredFlag(
        code="near_duplicate",
        detail=f"the same picture{exact}, possibly re-encoded, resized or cropped, is also evidence in "
        + " and ".join(parts),
        related=tuple(related),
        message=Message(code="flagDetail_near_duplicate_exact", params=counts)
        if exact
        else Message(code="flagDetail_near_duplicate", params=counts),
    )


def place_flags(photo: PhotoFacts, place: Place | None) -> list[StoredFlag]:
    if photo.latitude is None or photo.longitude is None:
        return [
            StoredFlag(
                code="no_location",
                detail="the photo carries no GPS position (EXIF)",
                message=Message(code="flagDetail_no_location"),
            )
        ]
    if place is None or place.latitude is None or place.longitude is None:
        return []  # nothing to compare with until the facility's coordinates are set
    km = haversine_km(photo.latitude, photo.longitude, place.latitude, place.longitude)
    if km <= place.radius_km:
        return []
    return [
        StoredFlag(
            code="far_from_facility",
            detail=f"taken {km:.1f} km from the facility (the programme allows {place.radius_km:g} km)",
            message=Message(
                code="flagDetail_far_from_facility",
                params={"km": f"{km:.1f}", "radiusKm": f"{place.radius_km:g}"},
            ),
        )
    ]


def _outside(detail: str, message: Message) -> list[StoredFlag]:
    return [StoredFlag(code="outside_period", detail=detail, message=message)]


def _before(taken: date, starts: date) -> Message:
    return Message(
        code="flagDetail_outside_period_before",
        params={"taken": taken.isoformat(), "starts": starts.isoformat()},
    )


def _after(taken: date, ends: date) -> Message:
    return Message(
        code="flagDetail_outside_period_after", params={"taken": taken.isoformat(), "ends": ends.isoformat()}
    )


def _local_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def time_flags(photo: PhotoFacts, period: Period | None) -> list[StoredFlag]:
    day = _local_day(photo.capture_local)
    if photo.capture_time is None and day is None:
        return [
            StoredFlag(
                code="no_capture_time",
                detail="the photo carries no capture time (EXIF)",
                message=Message(code="flagDetail_no_capture_time"),
            )
        ]
    if period is None:
        return []
    starts, ends = period.starts_on, period.ends_on
    if day is not None:
        if starts is not None and day < starts:
            return _outside(
                f"taken {day.isoformat()}, before the round began on {starts.isoformat()}",
                _before(day, starts),
            )
        if ends is not None and day > ends:
            return _outside(
                f"taken {day.isoformat()}, after the round ended on {ends.isoformat()}", _after(day, ends)
            )
        return []
    assert photo.capture_time is not None
    when = photo.capture_time if photo.capture_time.tzinfo else photo.capture_time.replace(tzinfo=UTC)
    if starts is not None and when < datetime.combine(starts, datetime.min.time(), UTC) - PERIOD_SLACK:
        return _outside(
            f"taken {when.date().isoformat()} (UTC), before the round began on {starts.isoformat()}",
            _before(when.date(), starts),
        )
    if (
        ends is not None
        and when >= datetime.combine(ends + timedelta(days=1), datetime.min.time(), UTC) + PERIOD_SLACK
    ):
        return _outside(
            f"taken {when.date().isoformat()} (UTC), after the round ended on {ends.isoformat()}",
            _after(when.date(), ends),
        )
    return []


def photo_flags(
    photo: PhotoFacts,
    *,
    matches: list[tuple[PhotoFacts, int]],
    place: Place | None,
    period: Period | None,
) -> list[StoredFlag]:
    """Every flag of one photo whose bytes have arrived, in the order of :data:`FLAG_CODES`."""
    flags: list[StoredFlag] = []
    duplicate = near_duplicate_flag(photo, matches)
    if duplicate is not None:
        flags.append(duplicate)
    flags += place_flags(photo, place)
    flags += time_flags(photo, period)
    return sorted(flags, key=lambda f: FLAG_CODES.index(f.code))


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[StoredFlag])


def encode_flags(flags: list[StoredFlag]) -> str:
    return _encoder.encode(flags).decode()


def decode_flags(raw: str | None) -> list[StoredFlag]:
    if not raw:
        return []
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError:
        return []  # written only by this module; an unreadable value is shown as no flags, not a 500
