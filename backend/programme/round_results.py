"""Every conclusion and every ranking of a round in a few queries (for the office's exports and the bench).

The per-inspection routes read one inspection at a time; a province-scale round (thousands of facilities ×
three stages) is read here with one query for the inspections and one for their answer registers, each
standard compiled once, and each stage ranked in one pass (``rankings.rank_round``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from backend.db import fetch
from backend.errors import NotFound
from backend.programme.analysis import region_chains
from backend.programme.rankings import Key, Place, rank_round, value_of
from backend.review.answers import engine_input
from backend.standards import AnswerValidationError, FacilityFigures, compile_standard, conclude
from backend.standards.engine import CompiledStandard
from backend.standards.schemas import NA, Answer, Conclusion, Standard
from backend.standards.services import get_standard

_decode = msgspec.json.Decoder()


@dataclass(slots=True)
class RoundResults:
    # inspection id → conclusion (computed now from its answers), or why none could be computed
    conclusions: dict[str, Conclusion] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # stage → (facility, item, scope) → place
    rankings: dict[str, dict[Key, Place]] = field(default_factory=dict)
    inspections: int = 0
    registers: int = 0


def _key(value: Any) -> str:
    return str(value)


async def round_results(
    round_id: UUID, stages: Iterable[str] = ("county", "city", "province")
) -> RoundResults:
    wanted = list(stages)
    marks = ", ".join("{}" for _ in wanted)
    in_round = f'i."round" = {{}} AND i."stage" IN ({marks})'  # placeholders only
    rows = await fetch(
        'SELECT i."id", i."facility", i."stage", i."standard_version_id", f."region", '  # noqa: S608
        'f."medical_staff_count", f."service_population" FROM "inspection" i '
        f'JOIN "facility" f ON f."id" = i."facility" WHERE {in_round}',
        [round_id, *wanted],
    )
    registers = await fetch(
        'SELECT r."inspection_id", r."item_code", r."field", r."value" FROM "answer_register" r '  # noqa: S608
        f'JOIN "inspection" i ON i."id" = r."inspection_id" WHERE {in_round} '
        "AND r.\"field\" IN ('value', 'na')",
        [round_id, *wanted],
    )
    answers: dict[str, dict[str, Answer]] = defaultdict(dict)
    na: list[tuple[str, str]] = []
    for r in registers:
        decoded = _decode.decode(r["value"])
        if r["field"] == "na":
            if decoded is True:
                na.append((_key(r["inspection_id"]), r["item_code"]))
        elif decoded is not None:
            answers[_key(r["inspection_id"])][r["item_code"]] = decoded
    for inspection, item in na:
        answers[inspection][item] = NA

    out = RoundResults(inspections=len(rows), registers=len(registers))
    compiled: dict[str, CompiledStandard | None] = {}
    chains, _ = await region_chains()
    by_stage: dict[str, tuple[dict[str, tuple[str, str, str, str]], dict[str, dict[str, float]]]] = {}
    for row in rows:
        iid, sid = _key(row["id"]), row["standard_version_id"]
        if sid not in compiled:
            try:
                compiled[sid] = compile_standard(await get_standard(standard_id=sid))
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
            out.conclusions[iid] = conclude(c, engine_answers, figures, prerequisites)
        except AnswerValidationError as error:
            out.errors[iid] = "; ".join(f"{p.path}: {p.message}" for p in error.problems[:5])
        county = row["region"] if isinstance(row["region"], UUID) else UUID(str(row["region"]))
        if county not in chains:
            continue
        regions, values = by_stage.setdefault(row["stage"], ({}, {}))
        facility = _key(row["facility"])
        county_id, city_id, province_id = chains[county]
        regions[facility] = (sid, str(county_id), str(city_id), str(province_id))
        values[facility] = _values(c.standard, items)
    for stage, (regions, values) in by_stage.items():
        out.rankings[stage] = rank_round(regions, values)
    return out


def _values(standard: Standard, items: dict[str, Answer]) -> dict[str, float]:
    return {
        item: number for item, value in items.items() if (number := value_of(standard, value)) is not None
    }
