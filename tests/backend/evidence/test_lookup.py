"""The indexed near-duplicate lookup finds what a scan of every hash finds (both databases): exactly up to 7
bits, and never anything the scan would not."""

from __future__ import annotations

import random
from typing import Any

from litestar import Litestar

from backend.db import write_tx
from media.phash import UNINFORMATIVE_BANDS, bands, find_similar, scan_similar, to_signed
from media.tables import Blob


async def test_indexed_lookup_equals_the_full_scan(app: Litestar, demo: dict[str, Any]) -> None:
    rng = random.Random(11)
    planted = rng.getrandbits(64)
    hashes = [rng.getrandbits(64) for _ in range(1500)]
    for distance in range(16):  # copies of ``planted`` at every distance up to 15
        copy = planted
        for bit in rng.sample(range(64), distance):
            copy ^= 1 << bit
        hashes.append(copy)
    rows = [
        Blob(
            sha256=f"{i:064x}",
            size=1,
            mime="image/jpeg",
            storage_key="k",
            state="rejected" if i == 3 else "stored",
            phash=to_signed(h),
            ph0=bands(h)[0],
            ph1=bands(h)[1],
            ph2=bands(h)[2],
            ph3=bands(h)[3],
        )
        for i, h in enumerate(hashes)
    ]
    async with write_tx():
        for start in range(0, len(rows), 500):  # PostgreSQL takes at most 32767 parameters per statement
            await Blob.insert(*rows[start : start + 500])
    engine = app.state.engine
    for probe in [planted, *rng.sample(hashes, 20)]:
        for limit in (3, 7, 10):
            indexed = await find_similar(engine, probe, max_distance=limit)
            scanned = await scan_similar(engine, probe, max_distance=limit)
            assert indexed.candidates < scanned.candidates / 10
            if limit <= 7 and not UNINFORMATIVE_BANDS & set(bands(probe)):
                # pigeonhole: within 7 bits some band is at most one bit off
                assert indexed.matches == scanned.matches
            assert set(indexed.matches) <= set(scanned.matches)
    found = await find_similar(engine, planted, max_distance=7)
    assert [m.distance for m in found.matches] == list(range(8))
