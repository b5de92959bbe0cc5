"""The improvement plan's read side: targets and suggestions for a clinic, each clinic's plan and progress,
the items needing government support across a region. Guards check the role; these check the scope again
(a clinic reads only its own facility's plan, an office its region). Writes go through sync mutations."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.errors import Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.improvement import targets as rules
from backend.improvement.schemas import (
    ItemOut,
    KindProgress,
    NeedsSupportOut,
    PlanSummary,
    Suggestion,
    TargetsOut,
)
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.scope import ensure_inspection_visible, visible_facility_ids
from backend.inspections.tables import Application, Inspection
from backend.registry.tables import Region
from backend.standards.schemas import Standard
from backend.sync_api.rules import STANDARD_RULES
from sync.api import NA_ANSWER, answers_by_inspection
from sync.tables import AnswerRegister, ImprovementItem

KINDS = ("soon", "continuous", "needs_support")


def today() -> str:
    return datetime.now(UTC).date().isoformat()


async def _standard(standard_id: str) -> Standard:
    found = await STANDARD_RULES.standard_rules(standard_id)
    if found is None:
        raise NotFound(f"standard {standard_id} is not known", code="standard_not_found")
    return found.standard


async def _self_inspection(user: AuthUser, inspection_id: UUID) -> dict[str, Any]:
    await ensure_inspection_visible(user, inspection_id)
    row = await Inspection.select().where(Inspection.id == inspection_id).first()
    assert row is not None  # ensure_inspection_visible answered 404 otherwise
    if row["stage"] != "self":
        raise RuleRefused(
            "an improvement plan belongs to a self-assessment (自评)", code="not_self_assessment"
        )
    return row


async def _applied_tier(facility_id: UUID, round_id: UUID) -> str | None:
    row = (
        await Application.select(Application.tier)
        .where(
            (Application.facility == facility_id)
            & (Application.round == round_id)
            & Application.status.is_in(["applied", "accepted"])
        )
        .order_by(Application.created_at, ascending=False)
        .first()
    )
    return None if row is None else str(row["tier"])


async def _grades(inspection_ids: list[UUID]) -> dict[tuple[UUID, str], Any]:
    """(inspection, article) → the self-assessed answer value (N/A reads as no grade)."""
    if not inspection_ids:
        return {}
    rows = await AnswerRegister.select(
        AnswerRegister.inspection_id, AnswerRegister.item_code, AnswerRegister.field, AnswerRegister.value
    ).where(AnswerRegister.inspection_id.is_in(inspection_ids) & AnswerRegister.field.is_in(["value", "na"]))
    # the one reading of the registers (sync.api.answers_by_inspection): N/A wins, and reads as no grade here
    return {
        (iid, item): value
        for iid, answers in answers_by_inspection(rows).items()
        for item, value in answers.items()
        if value != NA_ANSWER
    }


async def targets(*, user: AuthUser, inspection_id: UUID) -> TargetsOut:
    ensure_role(user, "admin", "office", "clinic")
    inspection = await _self_inspection(user, inspection_id)
    standard = await _standard(inspection["standard_version_id"])
    tier, source = rules.aimed_tier(
        standard, await _applied_tier(inspection["facility"], inspection["round"])
    )
    wanted = rules.article_targets(standard, tier)
    ranks = rules.grade_ranks(standard)
    grades = await _grades([inspection_id])
    planned = {
        r["item_code"]
        for r in await ImprovementItem.select(ImprovementItem.item_code).where(
            ImprovementItem.inspection_id == inspection_id
        )
    }
    where = rules.chapters(standard)
    suggestions = []
    for number, target in wanted.items():
        grade = grades.get((inspection_id, number))
        if number in planned or not rules.below(grade, target, ranks):
            continue
        title, chapter, chapter_title = where[number]
        suggestions.append(
            Suggestion(
                item_code=number,
                title=title,
                section_code=chapter,
                section_title=chapter_title,
                grade=str(grade),
                target=target,
            )
        )
    return TargetsOut(
        inspection_id=inspection_id,
        facility_id=inspection["facility"],
        round_id=inspection["round"],
        tier=None if tier is None else tier.code,
        tier_label=None if tier is None else tier.label,
        tier_source=source,
        targets=wanted,
        ranks=ranks,
        suggestions=suggestions,
    )


async def _items(rows: list[dict[str, Any]], standards: dict[UUID, str]) -> list[ItemOut]:
    """Items with their article, chapter, current grade, improved and overdue marks."""
    grades = await _grades(sorted({r["inspection_id"] for r in rows}))
    known: dict[str, Standard] = {}
    now = today()
    out = []
    for r in rows:
        standard_id = standards[r["inspection_id"]]
        if standard_id not in known:
            known[standard_id] = await _standard(standard_id)
        standard = known[standard_id]
        title, chapter, chapter_title = rules.chapters(standard).get(r["item_code"], ("", "", ""))
        current = grades.get((r["inspection_id"], r["item_code"]))
        before = msgspec.json.decode(r["grade_before"])
        out.append(
            ItemOut(
                id=r["id"],
                inspection_id=r["inspection_id"],
                facility_id=r["facility_id"],
                round_id=r["round_id"],
                item_code=r["item_code"],
                requirement_id=r["requirement_id"],
                article_title=title,
                section_code=chapter,
                section_title=chapter_title,
                gap=r["gap"],
                kind=r["kind"],
                owner=r["owner"],
                due_date=r["due_date"],
                status=r["status"],
                photo_ids=list(msgspec.json.decode(r["photo_ids"])),
                grade_before=before,
                current_grade=current,
                improved=r["status"] == "done"
                and rules.improved(before, current, rules.grade_ranks(standard)),
                overdue=r["status"] != "done" and r["due_date"] is not None and r["due_date"] < now,
                created_at=r["created_at"],
                status_changed_at=r["status_changed_at"],
            )
        )
    return out


async def plan_items(*, user: AuthUser, inspection_id: UUID) -> list[ItemOut]:
    ensure_role(user, "admin", "office", "clinic")
    inspection = await _self_inspection(user, inspection_id)
    rows = (
        await ImprovementItem.select()
        .where(ImprovementItem.inspection_id == inspection_id)
        .order_by(ImprovementItem.item_code)
        .order_by(ImprovementItem.created_at)
    )
    return await _items(rows, {inspection_id: inspection["standard_version_id"]})


async def _round_scope(user: AuthUser, round_id: UUID) -> tuple[list[dict[str, Any]], dict[UUID, str]]:
    """The round's self-assessments of the facilities the user may see, and each county's name."""
    ensure_role(user, "admin", "office")
    if not await round_visible(user, await round_by_id(round_id)):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    visible = await visible_facility_ids(user)
    query = Inspection.select(
        Inspection.id,
        Inspection.facility,
        Inspection.standard_version_id,
        Inspection.facility.name.as_alias("facility_name"),
        Inspection.facility.region.as_alias("region"),
    ).where((Inspection.round == round_id) & (Inspection.stage == "self"))
    if visible is not None:
        if not visible:
            return [], {}
        query = query.where(Inspection.facility.is_in(list(visible)))
    rows = sorted(await query, key=lambda r: (str(r["facility_name"]), str(r["id"])))
    names = {r["id"]: r["name"] for r in await Region.select(Region.id, Region.name)}
    return rows, names


async def _round_items(round_id: UUID, inspections: list[dict[str, Any]]) -> list[ItemOut]:
    ids = [r["id"] for r in inspections]
    if not ids:
        return []
    rows = (
        await ImprovementItem.select()
        .where((ImprovementItem.round_id == round_id) & ImprovementItem.inspection_id.is_in(ids))
        .order_by(ImprovementItem.item_code)
        .order_by(ImprovementItem.created_at)
    )
    return await _items(rows, {r["id"]: r["standard_version_id"] for r in inspections})


async def plans(*, user: AuthUser, round_id: UUID) -> list[PlanSummary]:
    """Each clinic's plan in the round: progress per kind, overdue items, items waiting for support."""
    inspections, names = await _round_scope(user, round_id)
    by_inspection: dict[UUID, list[ItemOut]] = defaultdict(list)
    for item in await _round_items(round_id, inspections):
        by_inspection[item.inspection_id].append(item)
    out = []
    for r in inspections:
        items = by_inspection.get(r["id"], [])
        by_kind = {kind: KindProgress() for kind in KINDS}
        for item in items:
            by_kind[item.kind].total += 1
            by_kind[item.kind].done += item.status == "done"
        out.append(
            PlanSummary(
                facility_id=r["facility"],
                facility_name=r["facility_name"],
                county=names.get(r["region"], ""),
                inspection_id=r["id"],
                total=len(items),
                done=sum(i.status == "done" for i in items),
                overdue=sum(i.overdue for i in items),
                needs_support=sum(i.kind == "needs_support" and i.status != "done" for i in items),
                improved=sum(i.improved for i in items),
                by_kind=by_kind,
            )
        )
    return out


async def needs_support(*, user: AuthUser, round_id: UUID) -> list[NeedsSupportOut]:
    """The items that need government or departmental support and are not done, across the user's region:
    the list the office takes upward."""
    inspections, names = await _round_scope(user, round_id)
    where = {r["id"]: r for r in inspections}
    return [
        NeedsSupportOut(
            facility_id=item.facility_id,
            facility_name=where[item.inspection_id]["facility_name"],
            county=names.get(where[item.inspection_id]["region"], ""),
            item=item,
        )
        for item in await _round_items(round_id, inspections)
        if item.kind == "needs_support" and item.status != "done"
    ]


async def round_items(
    *, user: AuthUser, round_id: UUID
) -> tuple[list[ItemOut], dict[UUID, dict[str, Any]], dict[UUID, str]]:
    """Every item of the round the user may see, with the inspections (facility, county) they belong to."""
    inspections, names = await _round_scope(user, round_id)
    return await _round_items(round_id, inspections), {r["id"]: r for r in inspections}, names
