"""Every conclusion and every ranking of a round in a few queries (for the office's exports and the bench).

The per-inspection routes read one inspection at a time; a province-scale round (thousands of facilities ×
three stages) is read here with one query for the inspections and one for their answer registers, each
standard compiled once, and each stage ranked in one pass (``rankings.rank_round``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.postgres import PostgresEngine

from backend.db import current_engine, fetch
from backend.errors import NotFound
from backend.programme.analysis import region_chains
from backend.programme.rankings import RankTables, value_of
from backend.review.answers import engine_input, round_targets
from backend.standards import AnswerValidationError, FacilityFigures, compile_standard, conclude
from backend.standards.engine import CompiledStandard
from backend.standards.schemas import NA, Answer, Conclusion, GradedScoring, Standard
from backend.standards.services import get_standard

_decode = msgspec.json.Decoder()


@dataclass(slots=True)
class RoundResults:
    # inspection id → conclusion (computed now from its answers), or why none could be computed
    conclusions: dict[str, Conclusion] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # inspection id → (facility id, stage)
    where: dict[str, tuple[str, str]] = field(default_factory=dict)
    # stage → its rank tables (a facility's place within its county, city and province: ``.place(...)``)
    rankings: dict[str, RankTables] = field(default_factory=dict)
    inspections: int = 0
    registers: int = 0


async def round_results(
    round_id: UUID,
    stages: Iterable[str] = ("county", "city", "province"),
    adjust: Callable[[Standard], Standard] | None = None,
    *,
    rank: bool = True,
) -> RoundResults:
    """``adjust``: a standard as it is concluded (e.g. with a province's thresholds filled in); ``rank``:
    False for the conclusions alone (no rank tables built)."""
    wanted = list(stages)
    marks = ", ".join("{}" for _ in wanted)
    in_round = f'i."round" = {{}} AND i."stage" IN ({marks})'  # placeholders only
    # ids are read as text (CAST): the same keys on both databases, and no UUID object per row
    rows = await fetch(
        'SELECT CAST(i."id" AS TEXT) AS "id", CAST(i."facility" AS TEXT) AS "facility", i."stage", '  # noqa: S608
        'i."standard_version_id", CAST(f."region" AS TEXT) AS "region", f."medical_staff_count", '
        'f."service_population" FROM "inspection" i '
        f'JOIN "facility" f ON f."id" = i."facility" WHERE {in_round}',
        [round_id, *wanted],
    )
    answers: dict[str, dict[str, Answer]] = defaultdict(dict)
    registers = 0
    if rows:
        # one row per inspection, its registers joined as "item=value" by the database (values and N/A flags
        # apart), which turns 600k rows into 6k (most of the read's cost is per row) in one pass; JSON escapes
        # control characters, so the unit separator never occurs inside a value, and item codes hold no "=".
        # SQLite is told to start from the round's inspections (CROSS JOIN keeps the order, and the groups
        # come in the inspections' order): its planner would otherwise scan every register of the database,
        # even for a stage with few.
        postgres = isinstance(current_engine(), PostgresEngine)
        agg, sep, join = (
            ("string_agg", "chr(31)", "JOIN") if postgres else ("group_concat", "char(31)", "CROSS JOIN")
        )

        def joined(kind: str) -> str:
            return (
                f'{agg}(CASE WHEN r."field" = \'{kind}\' THEN r."item_code" || \'=\' || r."value" END, {sep})'
            )

        found = await fetch(
            f'SELECT CAST(i."id" AS TEXT) AS "i", {joined("value")} AS "pairs", {joined("na")} AS "na" '  # noqa: S608
            f'FROM "inspection" i {join} "answer_register" r ON r."inspection_id" = i."id" WHERE {in_round} '
            "AND r.\"field\" IN ('value', 'na') GROUP BY i.\"id\"",
            [round_id, *wanted],
        )
        registers += _put(answers, found, "pairs", na=False)
        # N/A (put second) wins over a value also present
        registers += _put(answers, found, "na", na=True)

    out = RoundResults(inspections=len(rows), registers=registers)
    targets = await round_targets(round_id)  # subjects' own indicator targets (points standards)
    compiled: dict[str, CompiledStandard | None] = {}
    chains = {
        str(county): tuple(str(r) for r in chain) for county, chain in (await region_chains())[0].items()
    }
    ranks: dict[str, dict[Any, float]] = {}
    by_stage: dict[str, tuple[dict[str, tuple[str, str, str, str]], dict[str, dict[str, float]]]] = {}
    for row in rows:
        iid, sid = row["id"], row["standard_version_id"]
        out.where[iid] = (row["facility"], row["stage"])
        if sid not in compiled:
            try:
                standard = await get_standard(standard_id=sid)
                compiled[sid] = compile_standard(adjust(standard) if adjust else standard)
            except NotFound:
                compiled[sid] = None
        c = compiled[sid]
        if c is None:
            out.errors[iid] = f"standard {sid} is not known to this server"
            continue
        items = answers.get(iid, {})
        engine_answers, prerequisites = engine_input(c.standard, items)
        figures = FacilityFigures(
            medical_staff_count=row["medical_staff_count"] or None,
            service_population=row["service_population"] or None,
        )
        try:
            own = targets.get((str(row["facility"]), sid))
            out.conclusions[iid] = conclude(c, engine_answers, figures, prerequisites, own)
        except AnswerValidationError as error:
            out.errors[iid] = "; ".join(f"{p.path}: {p.message}" for p in error.problems[:5])
        chain = chains.get(row["region"])
        if chain is None or not rank:
            continue
        regions, values = by_stage.setdefault(row["stage"], ({}, {}))
        facility = row["facility"]
        regions[facility] = (sid, chain[0], chain[1], chain[2])
        values[facility] = _values(c.standard, items, ranks)
    for stage, (regions, values) in by_stage.items():
        out.rankings[stage] = RankTables(regions, values)
    return out


def _put(answers: dict[str, dict[str, Answer]], rows: list[dict[str, Any]], column: str, *, na: bool) -> int:
    """Put the joined registers of ``column`` into ``answers``."""
    decode = _decode.decode
    count = 0
    for r in rows:
        if not r[column]:
            continue
        items = answers[r["i"]]
        for pair in r[column].split("\x1f"):
            item, _, raw = pair.partition("=")
            value = decode(raw)
            count += 1
            if na:
                if value is True:
                    items[item] = NA
            elif value is not None:
                items[item] = value
    return count


def _values(
    standard: Standard, items: dict[str, Answer], ranks: dict[str, dict[Any, float]]
) -> dict[str, float]:
    """item → comparable number; graded answers through a code → rank table built once per standard."""
    table = ranks.get(standard.id)
    if table is None:
        scoring = standard.scoring
        table = ranks[standard.id] = (
            {g.code: float(g.rank) for g in scoring.grades} if isinstance(scoring, GradedScoring) else {}
        )
    if table:
        return {
            item: table[value] for item, value in items.items() if isinstance(value, str) and value in table
        }
    return {
        item: number for item, value in items.items() if (number := value_of(standard, value)) is not None
    }
