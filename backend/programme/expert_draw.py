"""Drawing an expert team from the pool (抽取专家): random, reproducible from its seed. Pure."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence


def draw_team(pool: Sequence[str], size: int, seed: str, salt: str) -> tuple[str, ...]:
    """``size`` members of ``pool`` in draw order (the first leads). The draw depends only on the seed, the salt
    (the inspection's id, so one seed draws different teams for different inspections) and the pool as a set,
    so the same seed and pool draw the same team."""
    ordered = sorted(set(pool))
    if size > len(ordered):
        raise ValueError(f"cannot draw {size} from a pool of {len(ordered)}")
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))  # a fair draw, not a secret
    return tuple(rng.sample(ordered, size))
