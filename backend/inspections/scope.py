"""What each role may see and change, checked by guards first and again here, inside the services: the
facilities and inspections of a caller (by its facility, its region's subtree, or the teams it is on), and the
one rule of who may write an inspection (used by the sync push and the uploads alike)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from backend.accounts.resolvers import resolvers_of
from backend.db import fetch
from backend.errors import Forbidden, NotFound
from backend.guards import AuthUser
from backend.inspections.tables import Inspection
from backend.registry.scope import region_subtree
from backend.registry.tables import Facility
from sync.api import Caller, ScopeQuery, as_uuid


async def recused_facility_ids(user: AuthUser) -> set[UUID]:
    """The facilities an expert is tied to (回避制度). Checked at every access, not only when a team is set:
    a tie recorded after the assignment takes the expert off that facility's inspections at once."""
    if user.role != "inspector":
        return set()
    rows = await fetch('SELECT "tied_facility_ids" FROM "expert_profile" WHERE "user" = {}', [user.id])
    return _tied(rows[0]["tied_facility_ids"]) if rows else set()


def _tied(value: Any) -> set[UUID]:
    tied = json.loads(value) if isinstance(value, str) else value
    return {as_uuid(item) for item in tied or []}


# The inspections whose team a user is on, with their facility and the expert's ties: raw SQL, one statement
# with the ties (one round trip, not two), since it runs inside every push and every pull. An expert has at most
# one profile ("user" is unique), so the join adds no rows. ``{}``: the user's id.
_ASSIGNED = (
    'SELECT m."inspection" AS "id", i."facility" AS "facility", p."tied_facility_ids" AS "tied" '
    'FROM "inspection_member" m JOIN "inspection" i ON i."id" = m."inspection" '
    'LEFT JOIN "expert_profile" p ON p."user" = m."user" WHERE m."user" = {}'
)


async def _assigned(user: AuthUser) -> list[dict[str, Any]]:
    """The inspections whose team the inspector is on, with their facility, less those it is recused from."""
    return _not_recused(user, await fetch(_ASSIGNED, [user.id]))


def _not_recused(user: AuthUser, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows or user.role != "inspector":
        return rows
    recused = _tied(rows[0]["tied"])
    return [row for row in rows if as_uuid(row["facility"]) not in recused]


def inspector_scope(user: AuthUser, *, readable: bool, writable: bool) -> ScopeQuery | None:
    """An inspector's scope for the sync engine as a statement (``sync.api.ScopeQuery``: on PostgreSQL read in the
    statement of the pull's first reads, of the push's client row and locks): its assigned inspections, less
    those it is recused from (``finish``, the filter of :func:`_assigned`), as readable and/or writable, as
    ``visible_inspection_ids`` and ``writable_inspection_ids`` give them; ``None`` for every other role."""
    if user.role != "inspector":
        return None

    def finish(rows: list[dict[str, Any]]) -> Caller:
        ids = frozenset(as_uuid(row["id"]) for row in _not_recused(user, rows))
        return Caller(
            user_id=user.id,
            role=user.role,
            readable=ids if readable else frozenset(),
            writable=ids if writable else frozenset(),
            resolvable=None,  # resolvable_inspection_ids: wherever an inspector may write
        )

    return ScopeQuery(user_id=user.id, sql=_ASSIGNED.replace("{}", "?"), args=[user.id], finish=finish)


async def visible_facility_ids(user: AuthUser) -> set[UUID] | None:
    """Facility ids the user may read; ``None`` means every facility (admin)."""
    if user.role == "admin":
        return None
    if user.role == "clinic":
        return {user.facility_id} if user.facility_id else set()
    if user.role == "office":
        if user.region_id is None:
            return set()
        regions = await region_subtree(user.region_id)
        rows = await Facility.select(Facility.id).where(Facility.region.is_in(list(regions)))
        return {row["id"] for row in rows}
    return {as_uuid(row["facility"]) for row in await _assigned(user)}


async def ensure_facility_visible(user: AuthUser, facility_id: UUID) -> None:
    visible = await visible_facility_ids(user)
    if visible is not None and facility_id not in visible:
        raise Forbidden("that facility is outside your scope", code="out_of_scope")
    if not await Facility.exists().where(Facility.id == facility_id):
        raise NotFound(f"facility {facility_id} does not exist")


async def visible_inspection_ids(user: AuthUser) -> set[UUID] | None:
    """Inspections the user may read; ``None`` means all (admin)."""
    if user.role == "admin":
        return None
    if user.role == "inspector":
        return {as_uuid(row["id"]) for row in await _assigned(user)}
    facilities = await visible_facility_ids(user) or set()
    if not facilities:
        return set()
    query = Inspection.select(Inspection.id).where(Inspection.facility.is_in(list(facilities)))
    if user.role == "clinic":
        # A clinic sees its own self-assessment and review results returned to it with opinions.
        query = query.where((Inspection.stage == "self") | (Inspection.status == "returned"))
    return {row["id"] for row in await query}


async def ensure_inspection_visible(user: AuthUser, inspection_id: UUID) -> None:
    visible = await visible_inspection_ids(user)
    if visible is not None and inspection_id not in visible:
        raise Forbidden("that inspection is outside your scope", code="out_of_scope")
    if not await Inspection.exists().where(Inspection.id == inspection_id):
        raise NotFound(f"inspection {inspection_id} does not exist")


async def writable_inspection_ids(user: AuthUser) -> frozenset[UUID] | None:
    """Inspections the user may change; ``None`` means all (admin). Inspectors: the inspections whose team
    they are on; a clinic: its own facility's self-assessment; the office: none (it reads and decides, it
    does not grade)."""
    if user.role == "admin":
        return None
    rows: list[dict[str, Any]]
    if user.role == "inspector":
        rows = await _assigned(user)
    elif user.role == "clinic" and user.facility_id is not None:
        rows = await fetch(
            'SELECT "id" FROM "inspection" WHERE "facility" = {} AND "stage" = {}', [user.facility_id, "self"]
        )
    else:
        rows = []
    return frozenset(as_uuid(row["id"]) for row in rows)


async def ensure_inspection_writable(user: AuthUser, inspection_id: UUID) -> None:
    """404 when the inspection does not exist, 403 when the user may not change it."""
    if not await Inspection.exists().where(Inspection.id == inspection_id):
        raise NotFound(f"inspection {inspection_id} does not exist")
    writable = await writable_inspection_ids(user)
    if writable is not None and inspection_id not in writable:
        raise Forbidden("you may not add evidence to that inspection", code="out_of_scope")


async def resolvable_inspection_ids(user: AuthUser) -> frozenset[UUID] | None:
    """Inspections whose conflicts the user may resolve; ``None``: wherever they may write. A clinic account
    resolves its facility's conflicts unless the facility designated another staff member (then none)."""
    if user.role != "clinic" or user.facility_id is None:
        return None
    designated = (await resolvers_of([user.facility_id])).get(user.facility_id)
    if designated is None or designated.user_id == user.id:
        return None
    return frozenset()
