"""The office resolves an open conflict with a written reason, through the sync engine's own resolution.

Who may do it (the guard checks the role; this function checks the scope again): admin, or an office of the
facility's region for review stages up to its own level (and any self-assessment of its region). The choice is
applied as a ``resolveConflict`` mutation by the office user through ``sync.api.apply`` (in process: no JSON
push, no throwaway client), scoped to that one inspection, so the same
policy holds as on a device: a conflict that changed after the office saw it (``baseVersion``) keeps every
candidate and stays open. The reason is written into the same audit entry, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec

from backend.audit.services import record_many
from backend.errors import Conflict, Forbidden, NotFound
from backend.guards import AuthUser, ensure_role
from backend.inspections.scope import ensure_facility_visible
from backend.inspections.tables import Inspection
from backend.programme.rules import ensure_office_level
from backend.programme.schemas import ResolveConflictRequest, ResolvedConflictOut
from backend.sync_api.services import push_context
from sync.api import AuditEntry, Caller, ResolveConflict, ResolveConflictArgs, SyncError, apply
from sync.tables import SyncConflict


async def resolve_conflict(
    *, user: AuthUser, conflict_id: UUID, data: ResolveConflictRequest
) -> ResolvedConflictOut:
    ensure_role(user, "admin", "office")
    row = (
        await SyncConflict.select(SyncConflict.inspection_id, SyncConflict.status)
        .where(SyncConflict.id == conflict_id)
        .first()
    )
    inspection = (
        None
        if row is None
        else await Inspection.select(Inspection.facility, Inspection.stage)
        .where(Inspection.id == row["inspection_id"])
        .first()
    )
    if row is None or inspection is None:
        if user.role == "admin":
            raise NotFound(f"conflict {conflict_id} does not exist", code="conflict_not_found")
        raise Forbidden("that conflict is outside your scope", code="out_of_scope")
    await ensure_facility_visible(user, inspection["facility"])
    await ensure_office_level(user, inspection["stage"], verb="resolve conflicts of")
    if row["status"] != "open":
        raise Conflict("the conflict is already resolved", code="conflict_not_open")
    reason = data.reason.strip()
    inspection_id: UUID = row["inspection_id"]

    async def audit(entries: Sequence[AuditEntry]) -> None:
        await record_many(
            [
                msgspec.structs.replace(e, details={**e.details, "reason": reason, "by": "office"})
                for e in entries
            ]
        )

    mutation = ResolveConflict(
        id=1,
        args=ResolveConflictArgs(
            conflict_id=conflict_id,
            value=data.value,
            base_version=data.base_version,
            inspection_id=inspection_id,
        ),
    )
    scope = frozenset({inspection_id})
    caller = Caller(user_id=user.id, role=user.role, readable=scope, writable=scope)
    try:
        # in process, by the same mutator and policy as a device's push; no client row is left behind
        [result] = await apply(
            caller, [mutation], ctx=push_context(audit=audit, max_mutations=1), client_id=f"office-{user.id}"
        )
    except SyncError as error:
        raise Conflict(error.detail, code=error.code) from None
    if result.status == "conflict":
        raise Conflict(
            "the conflict changed after you saw it: your choice joined its candidates; look again",
            code="resolution_stale",
        )
    if result.status != "applied":
        raise Conflict(
            result.detail or "the resolution was refused", code=result.reason or "resolution_refused"
        )
    return ResolvedConflictOut(
        conflict_id=conflict_id,
        inspection_id=inspection_id,
        status="resolved",
        version=result.version or 0,
        reason=reason,
    )
