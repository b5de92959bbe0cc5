"""The discrepancy view: the self-assessment against each review stage, article by article.

Who may see it (the guard checks the role; ``discrepancies`` checks the scope again): office in scope and admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from backend.errors import NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.schemas import REVIEW_STAGES
from backend.inspections.scope import ensure_facility_visible
from backend.inspections.tables import Inspection, Round
from backend.review.answers import (
    Answers,
    conclude_row,
    inspection_columns,
    read_answers,
)
from backend.review.schemas import ArticleRow, Difference, DiscrepancyView, StageCell, StageRef, StageSummary
from backend.standards.schemas import NA, Answer, GradedScoring, Standard
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles


def grade_rank(standard: Standard, value: Answer) -> float | None:
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


# grades this far apart stand out (the app's reconciliation, the report, the exports, the programme's rates)
WIDE_GAP = 2


def grade_gap(standard: Standard, self_value: Answer | None, review: Answer | None) -> float | None:
    """How many grade ranks (or points) apart two answers are; ``None`` when they cannot be compared (one
    missing, N/A, pass/fail, a value the standard does not grade). The one gap rule."""
    if self_value is None or review is None or isinstance(self_value, bool) or isinstance(review, bool):
        return None
    mine, theirs = grade_rank(standard, self_value), grade_rank(standard, review)
    return None if mine is None or theirs is None else abs(mine - theirs)


def is_wide(standard: Standard, gap: float | None) -> bool:
    """A gap that stands out: graded standards only (points apart are not grades apart)."""
    return isinstance(standard.scoring, GradedScoring) and gap is not None and gap >= WIDE_GAP


def compare(standard: Standard, self_value: Answer | None, review: Answer | None) -> Difference:
    """How a review stage's answer stands against the self-assessment's."""
    if self_value is None or review is None:
        return "missing"
    if self_value == review and type(self_value) is type(review):
        return "same"
    mine, theirs = grade_rank(standard, self_value), grade_rank(standard, review)
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
        result, _, _ = await conclude_row(standard, answers, row)
        status, tier = result.status, result.tier
    except NotFound:
        error = f"standard {row['standard_version_id']} is not known to this server"
    except RuleRefused as problem:
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
    return await build_discrepancies(facility_id=facility_id, round_id=round_id)


async def build_discrepancies(
    *, facility_id: UUID, round_id: UUID, inspections: set[UUID] | None = None
) -> DiscrepancyView:
    """The view over the facility's inspections of the round (only ``inspections`` when given); the caller
    has checked the scope (the office's route above, the facility report)."""
    rows = await Inspection.select(
        *inspection_columns(),
    ).where((Inspection.facility == facility_id) & (Inspection.round == round_id))
    if inspections is not None:
        rows = [row for row in rows if row["id"] in inspections]
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
            gap = grade_gap(reference, mine, theirs) if reference is not None else None
            wide = reference is not None and is_wide(reference, gap)
            counts[stage.ref.stage][difference] += 1
            cells.append(
                StageCell(
                    stage=stage.ref.stage,
                    value=theirs,
                    difference=difference,
                    gap=gap,
                    wide=wide,
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
