"""An inspection's answer registers read as the standards engine's input, and the engine run over them.

How answer registers become engine input (one row per (inspection, item code, field), ``value`` is JSON):
- field ``na`` holding ``true`` → the item's answer is ``"NA"`` (it wins over a value also present);
- field ``value``: ``null`` is a cleared answer (left out); an item code that is one of the standard's
  prerequisite ids (P1…) is a prerequisite result and must be ``true``/``false``; in a weighted standard an
  item code ``<rater>:<article>`` is that rater's checklist answer and a bare rater code its overall score;
  everything else is passed to the engine as is (grade code, points, measured value, veto item, pass/fail).
Answers that do not fit the standard are the engine's to refuse (422 with JSON paths), never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from backend.db import current_engine, fetch
from backend.errors import Conflict, NotFound, RuleRefused
from backend.inspections.tables import Inspection
from backend.review.tables import SubjectTarget
from backend.standards import AnswerValidationError, FacilityFigures, conclude
from backend.standards.conclusion import Conclusion
from backend.standards.schemas import RATER_SEPARATOR, Answer, AnswerValue, PointsScoring, Standard
from sync.api import answer_items, answers_from_pairs
from sync.tables import AnswerRegister, SyncConflict

_MAX_SNAPSHOT_TRIES = 5


@dataclass(slots=True)
class Answers:
    """The answer registers of one inspection, read as the engine wants them."""

    version: int
    status: str
    # item code → current value (na wins); only items with an answer
    items: dict[str, Answer] = field(default_factory=dict)
    open_conflicts: int = 0
    conflicted_items: set[str] = field(default_factory=set)


def _register_values(rows: Iterable[Mapping[str, Any]]) -> dict[str, Answer]:
    items: dict[str, Answer] = answer_items(rows)
    return items


async def read_answers(inspection_id: UUID) -> Answers:
    """The inspection's version, answers and open conflicts as one consistent picture.

    Outside a transaction the reads may straddle a push; the inspection version is read before and after and
    the reads are repeated until it did not move (every applied push bumps it)."""
    for _ in range(_MAX_SNAPSHOT_TRIES):
        before = (
            await Inspection.select(Inspection.version, Inspection.status)
            .where(Inspection.id == inspection_id)
            .first()
        )
        if before is None:
            raise NotFound(f"inspection {inspection_id} does not exist", code="inspection_not_found")
        answers = await read_registers(inspection_id, before["version"], before["status"])
        after = await Inspection.select(Inspection.version).where(Inspection.id == inspection_id).first()
        if after is not None and after["version"] == before["version"]:
            return answers
    raise Conflict("the inspection kept changing while it was read; try again", code="inspection_busy")


async def round_answers(
    round_id: UUID, stages: Sequence[str] | None = None
) -> tuple[dict[str, dict[str, Answer]], int]:
    """The answers of a round's inspections (of ``stages``, or all), read at once: inspection id (text) → item →
    answer, N/A winning (``sync.api.answers_from_pairs``), and how many registers were read. The database
    joins each inspection's registers per field ("item=json" pairs), which turns 600k rows into 6k (most of a
    read's cost is per row). The one read of a round's registers (exports, round results)."""
    where = 'i."round" = {}'
    args: list[Any] = [round_id]
    if stages is not None:
        where += f' AND i."stage" IN ({", ".join("{}" for _ in stages)})'
        args += list(stages)
    # one row per inspection, values and N/A flags joined apart. SQLite is told to start from the round's
    # inspections (CROSS JOIN keeps the order): its planner would otherwise scan every register of the database,
    # even for a stage with few.
    postgres = isinstance(current_engine(), PostgresEngine)
    agg, sep, join = (
        ("string_agg", "chr(31)", "JOIN") if postgres else ("group_concat", "char(31)", "CROSS JOIN")
    )

    def joined(field: str) -> str:
        return f'{agg}(CASE WHEN r."field" = \'{field}\' THEN r."item_code" || \'=\' || r."value" END, {sep})'

    found = await fetch(
        f'SELECT CAST(i."id" AS TEXT) AS "i", {joined("value")} AS "value", {joined("na")} AS "na", '  # noqa: S608
        f'COUNT(*) AS "n" FROM "inspection" i {join} "answer_register" r ON r."inspection_id" = i."id" '
        f"WHERE {where} AND r.\"field\" IN ('value', 'na') GROUP BY i.\"id\"",
        args,
    )
    answers = {row["i"]: answers_from_pairs(row["value"], row["na"]) for row in found}
    return answers, sum(int(row["n"]) for row in found)


async def read_registers(inspection_id: UUID, version: int, status: str) -> Answers:
    rows = await AnswerRegister.select(
        AnswerRegister.item_code, AnswerRegister.field, AnswerRegister.value
    ).where((AnswerRegister.inspection_id == inspection_id) & AnswerRegister.field.is_in(["value", "na"]))
    conflicts = await SyncConflict.select(SyncConflict.item_code).where(
        (SyncConflict.inspection_id == inspection_id) & (SyncConflict.status == "open")
    )
    return Answers(
        version=version,
        status=status,
        items=_register_values(rows),
        open_conflicts=len(conflicts),
        conflicted_items={row["item_code"] for row in conflicts},
    )


def engine_input(
    standard: Standard, items: Mapping[str, Answer]
) -> tuple[dict[str, AnswerValue], dict[str, Any]]:
    """(answers, prerequisites) for ``conclude`` from item code → value."""
    prereq_ids = {p.id for p in standard.prerequisites}
    weighted = standard.scoring.__struct_config__.tag == "weighted"
    answers: dict[str, AnswerValue] = {}
    prerequisites: dict[str, Any] = {}
    sheets: dict[str, dict[str, Any]] = {}  # a weighted standard's rater → its checklist answers
    for item, value in items.items():
        if item in prereq_ids:
            prerequisites[item] = value  # a non-boolean is refused by the engine with its path
        elif weighted and RATER_SEPARATOR in item:
            rater, _, article = item.partition(RATER_SEPARATOR)
            sheets.setdefault(rater, {})[article] = value
        else:
            answers[item] = value
    for rater, sheet in sheets.items():
        if rater in answers:
            # both an overall score and checklist answers for one rater, in whichever order the registers
            # came: each answer keeps its own key, so the engine refuses them with their paths
            answers.update({f"{rater}{RATER_SEPARATOR}{article}": value for article, value in sheet.items()})
        else:
            answers[rater] = sheet
    return answers, prerequisites


def facility_figures(row: Mapping[str, Any]) -> FacilityFigures:
    # The registry stores 0 until a figure is entered; 0 staff or 0 population is taken as unknown, so a tier
    # whose eligibility needs the figure stays undecided instead of being granted on a missing number.
    return FacilityFigures(
        medical_staff_count=row["medical_staff_count"] or None,
        service_population=row["service_population"] or None,
    )


def inspection_columns() -> tuple[Any, ...]:
    """What a conclusion needs of an inspection row: its identity, standard, version and facility figures."""
    return (
        Inspection.id,
        Inspection.facility,
        Inspection.round,
        Inspection.stage,
        Inspection.standard_version_id,
        Inspection.status,
        Inspection.version,
        Inspection.submitted_at,
        Inspection.facility.medical_staff_count.as_alias("medical_staff_count"),
        Inspection.facility.service_population.as_alias("service_population"),
    )


async def own_targets(facility_id: Any, round_id: Any, standard_id: str) -> dict[str, float]:
    """The indicator targets a subject set for itself at a round under this standard (article → value): its
    conclusions are scored against them instead of the national values (MCH counties, seed 001)."""
    rows = await SubjectTarget.select(SubjectTarget.article, SubjectTarget.target).where(
        (SubjectTarget.facility == facility_id)
        & (SubjectTarget.round == round_id)
        & (SubjectTarget.standard_version_id == standard_id)
    )
    return {r["article"]: r["target"] for r in rows}


async def round_targets(round_id: Any) -> dict[tuple[str, str], dict[str, float]]:
    """Every subject's own targets at a round, by (facility id, standard id) as text."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for r in await SubjectTarget.select(
        SubjectTarget.facility, SubjectTarget.standard_version_id, SubjectTarget.article, SubjectTarget.target
    ).where(SubjectTarget.round == round_id):
        out.setdefault((str(r["facility"]), r["standard_version_id"]), {})[r["article"]] = r["target"]
    return out


async def conclude_row(
    standard: Standard, answers: Answers, row: Mapping[str, Any]
) -> tuple[Conclusion, int, int]:
    """:func:`conclude_answers` for an inspection row (its facility figures, and its subject's own targets in a
    points standard)."""
    targets = None
    if isinstance(standard.scoring, PointsScoring):
        targets = await own_targets(row["facility"], row["round"], standard.id)
    return conclude_answers(standard, answers, facility_figures(row), targets)


def conclude_answers(
    standard: Standard,
    answers: Answers,
    figures: FacilityFigures,
    targets: Mapping[str, float] | None = None,
) -> tuple[Conclusion, int, int]:
    """(conclusion, answer count, prerequisite count); answers that do not fit → 422 with JSON paths."""
    engine_answers, prerequisites = engine_input(standard, answers.items)
    try:
        result = conclude(standard, engine_answers, figures, prerequisites, targets)
    except AnswerValidationError as error:
        raise RuleRefused(
            "the stored answers do not fit the inspection's standard",
            code="answers_do_not_fit",
            problems=[{"path": p.path, "message": p.message} for p in error.problems],
        ) from None
    return result, len(answers.items) - len(prerequisites), len(prerequisites)
