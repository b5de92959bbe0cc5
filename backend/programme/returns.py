"""Returns with written opinions, and the opinions a facility reads.

Who may do what (guards check the role; these functions check the scope again): an office of the facility's
region (for review stages up to its own level) or admin returns a submitted inspection; the opinion is stored
and audited, and the inspection's version moves so every device (team and clinic) pulls it again. Opinions are
read by the facility's clinic, by offices of its region and by admin.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import as_utc, current_engine, write_tx
from backend.errors import Conflict, Forbidden, NotFound
from backend.guards import AuthUser, ensure_role
from backend.inspections.scope import ensure_facility_visible
from backend.inspections.tables import Inspection
from backend.programme.rules import ensure_office_level
from backend.programme.schemas import OpinionOut, ReturnRequest
from backend.programme.tables import ReturnedOpinion
from sync.api import move_inspection


async def return_inspection(*, user: AuthUser, inspection_id: UUID, data: ReturnRequest) -> OpinionOut:
    ensure_role(user, "admin", "office")
    row = (
        await Inspection.select(Inspection.facility, Inspection.round, Inspection.stage, Inspection.status)
        .where(Inspection.id == inspection_id)
        .first()
    )
    if row is None:
        # to a non-admin an unknown id looks like an out-of-scope one: existence is not revealed
        if user.role == "admin":
            raise NotFound(f"inspection {inspection_id} does not exist", code="inspection_not_found")
        raise Forbidden("that inspection is outside your scope", code="out_of_scope")
    await ensure_facility_visible(user, row["facility"])
    await ensure_office_level(user, row["stage"], verb="return")
    opinion = data.opinion.strip()
    if not opinion:
        raise Conflict("a return carries a written opinion", code="opinion_required")
    async with write_tx():
        # not submitted: MoveRefused, answered 409 inspection_not_submitted (backend/errors.py)
        await move_inspection(current_engine(), inspection_id, "return")
        saved = await record_opinion(
            facility=row["facility"],
            round=row["round"],
            inspection=inspection_id,
            stage=row["stage"],
            opinion=opinion,
            returned_by=user.id,
        )
        await record(
            user_id=str(user.id),
            action="inspection.return",
            entity=f"inspection/{inspection_id}",
            details={"from": "submitted", "to": "returned", "opinion": opinion, "stage": row["stage"]},
        )
    return (await _opinions(ReturnedOpinion.id == saved.id))[0]


async def record_opinion(
    *,
    facility: UUID,
    round: UUID,
    opinion: str,
    returned_by: UUID,
    application: UUID | None = None,
    inspection: UUID | None = None,
    stage: str | None = None,
) -> ReturnedOpinion:
    """Keep a return's written opinion (of an inspection or an application), inside the caller's transaction;
    the clinic reads it in its app (pull ``opinion/<id>``)."""
    saved = ReturnedOpinion(
        facility=facility,
        round=round,
        application=application,
        inspection=inspection,
        stage=stage,
        opinion=opinion,
        returned_by=returned_by,
    )
    await saved.save()
    return saved


async def _opinions(where: Any) -> list[OpinionOut]:
    rows = (
        await ReturnedOpinion.select(
            *ReturnedOpinion.all_columns(),
            ReturnedOpinion.returned_by.display_name.as_alias("by_name"),
            ReturnedOpinion.returned_by.username.as_alias("by_username"),
        )
        .where(where)
        .order_by(ReturnedOpinion.returned_at)
    )
    return [
        OpinionOut(
            id=r["id"],
            kind="review" if r["inspection"] is not None else "application",
            removal=r["application"] is not None and r["inspection"] is not None,
            facility_id=r["facility"],
            round_id=r["round"],
            application_id=r["application"],
            inspection_id=r["inspection"],
            stage=r["stage"],
            opinion=r["opinion"],
            returned_by_name=r["by_name"] or r["by_username"],
            returned_at=as_utc(r["returned_at"]),
        )
        for r in rows
    ]


async def list_opinions(
    *, user: AuthUser, facility_id: UUID, round_id: UUID | None = None
) -> list[OpinionOut]:
    ensure_role(user, "admin", "office", "clinic")
    await ensure_facility_visible(user, facility_id)
    where: Any = ReturnedOpinion.facility == facility_id
    if round_id is not None:
        where = where & (ReturnedOpinion.round == round_id)
    return await _opinions(where)


async def inspection_opinions(inspection_ids: list[UUID]) -> list[dict[str, Any]]:
    """The opinions given with these inspections' returns, oldest first (what a pull sends the clinic;
    handed to sync as ``Hooks.inspection_opinions``)."""
    if not inspection_ids:
        return []
    return await (
        ReturnedOpinion.select(
            ReturnedOpinion.id,
            ReturnedOpinion.inspection,
            ReturnedOpinion.application,
            ReturnedOpinion.facility,
            ReturnedOpinion.stage,
            ReturnedOpinion.opinion,
            ReturnedOpinion.returned_at,
        )
        .where(ReturnedOpinion.inspection.is_in(inspection_ids))
        .order_by(ReturnedOpinion.returned_at)
    )
