"""Preliminary conclusions and the discrepancy view, computed from the answer registers by the standards engine.

How answer registers become engine input (one row per (inspection, item code, field), ``value`` is JSON):
- field ``na`` holding ``true`` → the item's answer is ``"NA"`` (it wins over a value also present);
- field ``value``: ``null`` is a cleared answer (left out); an item code that is one of the standard's
  prerequisite ids (P1…) is a prerequisite result and must be ``true``/``false``; in a weighted standard an
  item code ``<rater>:<article>`` is that rater's checklist answer and a bare rater code its overall score;
  everything else is passed to the engine as is (grade code, points, measured value, veto item, pass/fail).
Answers that do not fit the standard are the engine's to refuse (422 with JSON paths), never silently dropped.

Who may do what (guards check the role; these functions check the scope again):
- computed conclusion: whoever may read the inspection; a clinic only for a self-assessment.
- confirm: an office whose region holds the facility (stages up to its own level) or admin; the inspection
  must be a submitted review with no open conflicts and a complete result.
- stored conclusions and the discrepancy view: office in scope and admin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.postgres import PostgresEngine

from backend.accounts.auth import ensure_role
from backend.accounts.schemas import AuthUser
from backend.accounts.scope import ensure_facility_visible, ensure_inspection_visible
from backend.audit.services import record
from backend.db import as_utc, current_engine, fetch, write_tx
from backend.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.inspections.sync_rules import RATER_SEPARATOR
from backend.inspections.tables import Inspection, Round
from backend.registry.tables import Region
from backend.review.schemas import (
    ArticleRow,
    ComputedFrom,
    ConclusionView,
    Difference,
    DiscrepancyView,
    FiguresUsed,
    StageCell,
    StageRef,
    StageSummary,
    StoredConclusion,
)
from backend.review.tables import ConfirmedConclusion
from backend.standards import AnswerValidationError, FacilityFigures, conclude
from backend.standards.schemas import NA, Answer, AnswerValue, Conclusion, GradedScoring, Standard
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles
from sync.tables import AnswerRegister, SyncConflict

REVIEW_STAGES = ("county", "city", "province")
LEVEL_RANK = {"county": 1, "city": 2, "province": 3}
_decode = msgspec.json.Decoder()
_MAX_SNAPSHOT_TRIES = 5


# ---------------------------------------------------------------------------------------------- answers


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
    values: dict[str, Answer] = {}
    na: set[str] = set()
    for row in rows:
        decoded = _decode.decode(row["value"])
        if row["field"] == "na":
            if decoded is True:
                na.add(row["item_code"])
        elif row["field"] == "value" and decoded is not None:
            values[row["item_code"]] = decoded
    for item in na:
        values[item] = NA
    return values


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
        answers = await _read_registers(inspection_id, before["version"], before["status"])
        after = await Inspection.select(Inspection.version).where(Inspection.id == inspection_id).first()
        if after is not None and after["version"] == before["version"]:
            return answers
    raise Conflict("the inspection kept changing while it was read; try again", code="inspection_busy")


async def _read_registers(inspection_id: UUID, version: int, status: str) -> Answers:
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
    for item, value in items.items():
        if item in prereq_ids:
            prerequisites[item] = value  # a non-boolean is refused by the engine with its path
        elif weighted and RATER_SEPARATOR in item:
            rater, _, article = item.partition(RATER_SEPARATOR)
            sheet = answers.setdefault(rater, {})
            if isinstance(sheet, dict):
                sheet[article] = value
            else:  # both an overall score and checklist answers for one rater: let the engine say why
                answers[item] = value
        else:
            answers[item] = value
    return answers, prerequisites


def _figures(row: Mapping[str, Any]) -> FacilityFigures:
    # The registry stores 0 until a figure is entered; 0 staff or 0 population is taken as unknown, so a tier
    # whose eligibility needs the figure stays undecided instead of being granted on a missing number.
    return FacilityFigures(
        medical_staff_count=row["medical_staff_count"] or None,
        service_population=row["service_population"] or None,
    )


def _inspection_columns() -> tuple[Any, ...]:
    """What a conclusion needs of an inspection row: its identity, standard, version and facility figures."""
    return (
        Inspection.id,
        Inspection.facility,
        Inspection.round,
        Inspection.stage,
        Inspection.standard_version_id,
        Inspection.status,
        Inspection.version,
        Inspection.facility.medical_staff_count.as_alias("medical_staff_count"),
        Inspection.facility.service_population.as_alias("service_population"),
    )


async def _inspection(inspection_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await Inspection.select(
            *_inspection_columns(),
        )
        .where(Inspection.id == inspection_id)
        .first()
    )
    if row is None:
        raise NotFound(f"inspection {inspection_id} does not exist", code="inspection_not_found")
    return row


def _conclude(standard: Standard, answers: Answers, figures: FacilityFigures) -> tuple[Conclusion, int, int]:
    """(conclusion, answer count, prerequisite count); answers that do not fit → 422 with JSON paths."""
    engine_answers, prerequisites = engine_input(standard, answers.items)
    try:
        result = conclude(standard, engine_answers, figures, prerequisites)
    except AnswerValidationError as error:
        raise Unprocessable(
            "the stored answers do not fit the inspection's standard",
            code="answers_do_not_fit",
            problems=[{"path": p.path, "message": p.message} for p in error.problems],
        ) from None
    return result, len(answers.items) - len(prerequisites), len(prerequisites)


def _ensure_may_read_conclusion(user: AuthUser, row: Mapping[str, Any]) -> None:
    if user.role == "clinic" and row["stage"] != "self":
        # A clinic sees returned opinions, but the review's conclusion is the office's until it is filed.
        raise Forbidden("a clinic reads the conclusion of its own self-assessment only", code="out_of_scope")


async def compute_conclusion(*, user: AuthUser, inspection_id: UUID) -> ConclusionView:
    await ensure_inspection_visible(user, inspection_id)
    row = await _inspection(inspection_id)
    _ensure_may_read_conclusion(user, row)
    return await _view(row)


async def _view(row: Mapping[str, Any]) -> ConclusionView:
    standard = await get_standard(standard_id=row["standard_version_id"])
    answers = await read_answers(row["id"])
    figures = _figures(row)
    result, answer_count, prereq_count = _conclude(standard, answers, figures)
    provisional_reason = None
    if answers.open_conflicts:
        provisional_reason = (
            f"{answers.open_conflicts} open conflict(s) on {', '.join(sorted(answers.conflicted_items))}: "
            "the current values there are provisional"
        )
    return ConclusionView(
        inspection_id=row["id"],
        facility_id=row["facility"],
        round_id=row["round"],
        stage=row["stage"],
        standard_id=standard.id,
        provisional=answers.open_conflicts > 0,
        provisional_reason=provisional_reason,
        computed_at=datetime.now(UTC),
        computed_from=ComputedFrom(
            inspection_version=answers.version,
            inspection_status=answers.status,
            answer_count=answer_count,
            prerequisite_count=prereq_count,
            open_conflicts=answers.open_conflicts,
            conflicted_items=sorted(answers.conflicted_items),
            facility=FiguresUsed(
                medical_staff_count=figures.medical_staff_count,
                service_population=figures.service_population,
            ),
        ),
        conclusion=result,
    )


# ---------------------------------------------------------------------------------------------- confirm


async def _ensure_office_level(user: AuthUser, stage: str) -> None:
    """An office confirms stages up to its own level (a city office does not sign the provincial review)."""
    if user.role != "office":
        return
    region = await Region.select(Region.level).where(Region.id == user.region_id).first()
    level = region["level"] if region else "county"
    if LEVEL_RANK[stage] > LEVEL_RANK.get(level, 0):
        raise Forbidden(f"a {level} office cannot confirm the {stage} review", code="stage_above_scope")


async def _lock_inspection(inspection_id: UUID) -> None:
    # SQLite's write transaction is BEGIN IMMEDIATE (already exclusive); PostgreSQL needs the row lock that
    # sync push takes, so no push moves the inspection between the read and the stored conclusion.
    if isinstance(current_engine(), PostgresEngine):
        await fetch('SELECT "id" FROM "inspection" WHERE "id" = {} FOR UPDATE', [inspection_id])


async def confirm_conclusion(*, user: AuthUser, inspection_id: UUID) -> StoredConclusion:
    ensure_role(user, "admin", "office")
    row = await _inspection(inspection_id)
    await ensure_facility_visible(user, row["facility"])
    if row["stage"] not in REVIEW_STAGES:
        raise Conflict(
            "a self-assessment is not signed off; the preliminary conclusion belongs to a review stage",
            code="not_a_review",
        )
    await _ensure_office_level(user, row["stage"])
    standard = await get_standard(standard_id=row["standard_version_id"])
    async with write_tx():
        await _lock_inspection(inspection_id)
        row = await _inspection(inspection_id)
        if row["status"] != "submitted":
            raise Conflict(
                f"the inspection is {row['status']}; only a submitted inspection is confirmed",
                code="inspection_not_submitted",
            )
        answers = await _read_registers(inspection_id, row["version"], row["status"])
        if answers.open_conflicts:
            raise Conflict(
                f"{answers.open_conflicts} conflict(s) are open on "
                f"{', '.join(sorted(answers.conflicted_items))}; resolve them first",
                code="conflicts_open",
                items=sorted(answers.conflicted_items),
            )
        result, answer_count, _ = _conclude(standard, answers, _figures(row))
        if result.status == "incomplete":
            raise Conflict(
                f"the result is incomplete: {len(result.missing)} item(s) not answered",
                code="conclusion_incomplete",
                missing=list(result.missing),
            )
        if await ConfirmedConclusion.exists().where(
            (ConfirmedConclusion.inspection == inspection_id)
            & (ConfirmedConclusion.computed_from_version == answers.version)
        ):
            raise Conflict(
                "this inspection's conclusion is already confirmed at its current version",
                code="already_confirmed",
            )
        stored = ConfirmedConclusion(
            inspection=inspection_id,
            facility=row["facility"],
            round=row["round"],
            stage=row["stage"],
            standard_version_id=standard.id,
            status=result.status,
            tier=result.tier,
            tier_label=result.tier_label,
            verification=result.verification,
            explanation=msgspec.json.encode(result).decode(),
            computed_from_version=answers.version,
            answer_count=answer_count,
            confirmed_by=user.id,
            confirmed_at=datetime.now(UTC),
        )
        await stored.save()
        await record(
            user_id=str(user.id),
            action="conclusion.confirm",
            entity=f"inspection/{inspection_id}",
            details={
                "conclusion": str(stored.id),
                "status": result.status,
                "tier": result.tier,
                "version": answers.version,
                "verification": result.verification,
            },
        )
    return (await _stored(ConfirmedConclusion.id == stored.id))[0]


_STORED_COLUMNS = (
    ConfirmedConclusion.id,
    ConfirmedConclusion.inspection,
    ConfirmedConclusion.facility,
    ConfirmedConclusion.round,
    ConfirmedConclusion.stage,
    ConfirmedConclusion.standard_version_id,
    ConfirmedConclusion.status,
    ConfirmedConclusion.tier,
    ConfirmedConclusion.tier_label,
    ConfirmedConclusion.verification,
    ConfirmedConclusion.explanation,
    ConfirmedConclusion.computed_from_version,
    ConfirmedConclusion.answer_count,
    ConfirmedConclusion.confirmed_by,
    ConfirmedConclusion.confirmed_by.display_name.as_alias("confirmed_by_name"),
    ConfirmedConclusion.confirmed_by.username.as_alias("confirmed_by_username"),
    ConfirmedConclusion.confirmed_at,
)


async def _stored(where: Any) -> list[StoredConclusion]:
    rows = (
        await ConfirmedConclusion.select(*_STORED_COLUMNS)
        .where(where)
        .order_by(ConfirmedConclusion.confirmed_at)
    )
    return [
        StoredConclusion(
            id=r["id"],
            inspection_id=r["inspection"],
            facility_id=r["facility"],
            round_id=r["round"],
            stage=r["stage"],
            standard_id=r["standard_version_id"],
            status=r["status"],
            tier=r["tier"],
            tier_label=r["tier_label"],
            verification=r["verification"],
            computed_from_version=r["computed_from_version"],
            answer_count=r["answer_count"],
            confirmed_by=r["confirmed_by"],
            confirmed_by_name=r["confirmed_by_name"] or r["confirmed_by_username"],
            confirmed_at=as_utc(r["confirmed_at"]),
            explanation=msgspec.json.decode(r["explanation"], type=Conclusion),
        )
        for r in rows
    ]


async def list_conclusions(
    *, user: AuthUser, facility_id: UUID, round_id: UUID | None = None
) -> list[StoredConclusion]:
    ensure_role(user, "admin", "office")
    await ensure_facility_visible(user, facility_id)
    where: Any = ConfirmedConclusion.facility == facility_id
    if round_id is not None:
        where = where & (ConfirmedConclusion.round == round_id)
    return await _stored(where)


# ---------------------------------------------------------------------------------------------- discrepancies


def _rank(standard: Standard, value: Answer) -> float | None:
    """A comparable number for a value: grade rank, points, pass (1) / fail (0); None for NA or unknown."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if value == NA:
        return None
    if isinstance(standard.scoring, GradedScoring):
        for grade in standard.scoring.grades:
            if grade.code == value:
                return float(grade.rank)
    return None


def compare(standard: Standard, self_value: Answer | None, review: Answer | None) -> Difference:
    """How a review stage's answer stands against the self-assessment's."""
    if self_value is None or review is None:
        return "missing"
    if self_value == review and type(self_value) is type(review):
        return "same"
    mine, theirs = _rank(standard, self_value), _rank(standard, review)
    if mine is None or theirs is None:
        return "not_comparable"
    if theirs > mine:
        return "higher"
    if theirs < mine:
        return "lower"
    return "same"


def _catalogue(standard: Standard) -> list[tuple[str, str, str]]:
    """(item code, title, kind) of everything answerable in a standard, in document order."""
    items = [(p.id, p.text, "prerequisite") for p in standard.prerequisites]
    items += [(a.number, a.title, a.kind) for _, a, _ in walk_articles(standard)]
    items += [(v.id, v.text, "veto") for v in standard.veto_items]
    return items


@dataclass(slots=True)
class _Stage:
    row: dict[str, Any]
    standard: Standard | None
    answers: Answers
    ref: StageRef


async def _stage(row: dict[str, Any]) -> _Stage:
    answers = await read_answers(row["id"])
    standard: Standard | None = None
    status = tier = error = None
    try:
        standard = await get_standard(standard_id=row["standard_version_id"])
        result, _, _ = _conclude(standard, answers, _figures(row))
        status, tier = result.status, result.tier
    except NotFound:
        error = f"standard {row['standard_version_id']} is not known to this server"
    except Unprocessable as problem:
        error = problem.detail
    ref = StageRef(
        stage=row["stage"],
        inspection_id=row["id"],
        status=answers.status,
        standard_id=row["standard_version_id"],
        version=answers.version,
        open_conflicts=answers.open_conflicts,
        conclusion_status=status,
        tier=tier,
        conclusion_error=error,
    )
    return _Stage(row=row, standard=standard, answers=answers, ref=ref)


async def discrepancies(*, user: AuthUser, facility_id: UUID, round_id: UUID) -> DiscrepancyView:
    ensure_role(user, "admin", "office")
    await ensure_facility_visible(user, facility_id)
    if not await Round.exists().where(Round.id == round_id):
        raise NotFound(f"round {round_id} does not exist", code="round_not_found")
    rows = await Inspection.select(
        *_inspection_columns(),
    ).where((Inspection.facility == facility_id) & (Inspection.round == round_id))
    by_stage = {row["stage"]: row for row in rows}
    own = await _stage(by_stage["self"]) if "self" in by_stage else None
    reviews = [await _stage(by_stage[s]) for s in REVIEW_STAGES if s in by_stage]

    # Rows: the self-assessment's standard first, then what review standards add, then stray answers.
    catalogue: dict[str, tuple[str, str]] = {}
    stages = ([own] if own else []) + reviews
    for stage in stages:
        if stage.standard is not None:
            for code, title, kind in _catalogue(stage.standard):
                catalogue.setdefault(code, (title, kind))
    for stage in stages:
        for code in stage.answers.items:
            catalogue.setdefault(code, ("", "other"))

    counts = {
        s.ref.stage: dict.fromkeys(("same", "higher", "lower", "missing", "not_comparable"), 0)
        for s in reviews
    }
    items: list[ArticleRow] = []
    for code, (title, kind) in catalogue.items():
        mine = own.answers.items.get(code) if own else None
        cells = []
        for stage in reviews:
            theirs = stage.answers.items.get(code)
            reference = stage.standard or (own.standard if own else None)
            difference: Difference = (
                compare(reference, mine, theirs) if reference is not None else "not_comparable"
            )
            counts[stage.ref.stage][difference] += 1
            cells.append(
                StageCell(
                    stage=stage.ref.stage,
                    value=theirs,
                    difference=difference,
                    conflicted=code in stage.answers.conflicted_items,
                )
            )
        items.append(
            ArticleRow(
                item=code,
                title=title,
                kind=kind,
                self_value=mine,
                self_conflicted=bool(own and code in own.answers.conflicted_items),
                stages=cells,
            )
        )
    return DiscrepancyView(
        facility_id=facility_id,
        round_id=round_id,
        self_assessment=own.ref if own else None,
        reviews=[s.ref for s in reviews],
        items=items,
        summary=[StageSummary(stage=stage, **c) for stage, c in counts.items()],
    )
