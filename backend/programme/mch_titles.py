"""Naming a title (``mch.py``): on the signed conclusion that decides it (the province's where the county was
drawn in the province sample, else the city's check), valid ``titleValidYears`` from the day it is named; and
the titles in a caller's scope with their re-checks. Where the standard's threshold decides, it does; where it
is not transcribed (undetermined) the province decides and writes its reason (:func:`decide`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, NotFound
from backend.guards import AuthUser, ensure_role
from backend.inspections.scope import ensure_facility_visible, visible_facility_ids
from backend.programme.kinds import ProgrammeKind, kind_of, kinds
from backend.programme.mch import ACTIVE, add_months, effective_status, today_in_china
from backend.programme.mch_targets import self_standard
from backend.programme.rules import ensure_office_level, open_application, selection
from backend.programme.title_schemas import NameTitleRequest, RecheckOut, TitleOut
from backend.programme.title_tables import ProgrammeTitle, TitleRecheck
from backend.review.flow import carried_tier
from backend.review.tables import ConfirmedConclusion
from backend.standards.schemas import Standard


async def latest_conclusion(where: Any) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await ConfirmedConclusion.select()
        .where(where)
        .order_by(ConfirmedConclusion.confirmed_at, ascending=False)
        .first()
    )
    return row


def decide(conclusion: dict[str, Any], tier: str, reason: str | None) -> tuple[bool, str, str]:
    """(reached, decided_by, reason) from a signed conclusion: the standard where it decides, else the province
    with its written reason. A sign-off that recorded who decided its tier (review/verdicts.py: the standard,
    the province's setting or the review group with its reason) is taken as it stands."""
    if conclusion.get("decided_by") is not None:
        written = conclusion.get("decision_reason") or ""
        if not written:
            written = "; ".join(msgspec.json.decode(conclusion["explanation"]).get("reasons", []))
        return conclusion["tier"] == tier, conclusion["decided_by"], written
    if conclusion["status"] in ("determined", "not_evaluated"):
        reasons = msgspec.json.decode(conclusion["explanation"]).get("reasons", [])
        return conclusion["tier"] == tier, "standard", "; ".join(reasons)
    if not (reason or "").strip():
        raise Conflict(
            "no threshold of the standard decides this conclusion (undetermined): the province decides, "
            "with its written reason",
            code="decision_needs_reason",
        )
    return True, "province", (reason or "").strip()


async def _title_kind(standard: Standard) -> ProgrammeKind:
    kind = kind_of(standard)
    if kind is None or kind.title is None:
        raise Conflict(f"the programme of {standard.id} names no title", code="no_title_in_programme")
    return kind


async def name_title(
    *, user: AuthUser, round_id: UUID, data: NameTitleRequest, now: datetime | None = None
) -> TitleOut:
    """Name a subject (示范县) on the conclusion that decides it: the province's if it was drawn in the province
    sample, else the city's check."""
    ensure_role(user, "admin", "office")
    await ensure_office_level(user, "province", "name titles at")
    facility_id = data.facility_id
    await ensure_facility_visible(user, facility_id)
    standard = await self_standard(facility_id, round_id)
    kind = await _title_kind(standard)
    assert kind.title is not None
    application = await open_application(facility_id, round_id)
    if application is None or application["tier"] != kind.title:
        raise Conflict(
            f"no open application for {kind.title} at this round (the county's report to the city)",
            code="no_application",
        )
    city = await latest_conclusion(
        (ConfirmedConclusion.facility == facility_id)
        & (ConfirmedConclusion.round == round_id)
        & (ConfirmedConclusion.stage == "city")
    )
    if city is None:
        raise Conflict("the city has not checked this county (no signed city conclusion)", code="stage_order")
    flow = await carried_tier(round_id, facility_id)
    if flow is not None and flow.removed_at == "city":
        chosen, ratio = "not_drawn", None  # the city did not report it up: its check decides (not reached)
    else:
        chosen, ratio = await selection(facility_id, round_id, "province", kind.title, standard)
    if chosen == "not_drawn_yet":
        raise Conflict(
            f"draw the province sample first ({ratio or 0:.0%} of the counties are checked)",
            code="sample_not_drawn",
        )
    basis = city
    if chosen in ("drawn", "all"):
        province = await latest_conclusion(
            (ConfirmedConclusion.facility == facility_id)
            & (ConfirmedConclusion.round == round_id)
            & (ConfirmedConclusion.stage == "province")
        )
        if province is None:
            raise Conflict(
                "the county was drawn in the province sample: its province check has no signed conclusion",
                code="stage_order",
            )
        basis = province
    reached, decided_by, reason = decide(basis, kind.title, data.reason)
    if not reached:
        raise Conflict(
            f"the {basis['stage']} conclusion is {basis['tier_label'] or basis['status']}: {reason}",
            code="title_not_reached",
            tier=basis["tier"],
            reasons=reason,
        )
    years = standard.programme_settings.title_valid_years
    if not years:
        raise Conflict(f"{standard.id} sets no validity for its title", code="no_title_validity")
    today = today_in_china(now)
    async with write_tx():
        for row in await ProgrammeTitle.select().where(
            (ProgrammeTitle.facility == facility_id) & (ProgrammeTitle.kind == kind.code)
        ):
            if effective_status(row, today) in ACTIVE:
                raise Conflict(f"the county holds the title until {row['valid_until']}", code="already_named")
        tier_label = next((t.label for t in standard.determination.tiers if t.code == kind.title), kind.title)
        title = ProgrammeTitle(
            facility=facility_id,
            round=round_id,
            kind=kind.code,
            tier=kind.title,
            tier_label=tier_label,
            standard_version_id=standard.id,
            conclusion=basis["id"],
            decided_by=decided_by,
            reason=reason,
            named_on=today,
            valid_until=add_months(today, 12 * years),
            status="named",
            named_by=user.id,
        )
        await title.save()
        await record(
            user_id=str(user.id),
            action="title.name",
            entity=f"facility/{facility_id}",
            details={
                "title": str(title.id),
                "tier": kind.title,
                "round": str(round_id),
                "conclusion": str(basis["id"]),
                "decidedBy": decided_by,
                "validUntil": title.valid_until.isoformat(),
            },
        )
    return await title_out(title.id, today)


def recheck_out(row: dict[str, Any]) -> RecheckOut:
    return RecheckOut(
        id=row["id"],
        title_id=row["title"],
        inspection_id=row["inspection"],
        round_id=row["round"],
        checks=row["checks"],
        outcome=row["outcome"],
        decided_by=row["decided_by"],
        reason=row["reason"],
        fix_due_on=row["fix_due_on"],
        opened_at=row["opened_at"],
        decided_at=row["decided_at"],
    )


RECHECK_COLUMNS = (
    TitleRecheck.id,
    TitleRecheck.title,
    TitleRecheck.inspection,
    TitleRecheck.inspection.round.as_alias("round"),
    TitleRecheck.checks,
    TitleRecheck.outcome,
    TitleRecheck.decided_by,
    TitleRecheck.reason,
    TitleRecheck.fix_due_on,
    TitleRecheck.opened_at,
    TitleRecheck.decided_at,
)


async def _title_outs(where: Any, today: date) -> list[TitleOut]:
    rows = (
        await ProgrammeTitle.select(
            *ProgrammeTitle.all_columns(), ProgrammeTitle.facility.name.as_alias("facility_name")
        )
        .where(where)
        .order_by(ProgrammeTitle.named_at)
    )
    if not rows:
        return []
    rechecks: dict[UUID, list[RecheckOut]] = {}
    for r in (
        await TitleRecheck.select(*RECHECK_COLUMNS)
        .where(TitleRecheck.title.is_in([row["id"] for row in rows]))
        .order_by(TitleRecheck.opened_at)
    ):
        rechecks.setdefault(r["title"], []).append(recheck_out(r))
    return [
        TitleOut(
            id=row["id"],
            facility_id=row["facility"],
            facility_name=row["facility_name"],
            round_id=row["round"],
            kind=row["kind"],
            tier=row["tier"],
            tier_label=row["tier_label"],
            standard_id=row["standard_version_id"],
            conclusion_id=row["conclusion"],
            decided_by=row["decided_by"],
            reason=row["reason"],
            named_on=row["named_on"],
            valid_until=row["valid_until"],
            status=effective_status(row, today),
            fix_due_on=row["fix_due_on"],
            revoked_on=row["revoked_on"],
            rechecks=rechecks.get(row["id"], []),
        )
        for row in rows
    ]


async def title_out(title_id: UUID, today: date) -> TitleOut:
    found = await _title_outs(ProgrammeTitle.id == title_id, today)
    if not found:
        raise NotFound(f"title {title_id} does not exist", code="title_not_found")
    return found[0]


async def list_titles(
    *,
    user: AuthUser,
    round_id: UUID | None = None,
    facility_id: UUID | None = None,
    now: datetime | None = None,
) -> list[TitleOut]:
    """Titles in the caller's scope (the public list of named counties and their state)."""
    visible = await visible_facility_ids(user)
    where: Any = ProgrammeTitle.id.is_not_null()
    if visible is not None:
        if not visible:
            return []
        where &= ProgrammeTitle.facility.is_in(list(visible))
    if round_id is not None:
        where &= ProgrammeTitle.round == round_id
    if facility_id is not None:
        where &= ProgrammeTitle.facility == facility_id
    return await _title_outs(where, today_in_china(now))


@dataclass(frozen=True, slots=True)
class TitleMove:
    """A title's state after a decided re-check; ``values``: the columns that change (none: it stays as it was)."""

    status: str
    values: dict[Any, Any]
    fix_due_on: date | None = None


def after_recheck(title: dict[str, Any], *, passed: bool, today: date) -> TitleMove:
    """A failure of a held title gives a deadline to fix (the kind's ``fixWithinMonths``, else 3), a failure
    while fixing revokes it, a pass while fixing closes the fix; a pass of a held title changes nothing."""
    status = effective_status(title, today)
    if not passed and status == "named":
        kind = next((k for k in kinds() if k.code == title["kind"]), None)
        due = add_months(today, (kind.fix_within_months if kind else None) or 3)
        values = {ProgrammeTitle.status: "fix_required", ProgrammeTitle.fix_due_on: due}
        return TitleMove("fix_required", values, due)
    if not passed and status == "fix_required":
        return TitleMove("revoked", {ProgrammeTitle.status: "revoked", ProgrammeTitle.revoked_on: today})
    if passed and status == "fix_required":
        return TitleMove("named", {ProgrammeTitle.status: "named", ProgrammeTitle.fix_due_on: None})
    return TitleMove(status, {})


async def write_title_move(title_id: UUID, move: TitleMove) -> None:
    """In the caller's write transaction: the title's rows are this module's to write."""
    if move.values:
        await ProgrammeTitle.update(move.values).where(ProgrammeTitle.id == title_id)
