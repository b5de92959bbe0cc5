"""Applications: a facility applies for a tier at a round.

Who may do what (checked by the controllers' guards and again here): a clinic applies for its own facility,
an office for a facility of its region, or admin. Only an office (in scope) or admin accepts or returns an
application; the applicant side may withdraw. The programme's rules (a finished self-assessment, a tier the
facility can be eligible for, the re-apply interval after a return) are checked by ``hooks.ensure_may_apply``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.hooks import Hooks
from backend.inspections.rounds import ensure_round_covers, round_by_id
from backend.inspections.schemas import ApplicationOut, CreateApplicationRequest, UpdateApplicationRequest
from backend.inspections.scope import ensure_facility_visible, visible_facility_ids
from backend.inspections.tables import Application
from backend.registry.tables import Facility


def _now() -> datetime:
    return datetime.now(UTC)


def _application_out(row: dict[str, Any]) -> ApplicationOut:
    return ApplicationOut(
        id=row["id"],
        facility_id=row["facility"],
        round_id=row["round"],
        tier=row["tier"],
        status=row["status"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
    )


async def list_applications(
    *, user: AuthUser, round_id: UUID | None = None, facility_id: UUID | None = None
) -> list[ApplicationOut]:
    ensure_role(user, "admin", "office", "clinic")
    visible = await visible_facility_ids(user)
    query = Application.select().order_by(Application.created_at)
    if visible is not None:
        if not visible:
            return []
        query = query.where(Application.facility.is_in(list(visible)))
    if round_id is not None:
        query = query.where(Application.round == round_id)
    if facility_id is not None:
        query = query.where(Application.facility == facility_id)
    return [_application_out(row) for row in await query]


async def active_facility(facility_id: UUID) -> dict[str, Any]:
    row = await Facility.select(Facility.name, Facility.active).where(Facility.id == facility_id).first()
    if row is None:
        raise NotFound(f"facility {facility_id} does not exist", code="facility_not_found")
    if not row["active"]:
        raise Conflict(f"facility {row['name']} is deactivated", code="facility_inactive")
    return row


async def create_application(
    *, user: AuthUser, data: CreateApplicationRequest, hooks: Hooks
) -> ApplicationOut:
    ensure_role(user, "admin", "office", "clinic")
    await ensure_facility_visible(user, data.facility_id)
    await active_facility(data.facility_id)
    round_row = await round_by_id(data.round_id)
    await ensure_round_covers(round_row, data.facility_id)
    if await Application.exists().where(
        (Application.facility == data.facility_id)
        & (Application.round == data.round_id)
        & Application.status.is_in(["applied", "accepted"])
    ):
        raise Conflict(
            "this facility already has an open application at that round", code="duplicate_application"
        )
    late = await hooks.ensure_application_window(data.facility_id, data.round_id)
    await hooks.ensure_may_apply(data.facility_id, data.round_id, data.tier)
    async with write_tx():
        application = Application(facility=data.facility_id, round=data.round_id, tier=data.tier)
        await application.save()
        details = {"facility": str(data.facility_id), "round": str(data.round_id), "tier": data.tier}
        await record(
            user_id=str(user.id),
            action="application.create",
            entity=f"application/{application.id}",
            details={**details, "lateOverride": str(late)} if late else details,
        )
    row = await Application.select().where(Application.id == application.id).first()
    assert row is not None
    return _application_out(row)


async def update_application(
    *, user: AuthUser, application_id: UUID, data: UpdateApplicationRequest, hooks: Hooks
) -> ApplicationOut:
    ensure_role(user, "admin", "office", "clinic")
    row = await Application.select().where(Application.id == application_id).first()
    visible = await visible_facility_ids(user)
    if visible is not None and (row is None or row["facility"] not in visible):
        raise Forbidden("that application is outside your scope", code="out_of_scope")
    if row is None:
        raise NotFound(f"application {application_id} does not exist", code="application_not_found")
    if data.status in ("accepted", "returned"):
        ensure_role(user, "admin", "office")
    opinion = (data.opinion or "").strip()
    if data.status == "returned" and not opinion:
        raise RuleRefused("a return carries a written opinion (opinion)", code="opinion_required")
    if row["status"] not in ("applied", "accepted") or (
        row["status"] == "accepted" and data.status == "accepted"
    ):
        raise Conflict(f"the application is already {row['status']}", code="application_decided")
    if row["status"] == "accepted" and data.status == "withdrawn":
        raise Conflict(
            "an accepted application is returned by the office, not withdrawn", code="application_decided"
        )
    async with write_tx():
        # an accepted application may still be returned after a review stage (with its opinion)
        await Application.update({Application.status: data.status, Application.decided_at: _now()}).where(
            (Application.id == application_id) & (Application.status == row["status"])
        )
        if data.status == "returned":
            await hooks.record_opinion(
                facility=row["facility"],
                round=row["round"],
                application=application_id,
                opinion=opinion,
                returned_by=user.id,
            )
        await record(
            user_id=str(user.id),
            action=f"application.{data.status}",
            entity=f"application/{application_id}",
            details={"from": row["status"], "to": data.status, **({"opinion": opinion} if opinion else {})},
        )
    updated = await Application.select().where(Application.id == application_id).first()
    assert updated is not None
    return _application_out(updated)
