"""EXIF facts of a photo: orientation, capture time and GPS, read into columns (the original keeps its bytes)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image


def _clean_str(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()
    return value or None


def parse_exif_datetime(value: Any, offset: Any = None, subsec: Any = None) -> datetime | None:
    """``"YYYY:MM:DD HH:MM:SS"`` (+ OffsetTime ``"+02:00"``, SubSecTime ``"123"``) → datetime, or None.

    Blank or zeroed values (``"0000:00:00 00:00:00"``, spaces) and impossible dates give None.
    """
    text = _clean_str(value)
    if text is None:
        return None
    try:
        dt = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    sub = _clean_str(subsec)
    if sub and sub.isdigit():
        dt = dt.replace(microsecond=int((sub + "000000")[:6]))
    off = _clean_str(offset)
    if off and len(off) == 6 and off[0] in "+-" and off[3] == ":" and (off[1:3] + off[4:]).isdigit():
        delta = timedelta(hours=int(off[1:3]), minutes=int(off[4:6]))
        if delta <= timedelta(hours=14):
            dt = dt.replace(tzinfo=timezone(delta if off[0] == "+" else -delta))
    return dt


def _rational(x: Any) -> float:
    if isinstance(x, tuple) and len(x) == 2:  # (num, den) from some writers
        return float(x[0]) / float(x[1]) if x[1] else math.nan
    return float(x)


def gps_to_decimal(dms: Any, ref: Any) -> float | None:
    """EXIF (degrees, minutes, seconds) rationals + ``"N"/"S"/"E"/"W"`` → signed decimal degrees, or None."""
    try:
        if dms is None or len(dms) != 3:
            return None
        d, m, s = (_rational(v) for v in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if any(math.isnan(v) or math.isinf(v) or v < 0 for v in (d, m, s)) or m >= 60 or s >= 60:
        return None
    value = d + m / 60 + s / 3600
    r = (_clean_str(ref) or "").upper()
    if r in ("S", "W"):
        value = -value
    elif r not in ("N", "E"):
        return None
    return round(value, 7)


def exif_facts(im: Image.Image) -> tuple[int, datetime | None, float | None, float | None]:
    """Orientation, capture time and GPS; a broken EXIF block gives defaults, never a rejection."""
    try:
        exif = im.getexif()
        ifd_exif = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # malformed EXIF is common; the photo is still evidence
        return 1, None, None, None
    orientation = exif.get(ExifTags.Base.Orientation, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    captured = parse_exif_datetime(
        ifd_exif.get(ExifTags.Base.DateTimeOriginal),
        ifd_exif.get(ExifTags.Base.OffsetTimeOriginal),
        ifd_exif.get(ExifTags.Base.SubsecTimeOriginal),
    ) or parse_exif_datetime(
        ifd_exif.get(ExifTags.Base.DateTimeDigitized),
        ifd_exif.get(ExifTags.Base.OffsetTimeDigitized),
        ifd_exif.get(ExifTags.Base.SubsecTimeDigitized),
    )
    lat = gps_to_decimal(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
    lon = gps_to_decimal(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        lat = lon = None
    return orientation, captured, lat, lon
