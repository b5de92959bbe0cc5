"""Rankings of article grades within a county, city and province (pure).

Competition ranking: a facility's rank is 1 + the number of peers with a strictly better value, so peers with
the same value share a rank and the next rank skips (1, 2, 2, 4). Unanswered and N/A articles are not ranked
and not counted among the peers. Peers are facilities assessed under the same standard (article numbers mean
the same thing only there) in the same region.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backend.standards.schemas import NA, Answer, GradedScoring, Standard

SCOPES = ("county", "city", "province")


@dataclass(frozen=True, slots=True)
class Place:
    rank: int
    tied: int  # other peers with the same value
    of: int  # peers ranked (the facility included)


def value_of(standard: Standard, value: Answer | None) -> float | None:
    """A comparable number: grade rank, points, pass (1) / fail (0); None for N/A, unanswered or unknown."""
    if value is None or value == NA:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(standard.scoring, GradedScoring):
        for grade in standard.scoring.grades:
            if grade.code == value:
                return float(grade.rank)
    return None


def places(values: Mapping[str, float]) -> dict[str, Place]:
    """Competition ranks of ``key → value`` (higher is better)."""
    counts = Counter(values.values())
    better = 0
    rank_of: dict[float, int] = {}
    for value in sorted(counts, reverse=True):
        rank_of[value] = better + 1
        better += counts[value]
    total = len(values)
    return {key: Place(rank_of[v], counts[v] - 1, total) for key, v in values.items()}


Key = tuple[str, str, str]  # (facility, item, scope)


def rank_round(
    regions: Mapping[str, tuple[str, str, str, str]],
    values: Mapping[str, Mapping[str, float]],
    facilities: Iterable[str] | None = None,
) -> dict[Key, Place]:
    """Every (facility, item, scope) place. ``regions``: facility → (standard id, county, city, province);
    ``values``: facility → item → value. ``facilities`` limits the output (peers still count)."""
    groups: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(dict)
    for facility, items in values.items():
        standard, *scope_regions = regions[facility]
        for scope, region in zip(SCOPES, scope_regions, strict=True):
            for item, value in items.items():
                groups[(standard, scope, region, item)][facility] = value
    wanted = None if facilities is None else set(facilities)
    out: dict[Key, Place] = {}
    for (_, scope, _, item), members in groups.items():
        for facility, place in places(members).items():
            if wanted is None or facility in wanted:
                out[(facility, item, scope)] = place
    return out


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def explain(place: Place, region_name: str, shown: str) -> str:
    tie = f", tied with {place.tied} other{'s' if place.tied != 1 else ''} at {shown}" if place.tied else ""
    return f"{ordinal(place.rank)} of {place.of} in {region_name}{tie}"
