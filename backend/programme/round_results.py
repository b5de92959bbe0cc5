"""Every conclusion and every ranking of a round in a few queries (for the office's exports and the bench).

The per-inspection routes read one inspection at a time; a province-scale round (thousands of facilities ×
three stages) is read here with one query for the inspections and one for their answer registers, each
standard compiled once, and each stage ranked in one pass (``rankings.rank_round``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from backend.db import fetch
from backend.errors import NotFound
from backend.inspections.schemas import REVIEW_STAGES
from backend.programme.analysis import region_chains
from backend.programme.rankings import RankTables, value_of
from backend.review.answers import engine_input, round_answers, round_targets
from backend.standards import AnswerValidationError, FacilityFigures, compile_standard, conclude
from backend.standards.compiled import CompiledStandard
from backend.standards.conclusion import Conclusion
from backend.standards.schemas import Answer, GradedScoring, Standard
from backend.standards.services import get_standard


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
    stages: Iterable[str] = REVIEW_STAGES,
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
    answers, registers = await round_answers(round_id, wanted)
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
