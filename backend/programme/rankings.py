"""Rankings of article grades within a county, city and province (pure).

Competition ranking: a facility's rank is 1 + the number of peers with a strictly better value, so peers with
the same value share a rank and the next rank skips (1, 2, 2, 4). Unanswered and N/A articles are not ranked
and not counted among the peers. Peers are facilities assessed under the same standard (article numbers mean
the same thing only there) in the same region.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from backend.review.discrepancies import grade_rank
from backend.standards.schemas import Answer, Standard
from backend.vocabulary import Message, Param

SCOPES = ("county", "city", "province")


@dataclass(frozen=True, slots=True)
class Place:
    rank: int
    tied: int  # other peers with the same value
    of: int  # peers ranked (the facility included)


def value_of(standard: Standard, value: Answer | None) -> float | None:
    """A comparable number: grade rank, points, pass (1) / fail (0); None for N/A, unanswered or unknown."""
    return None if value is None else grade_rank(standard, value)


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
Regions = Mapping[str, tuple[str, str, str, str]]  # facility → (standard id, county, city, province)


class RankTables:
    """Every place of a stage, as rank tables: for each (standard, scope, region, item) the place each value
    takes. Counting happens once per county (cities and the province add their counties' counts up), so a
    round costs one pass over the answers; a facility's place is then one lookup."""

    __slots__ = ("_tables", "_values", "_where", "ranked")

    def __init__(self, regions: Regions, values: Mapping[str, Mapping[str, float]]) -> None:
        self._values = values
        self._where: dict[str, tuple[tuple[str, str, str], ...]] = {}
        county_counts: dict[tuple[str, str], dict[str, dict[float, int]]] = {}
        parents: dict[tuple[str, str], tuple[str, str]] = {}
        ranked = 0
        for facility, items in values.items():
            standard, county, city, province = regions[facility]
            self._where[facility] = (
                (standard, "county", county),
                (standard, "city", city),
                (standard, "province", province),
            )
            counts = county_counts.get((standard, county))
            if counts is None:
                counts = county_counts[(standard, county)] = defaultdict(dict)
                parents[(standard, county)] = (city, province)
            for item, value in items.items():
                per_value = counts[item]
                per_value[value] = per_value.get(value, 0) + 1
            ranked += 3 * len(items)
        self.ranked = ranked  # (facility, item, scope) places held
        totals: dict[tuple[str, str, str], dict[str, dict[float, int]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        for (standard, county), counts in county_counts.items():
            city, province = parents[(standard, county)]
            for key in (
                (standard, "county", county),
                (standard, "city", city),
                (standard, "province", province),
            ):
                target = totals[key]
                for item, per_value in counts.items():
                    merged = target[item]
                    for value, n in per_value.items():
                        merged[value] = merged.get(value, 0) + n
        self._tables: dict[tuple[str, str, str], dict[str, dict[float, Place]]] = {
            key: {item: _table(per_value) for item, per_value in items.items()}
            for key, items in totals.items()
        }

    def place(self, facility: str, item: str, scope: str) -> Place | None:
        value = self._values.get(facility, {}).get(item)
        if value is None:
            return None
        key = self._where[facility][SCOPES.index(scope)]
        return self._tables[key][item][value]

    def standard_of(self, facility: str) -> str | None:
        """The standard a facility was ranked under (None when it was not ranked)."""
        where = self._where.get(facility)
        return where[0][0] if where else None

    def places_of(self, facility: str) -> Iterator[tuple[str, str, Place]]:
        """(item, scope, place) of one facility."""
        where = self._where.get(facility)
        if where is None:
            return
        for item, value in self._values[facility].items():
            for scope, key in zip(SCOPES, where, strict=True):
                yield item, scope, self._tables[key][item][value]


def _table(per_value: Mapping[float, int]) -> dict[float, Place]:
    total = sum(per_value.values())
    better = 0
    table = {}
    for value in sorted(per_value, reverse=True):
        table[value] = Place(better + 1, per_value[value] - 1, total)
        better += per_value[value]
    return table


def rank_round(
    regions: Regions,
    values: Mapping[str, Mapping[str, float]],
    facilities: Iterable[str] | None = None,
) -> dict[Key, Place]:
    """Every (facility, item, scope) place, materialised (``facilities`` limits the output; peers still count).
    ``regions``: facility → (standard id, county, city, province); ``values``: facility → item → value."""
    tables = RankTables(regions, values)
    out: dict[Key, Place] = {}
    for facility in values if facilities is None else facilities:
        for item, scope, place in tables.places_of(facility):
            out[(facility, item, scope)] = place
    return out


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def explain_message(place: Place, region_name: str, shown: str) -> Message:
    """:func:`explain` as a person reads it (the vocabulary's ``rank_place`` / ``rank_place_tied``)."""
    params: dict[str, Param] = {"rank": place.rank, "of": place.of, "region": region_name}
    if place.tied:
        return Message(code="rank_place_tied", params=params | {"tied": place.tied, "value": shown})
    return Message(code="rank_place", params=params)


def explain(place: Place, region_name: str, shown: str) -> str:
    tie = f", tied with {place.tied} other{'s' if place.tied != 1 else ''} at {shown}" if place.tied else ""
    return f"{ordinal(place.rank)} of {place.of} in {region_name}{tie}"
