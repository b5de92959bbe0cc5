"""Perceptual hash of a photo (64-bit dHash) and the multi-index lookup of near duplicates.

The hash is taken from the upright preview the derivative worker already decoded, so it costs a resize of
a 1600 px image to 256 px and a few comparisons. Before hashing, a uniform border (a screenshot's frame, a
letterbox, a white margin added by a gallery app) is trimmed, so a framed re-save hashes like the original.

The lookup splits the hash into four 16-bit bands stored in columns indexed as (band, phash) (multi-index
hashing): the candidates are the rows whose band equals, or differs in one bit from, the query's band at the
same place (17 probes per band), their hashes are read from those indexes alone, and the exact distance is
checked on those few hashes only. Two hashes within Hamming
distance 7 always share such a band (pigeonhole). One exception keeps lookups cheap: 0x0000 and 0xFFFF are
never probed (unless the query has nothing else), because smooth gradients make them far more common than
chance (3.8 % of the bands of the sample photographs), and probing them would read a few percent of the whole
table. Of the pairs of real copies within the threshold of 10 (bench/near_duplicates.py) the lookup
reaches all 539, plain equality 506 (docs/benchmarks.md, "Evidence").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Final

from piccolo.engine.base import Engine
from piccolo.querystring import QueryString
from PIL import Image, ImageChops

BANDS: Final = 4
BAND_BITS: Final = 16
HASH_SIDE: Final = 8  # 8 rows of 8 horizontal gradients = 64 bits
# Hamming distance (of 64) at or below which two photos count as the same picture; chosen from the
# measurement on scikit-image's sample photographs (docs/benchmarks.md, "Near-duplicate photos").
NEAR_DUPLICATE_DISTANCE: Final = 10
# Band values probed on each side: exact match or one bit off.
PROBE_RADIUS: Final = 1
# Band values real photos share far more than chance; probing them would read a few percent of the table.
UNINFORMATIVE_BANDS: Final = frozenset({0x0000, 0xFFFF})
# Pixel difference (0..255) from the corner's grey that still counts as border when trimming.
_BORDER_TOLERANCE: Final = 24
# Trim only when what is left is at least this share of the picture (a dark photo is not a "border").
_MIN_KEPT_AREA: Final = 0.5
_WORK_SIDE: Final = 256


def _trim_border(grey: Image.Image) -> Image.Image:
    corner = grey.getpixel((0, 0))
    if not isinstance(corner, int):
        return grey
    diff = ImageChops.difference(grey, Image.new("L", grey.size, corner))
    box = diff.point(lambda v: 255 if v > _BORDER_TOLERANCE else 0).getbbox()
    if box is None:
        return grey
    kept = (box[2] - box[0]) * (box[3] - box[1])
    if kept < _MIN_KEPT_AREA * grey.width * grey.height or kept == grey.width * grey.height:
        return grey
    return grey.crop(box)


def dhash(image: Image.Image) -> int:
    """64-bit difference hash of an (already upright) image: bit set where a pixel is brighter than its
    right neighbour on a 9×8 grey reduction of the picture without its uniform border."""
    grey = image.convert("L")
    if max(grey.size) > _WORK_SIDE:
        grey.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BOX)
    small = _trim_border(grey).resize((HASH_SIDE + 1, HASH_SIDE), Image.Resampling.BOX)
    pixels = small.tobytes()
    value = 0
    width = HASH_SIDE + 1
    for row in range(HASH_SIDE):
        line = pixels[row * width : (row + 1) * width]
        for col in range(HASH_SIDE):
            value = (value << 1) | (line[col] > line[col + 1])
    return value


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def bands(value: int) -> tuple[int, int, int, int]:
    """The four 16-bit bands, most significant first."""
    mask = (1 << BAND_BITS) - 1
    return (
        (value >> 48) & mask,
        (value >> 32) & mask,
        (value >> 16) & mask,
        value & mask,
    )


def to_signed(value: int) -> int:
    """The unsigned 64-bit hash as a signed BIGINT (both databases store 64-bit signed integers)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def from_signed(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def neighbours(band: int, radius: int) -> list[int]:
    """Every 16-bit value within ``radius`` bits of ``band`` (1 + 16 + 120 values for radius 2)."""
    out = [band]
    for r in range(1, radius + 1):
        for bits in combinations(range(BAND_BITS), r):
            flipped = band
            for bit in bits:
                flipped ^= 1 << bit
            out.append(flipped)
    return out


@dataclass(frozen=True, slots=True)
class Match:
    sha256: str
    distance: int


@dataclass(frozen=True, slots=True)
class Lookup:
    matches: list[Match]
    candidates: int  # rows read and compared (what the index saved is the rest of the table)


def _matches(rows: Sequence[dict[str, Any]], value: int, max_distance: int, exclude: str | None) -> Lookup:
    found = []
    for row in rows:
        if row["sha256"] == exclude:
            continue
        distance = hamming(from_signed(int(row["phash"])), value)
        if distance <= max_distance:
            found.append(Match(row["sha256"], distance))
    found.sort(key=lambda m: (m.distance, m.sha256))
    return Lookup(found, len(rows))


def probes(value: int, radius: int = PROBE_RADIUS) -> list[list[int]]:
    """Per band, the values to look up: within ``radius`` bits, without the uninformative ones (kept only when
    every band of the query is uninformative)."""
    per_band = [neighbours(band, radius) for band in bands(value)]
    if all(band in UNINFORMATIVE_BANDS for band in bands(value)):
        return per_band
    return [
        [] if band in UNINFORMATIVE_BANDS else [v for v in values if v not in UNINFORMATIVE_BANDS]
        for band, values in zip(bands(value), per_band, strict=True)
    ]


def _in(values: Sequence[int]) -> str:
    return f"IN ({', '.join('{}' for _ in values)})"


def _candidates_query(engine: Engine[Any], per_band: list[list[int]]) -> QueryString:
    """The hashes of the rows whose band is probed, read from the (band, phash) indexes alone: one statement,
    a branch per band. PostgreSQL gets one array per band (the same text for every query, so asyncpg's
    prepared statement is reused); SQLite an ``IN`` list."""
    parts: list[str] = []
    args: list[Any] = []
    for index, values in enumerate(per_band):
        if not values:
            continue
        test = "= ANY({}::integer[])" if engine.engine_type == "postgres" else _in(values)
        parts.append(f'SELECT "phash" FROM "media_blob" WHERE "ph{index}" {test}')  # noqa: S608
        args.extend([values] if engine.engine_type == "postgres" else values)
    return QueryString(" UNION ALL ".join(parts), *args)


async def _blobs_with(engine: Engine[Any], hashes: list[int]) -> list[dict[str, Any]]:
    """The blobs (not rejected) carrying these hashes, found through the first band's (band, phash) index."""
    first = sorted({bands(value)[0] for value in hashes})
    signed = [to_signed(value) for value in hashes]
    if engine.engine_type == "postgres":
        where = '"ph0" = ANY({}::integer[]) AND "phash" = ANY({}::bigint[])'
        args: list[Any] = [first, signed]
    else:
        where = f'"ph0" {_in(first)} AND "phash" {_in(signed)}'
        args = [*first, *signed]
    rows: list[dict[str, Any]] = await engine.run_querystring(
        QueryString(
            f'SELECT "sha256", "phash" FROM "media_blob" WHERE {where} AND "state" <> {{}}',  # noqa: S608
            *args,
            "rejected",
        )
    )
    return rows


async def find_similar(
    engine: Engine[Any],
    value: int,
    *,
    max_distance: int = NEAR_DUPLICATE_DISTANCE,
    exclude: str | None = None,
    radius: int = PROBE_RADIUS,
) -> Lookup:
    """Blobs whose hash is within ``max_distance`` of ``value`` and share a probed band with it (see the
    module's docstring for what that guarantees). Rejected blobs are left out.

    Two steps: the candidates' hashes come from the (band, phash) indexes only (no table row is read for a
    candidate), the exact distance is checked in Python (``int.bit_count``; in SQL it measured twice as
    slow), and only the hashes within the distance are looked up again for their blobs."""
    rows = await engine.run_querystring(_candidates_query(engine, probes(value, radius)))
    near = sorted(
        {h for h in (from_signed(int(row["phash"])) for row in rows) if hamming(h, value) <= max_distance}
    )
    found = _matches(await _blobs_with(engine, near), value, max_distance, exclude) if near else Lookup([], 0)
    return Lookup(found.matches, len(rows))


async def scan_similar(
    engine: Engine[Any],
    value: int,
    *,
    max_distance: int = NEAR_DUPLICATE_DISTANCE,
    exclude: str | None = None,
) -> Lookup:
    """The same answer by reading every hash (the baseline the index is measured against)."""
    rows = await engine.run_querystring(
        QueryString(
            'SELECT "sha256", "phash" FROM "media_blob" WHERE "phash" IS NOT NULL AND "state" <> {}',
            "rejected",
        )
    )
    return _matches(rows, value, max_distance, exclude)
