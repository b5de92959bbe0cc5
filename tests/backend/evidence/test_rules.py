"""The pure flag rules and the reader's view of stored flags."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from backend.evidence.rules import (
    Period,
    PhotoFacts,
    Place,
    decode_flags,
    encode_flags,
    haversine_km,
    photo_flags,
    reused_elsewhere,
)
from sync.flags import visible_flags


def _photo(**changes: object) -> PhotoFacts:
    base: dict[str, object] = {
        "photo_id": "p1",
        "inspection_id": "i1",
        "facility_id": "f1",
        "item_code": "1.1.1",
        "round_id": "r1",
        "capture_time": datetime(2026, 5, 1, 2, tzinfo=UTC),
        "capture_local": "2026-05-01T10:00:00",
        "latitude": 30.0,
        "longitude": 120.0,
    }
    return PhotoFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_haversine_matches_a_known_distance() -> None:
    # Beijing (39.9042, 116.4074) to Shanghai (31.2304, 121.4737): about 1067 km
    assert abs(haversine_km(39.9042, 116.4074, 31.2304, 121.4737) - 1067) < 3
    assert haversine_km(30, 120, 30, 120) == 0


def test_near_duplicate_rules() -> None:
    me = _photo()
    same_article_other_stage = _photo(photo_id="p2", inspection_id="i2")
    other_article = _photo(photo_id="p3", item_code="1.1.2")
    other_facility = _photo(photo_id="p4", inspection_id="i4", facility_id="f2")
    last_year = _photo(photo_id="p5", inspection_id="i5", round_id="r0")
    flags = photo_flags(
        me,
        matches=[
            (me, 0),
            (same_article_other_stage, 0),
            (other_article, 3),
            (other_facility, 7),
            (last_year, 1),
        ],
        place=None,
        period=None,
    )
    assert [f.code for f in flags] == ["near_duplicate"]
    assert [r.photo_id for r in flags[0].related] == ["p5", "p3", "p4"]  # by distance
    assert "another facility" in flags[0].detail
    assert "this facility" in flags[0].detail


def test_no_time_rule_without_a_period_and_unknown_coordinates() -> None:
    assert (
        photo_flags(
            _photo(), matches=[], place=Place(latitude=None, longitude=None, radius_km=3), period=None
        )
        == []
    )
    missing = photo_flags(
        _photo(capture_time=None, capture_local=None, latitude=None, longitude=None),
        matches=[],
        place=None,
        period=Period(starts_on=date(2026, 1, 1), ends_on=None),
    )
    assert [f.code for f in missing] == ["no_capture_time", "no_location"]


def test_time_without_the_camera_clock_uses_the_instant_with_slack() -> None:
    period = Period(starts_on=date(2026, 4, 1), ends_on=date(2026, 6, 30))
    # 08:00 UTC on 1 July is 16:00 in China, already the next day there, but within the 14 h slack
    inside = _photo(capture_local=None, capture_time=datetime(2026, 7, 1, 8, tzinfo=UTC))
    assert photo_flags(inside, matches=[], place=None, period=period) == []
    outside = _photo(capture_local=None, capture_time=datetime(2026, 7, 2, 0, tzinfo=UTC))
    assert [f.code for f in photo_flags(outside, matches=[], place=None, period=period)] == ["outside_period"]


def test_a_reader_sees_only_the_related_photos_it_may_read() -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    flags = photo_flags(
        _photo(inspection_id=str(mine)),
        matches=[
            (_photo(photo_id="a", inspection_id=str(mine), item_code="2.1.1"), 2),
            (_photo(photo_id="b", inspection_id=str(theirs), facility_id="f9"), 4),
        ],
        place=None,
        period=None,
    )
    raw = encode_flags(flags)
    assert decode_flags(raw) == flags
    seen = visible_flags(raw, lambda iid: iid == mine)
    message = {"code": "flagDetail_near_duplicate", "params": {"elsewhere": 1, "here": 1}}
    assert seen == [
        {"code": "near_duplicate", "detail": flags[0].detail, "relatedPhotoIds": ["a"], "message": message}
    ]
    assert visible_flags(raw, lambda iid: True)[0]["relatedPhotoIds"] == ["a", "b"]
    assert visible_flags(None, lambda iid: True) == []
    assert visible_flags("not json", lambda iid: True) == []


def test_a_photo_is_reused_elsewhere_only_when_its_bytes_serve_another_facility() -> None:
    here = _photo()
    same_centre = _photo(photo_id="p2", inspection_id="i2", item_code="1.1.2")
    other_centre = _photo(photo_id="p3", inspection_id="i3", facility_id="f2")
    assert not reused_elsewhere(here, [here, same_centre])
    assert reused_elsewhere(here, [here, same_centre, other_centre])
    assert reused_elsewhere(other_centre, [here])
    assert not reused_elsewhere(here, [])
