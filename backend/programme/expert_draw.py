"""Drawing an expert team from the pool (抽取专家): random, reproducible from its seed, balanced across the
specialties recorded on the experts. Pure.

What the seeds say of a team's make-up: the expert pool (专家库) is made of experts in 医疗机构管理, 医疗, 中医药,
护理, 医院感染管理, 公共卫生, 卫生监督, 财务, 信息化 (seed 000 篇一 and 篇四, DOMAIN.md), and a group has at least 5
members, an odd number. They give no share per specialty, so none is invented here: the draw spreads the team
across the specialties the pool's experts have recorded. Each next member is drawn among the experts whose
least-covered specialty is the least covered in the team so far (an expert's specialties count for the team
once drawn; an expert with none recorded is their own kind), in the seeded random order; so no specialty
gets a second member while another one present in the pool has none, and so on. Every expert the rules
admit stays in the pool: balance orders the draw, it never leaves anyone out.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Mapping, Sequence

NONE_RECORDED = ""  # the "specialty" of an expert with none recorded


def draw_team(
    pool: Sequence[str],
    size: int,
    seed: str,
    salt: str,
    specialties: Mapping[str, Sequence[str]] | None = None,
) -> tuple[str, ...]:
    """``size`` members of ``pool`` in draw order (the first leads). The draw depends only on the seed, the salt
    (the inspection's id, so one seed draws different teams for different inspections), the pool as a set and,
    when given, each expert's specialties (``None``: a draw made before specialties were balanced, which is
    reproduced as it was: a plain random sample)."""
    ordered = sorted(set(pool))
    if size > len(ordered):
        raise ValueError(f"cannot draw {size} from a pool of {len(ordered)}")
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))  # a fair draw, not a secret
    if specialties is None:
        return tuple(rng.sample(ordered, size))
    shuffled = rng.sample(ordered, len(ordered))
    kinds = {e: tuple(sorted(set(specialties.get(e, ())))) or (NONE_RECORDED,) for e in shuffled}
    covered: Counter[str] = Counter()
    team: list[str] = []
    left = list(shuffled)
    for _ in range(size):
        # the first, in the seeded order, of the experts whose least-covered specialty is covered least
        chosen = min(left, key=lambda e: min(covered[k] for k in kinds[e]))
        team.append(chosen)
        left.remove(chosen)
        covered.update(kinds[chosen])
    return tuple(team)
