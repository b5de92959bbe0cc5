"""Inspections and inspection teams (rounds: ``rounds.py``; applications: ``applications.py``).

Who may do what (checked by the controllers' guards and again here):
- inspections: everyone reads what ``visible_inspection_ids`` allows (inspector: assigned; clinic: its
  self-assessment and returned results; office: its region). Admin and an office create inspections and
  assign teams; an office only for facilities of its region and only for stages up to its own level (a city
  office runs county and city reviews, not the provincial one). A review-stage inspection needs an
  application of that facility at that round.
- teams (回避制度, group size, title gate): review stages need the programme's group size (expertTeam: at least
  5 and an odd number in the shipped standards), exactly one lead who is a member; members are active
  inspector users with an expert profile holding the programme's minimum title (中级及以上); an expert tied to
  the facility is refused (409 naming the expert). The rules are backend/inspections/teams.py. A self-assessment has no expert team. Teams are frozen once the
  inspection is submitted, returned or accepted.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import current_engine, write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.hooks import Hooks
from backend.inspections.applications import active_facility
from backend.inspections.review_mode import review_mode_for
from backend.inspections.rounds import ensure_round_covers, round_by_id, round_visible
from backend.inspections.schemas import (
    REVIEW_STAGES,
    STAGE_ORDER,
    CreateInspectionRequest,
    InspectionDetail,
    InspectionOut,
    SetTeamRequest,
    TeamMemberOut,
    UpdateInspectionRequest,
)
from backend.inspections.scope import (
    ensure_facility_visible,
    ensure_inspection_visible,
    visible_inspection_ids,
)
from backend.inspections.tables import Application, Inspection, InspectionMember
from backend.inspections.teams import check_size, experts, replace_team, team_rules, users_exist
from backend.registry.tables import Region
from sync.api import TEAM_FIXED, bump_inspection

# each office level's rank (a level may act on its stage and below): a review stage's place in the stage list
LEVEL_RANK = {stage: STAGE_ORDER[stage] for stage in REVIEW_STAGES}
LOCKED_STATUSES = TEAM_FIXED


_INSPECTION_COLUMNS = (
    Inspection.id,
    Inspection.facility,
    Inspection.facility.name.as_alias("facility_name"),
    Inspection.round,
    Inspection.stage,
    Inspection.standard_version_id,
    Inspection.status,
    Inspection.version,
    Inspection.created_at,
    Inspection.submitted_at,
    Inspection.review_mode,
)


def _inspection_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "facility_id": row["facility"],
        "facility_name": row["facility_name"],
        "round_id": row["round"],
        "stage": row["stage"],
        "standard_version_id": row["standard_version_id"],
        "status": row["status"],
        "version": row["version"],
        "created_at": row["created_at"],
        "submitted_at": row["submitted_at"],
        "review_mode": row["review_mode"],
    }


async def list_inspections(
    *,
    user: AuthUser,
    round_id: UUID | None = None,
    facility_id: UUID | None = None,
    stage: str | None = None,
) -> list[InspectionOut]:
    visible = await visible_inspection_ids(user)
    query = Inspection.select(*_INSPECTION_COLUMNS).order_by(Inspection.created_at)
    if visible is not None:
        if not visible:
            return []
        query = query.where(Inspection.id.is_in(list(visible)))
    if round_id is not None:
        query = query.where(Inspection.round == round_id)
    if facility_id is not None:
        query = query.where(Inspection.facility == facility_id)
    if stage is not None:
        query = query.where(Inspection.stage == stage)
    return [InspectionOut(**_inspection_fields(row)) for row in await query]


async def _team(inspection_id: UUID) -> list[TeamMemberOut]:
    rows = (
        await InspectionMember.select(
            InspectionMember.user,
            InspectionMember.user.username.as_alias("username"),
            InspectionMember.user.display_name.as_alias("display_name"),
            InspectionMember.is_lead,
        )
        .where(InspectionMember.inspection == inspection_id)
        .order_by(InspectionMember.is_lead, ascending=False)
    )
    members = [
        TeamMemberOut(
            user_id=row["user"],
            username=row["username"],
            display_name=row["display_name"],
            is_lead=row["is_lead"],
        )
        for row in rows
    ]
    return sorted(members, key=lambda m: (not m.is_lead, m.username))


async def _inspection_row(inspection_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await Inspection.select(*_INSPECTION_COLUMNS).where(Inspection.id == inspection_id).first()
    )
    if row is None:
        raise NotFound(f"inspection {inspection_id} does not exist", code="inspection_not_found")
    return row


async def _detail(inspection_id: UUID) -> InspectionDetail:
    row = await _inspection_row(inspection_id)
    return InspectionDetail(**_inspection_fields(row), team=await _team(inspection_id))


async def get_inspection(*, user: AuthUser, inspection_id: UUID) -> InspectionDetail:
    await ensure_inspection_visible(user, inspection_id)
    return await _detail(inspection_id)


async def _ensure_office_may_run(user: AuthUser, stage: str) -> None:
    """An office runs stages up to its own level (and any facility's self-assessment)."""
    if user.role != "office" or stage == "self":
        return
    region = await Region.select(Region.level).where(Region.id == user.region_id).first()
    level = region["level"] if region else "county"
    if LEVEL_RANK[stage] > LEVEL_RANK.get(level, 0):
        raise Forbidden(f"a {level} office cannot run the {stage} review", code="stage_above_scope")


async def create_inspection(
    *, user: AuthUser, data: CreateInspectionRequest, hooks: Hooks
) -> InspectionDetail:
    ensure_role(user, "admin", "office")
    if data.stage == "self":
        review_mode_for(None, "self", None, data.review_mode)  # a self-assessment has no review mode
    await ensure_facility_visible(user, data.facility_id)
    await _ensure_office_may_run(user, data.stage)
    await active_facility(data.facility_id)
    round_row = await round_by_id(data.round_id)
    if not await round_visible(user, round_row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    await ensure_round_covers(round_row, data.facility_id)
    if await Inspection.exists().where(
        (Inspection.facility == data.facility_id)
        & (Inspection.round == data.round_id)
        & (Inspection.stage == data.stage)
    ):
        raise Conflict(
            f"that facility already has a {data.stage} inspection at this round", code="duplicate_inspection"
        )
    application = (
        await Application.select(Application.tier)
        .where(
            (Application.facility == data.facility_id)
            & (Application.round == data.round_id)
            & Application.status.is_in(["applied", "accepted"])
        )
        .first()
    )
    if data.stage in REVIEW_STAGES and application is None:
        raise Conflict(
            "a review inspection needs an open or accepted application of that facility at this round",
            code="no_application",
        )
    standard = await hooks.fitting_standard(data.standard_version_id, data.facility_id)
    mode = review_mode_for(
        standard, data.stage, application["tier"] if application else None, data.review_mode
    )
    await hooks.ensure_stage_open(
        facility_id=data.facility_id, round_id=data.round_id, stage=data.stage, standard=standard
    )
    async with write_tx():
        inspection = Inspection(
            facility=data.facility_id,
            round=data.round_id,
            stage=data.stage,
            standard_version_id=data.standard_version_id,
            review_mode=mode,
        )
        await inspection.save()
        await record(
            user_id=str(user.id),
            action="inspection.create",
            entity=f"inspection/{inspection.id}",
            details={
                "facility": str(data.facility_id),
                "round": str(data.round_id),
                "stage": data.stage,
                "reviewMode": mode,
            },
        )
    return await _detail(inspection.id)


async def update_inspection(
    *, user: AuthUser, inspection_id: UUID, data: UpdateInspectionRequest, hooks: Hooks
) -> InspectionDetail:
    ensure_role(user, "admin", "office")
    await ensure_inspection_visible(user, inspection_id)
    row = await _inspection_row(inspection_id)
    if data.standard_version_id is not None and data.standard_version_id != row["standard_version_id"]:
        if row["status"] != "draft":
            # Answers already refer to the standard's items; switching it would orphan them.
            raise Conflict(
                f"the standard can only change while the inspection is a draft; it is {row['status']}",
                code="standard_fixed",
            )
        await hooks.fitting_standard(data.standard_version_id, row["facility"])
        async with write_tx():
            # a new version, so devices that pulled the draft get it (and its standard) again
            await Inspection.update({Inspection.standard_version_id: data.standard_version_id}).where(
                Inspection.id == inspection_id
            )
            await bump_inspection(current_engine(), inspection_id)
            await record(
                user_id=str(user.id),
                action="inspection.update",
                entity=f"inspection/{inspection_id}",
                details={"standardVersionId": data.standard_version_id},
            )
    return await _detail(inspection_id)


async def set_team(*, user: AuthUser, inspection_id: UUID, data: SetTeamRequest) -> InspectionDetail:
    row = await team_target(user, inspection_id)
    members = data.members
    if len(set(members)) != len(members):
        raise RuleRefused("a member is listed twice", code="duplicate_member")
    rules = await team_rules(row["standard_version_id"])
    check_size(rules, len(members))
    if data.lead_id is None:
        raise RuleRefused("name exactly one lead (leadId)", code="lead_required")
    if data.lead_id not in members:
        raise RuleRefused("the lead must be one of the members", code="lead_not_member")
    users = await users_exist(members)
    pool = await experts(members)
    for member in members:
        person = users[member]
        if person["role"] != "inspector" or member not in pool:
            raise RuleRefused(
                f"{person['username']} is not an expert: members must be inspector users with an expert profile",
                code="not_an_expert",
                user_id=str(member),
            )
        if not person["active"]:
            raise RuleRefused(
                f"{person['username']} is deactivated", code="inactive_member", user_id=str(member)
            )
    left_out = {m: pool[m].left_out(row["facility"], rules) for m in members}
    tied = [m for m in members if left_out[m] == "recusal"]
    if tied:
        names = ", ".join(pool[m].name for m in tied)
        raise Conflict(
            f"recusal (回避制度): {names} is tied to {row['facility_name']} and cannot inspect it",
            code="recusal",
            expert_ids=[str(m) for m in tied],
        )
    for reason in ("title_unrecognised", "title_below_minimum"):
        below = [m for m in members if left_out[m] == reason]
        if below:
            titles = ", ".join(f"{pool[m].name}: {pool[m].title or '—'}" for m in below)
            raise Conflict(
                f"the programme's experts hold a title of {rules.min_title} or above; "
                + ("title not recognised" if reason == "title_unrecognised" else "below it")
                + f": {titles}",
                code=reason,
                min_title=rules.min_title,
                expert_ids=[str(m) for m in below],
            )
    async with write_tx():
        await replace_team(inspection_id, members, data.lead_id)
        await record(
            user_id=str(user.id),
            action="inspection.team",
            entity=f"inspection/{inspection_id}",
            details={"members": [str(m) for m in members], "lead": str(data.lead_id)},
        )
    return await _detail(inspection_id)


async def team_target(user: AuthUser, inspection_id: UUID) -> dict[str, Any]:
    """The inspection whose team the caller sets: in scope, a review stage, still open (its team not fixed)."""
    ensure_role(user, "admin", "office")
    await ensure_inspection_visible(user, inspection_id)
    row = await _inspection_row(inspection_id)
    if row["stage"] == "self":
        raise Conflict("a self-assessment (自评) has no expert team", code="self_assessment_has_no_team")
    if row["status"] in LOCKED_STATUSES:
        raise Conflict(f"the inspection is {row['status']}; its team is fixed", code="inspection_locked")
    return row


async def inspection_detail(inspection_id: UUID) -> InspectionDetail:
    return await _detail(inspection_id)


async def self_assessment(facility_id: UUID, round_id: UUID, *columns: Any) -> dict[str, Any] | None:
    """The facility's self-assessment (自评) at a round, its ``columns``; ``None`` when it has none."""
    row: dict[str, Any] | None = (
        await Inspection.select(*columns)
        .where(
            (Inspection.facility == facility_id)
            & (Inspection.round == round_id)
            & (Inspection.stage == "self")
        )
        .first()
    )
    return row
