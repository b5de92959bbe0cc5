"""Drawing a review sample: random but reproducible (seeded), stratified by county, explained. Pure."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Stratum:
    county: str
    county_name: str
    pool: tuple[str, ...]  # facility ids, sorted
    drawn: tuple[str, ...]
    why: str


def draw(
    pools: Mapping[str, Sequence[str]], ratio: float, seed: str, county_names: Mapping[str, str] | None = None
) -> list[Stratum]:
    """Draw ceil(ratio × n) facilities from each county's pool of n (so every county with applicants is
    represented and the whole draw is at least ``ratio``). Each county's draw depends only on the seed, the
    county and its pool, so the same seed and pools give the same draw."""
    names = county_names or {}
    strata = []
    for county in sorted(pools):
        pool = tuple(sorted(set(pools[county])))
        if not pool:
            continue
        want = min(len(pool), math.ceil(ratio * len(pool) - 1e-9))
        digest = hashlib.sha256(f"{seed}:{county}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))  # a sample, not a secret
        drawn = tuple(sorted(rng.sample(pool, want)))
        strata.append(
            Stratum(
                county=county,
                county_name=names.get(county, county),
                pool=pool,
                drawn=drawn,
                why=(
                    f"{names.get(county, county)}: {want} of {len(pool)} drawn "
                    f"(ceil({ratio:.0%} × {len(pool)}) = {want}), seed {seed}"
                ),
            )
        )
    return strata
