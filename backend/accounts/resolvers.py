"""Who at a facility resolves its conflicts: the staff member the office (or an admin) designates among the
facility's clinic accounts. The sync push asks ``resolvers_of`` (through backend/inspections/scope.py) before a
clinic account's ``resolveConflict``; the app shows the name beside a conflict."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from backend.accounts.schemas import ConflictResolverOut, StaffOut
from backend.accounts.tables import ConflictResolver, User
from backend.audit.services import record
from backend.db import write_tx
from backend.errors import NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.registry.scope import visible_region_ids
from backend.registry.tables import Facility


async def resolvers_of(facility_ids: list[UUID]) -> dict[UUID, StaffOut]:
    """Facility id → its designated staff member (facilities with none are absent)."""
    if not facility_ids:
        return {}
    rows = await ConflictResolver.select(
        ConflictResolver.facility,
        ConflictResolver.user,
        ConflictResolver.user.username.as_alias("username"),
        ConflictResolver.user.display_name.as_alias("display_name"),
    ).where(ConflictResolver.facility.is_in(facility_ids))
    return {
        row["facility"]: StaffOut(
            user_id=row["user"], username=row["username"], display_name=row["display_name"]
        )
        for row in rows
    }


async def _facilities(user: AuthUser) -> list[dict[str, Any]]:
    """The facilities whose resolver the caller sees: an office its region's, an admin all, a clinic its own."""
    query = Facility.select(Facility.id, Facility.name, Facility.region).where(Facility.active == True)  # noqa: E712
    if user.role == "clinic":
        if user.facility_id is None:
            return []
        return list(await query.where(Facility.id == user.facility_id))
    regions = await visible_region_ids(user)
    rows: list[dict[str, Any]] = await query.order_by(Facility.name)
    return rows if regions is None else [row for row in rows if row["region"] in regions]


async def list_conflict_resolvers(*, user: AuthUser) -> list[ConflictResolverOut]:
    facilities = await _facilities(user)
    ids = [row["id"] for row in facilities]
    if not ids:
        return []
    designated = await ConflictResolver.select(
        ConflictResolver.facility, ConflictResolver.designated_at
    ).where(ConflictResolver.facility.is_in(ids))
    since = {row["facility"]: row["designated_at"] for row in designated}
    resolvers = await resolvers_of(ids)
    staff: dict[UUID, list[StaffOut]] = {}
    for row in (
        await User.select(User.id, User.username, User.display_name, User.facility)
        .where(
            User.facility.is_in(ids) & (User.role == "clinic") & (User.active == True)  # noqa: E712
        )
        .order_by(User.username)
    ):
        staff.setdefault(row["facility"], []).append(
            StaffOut(user_id=row["id"], username=row["username"], display_name=row["display_name"])
        )
    return [
        ConflictResolverOut(
            facility_id=row["id"],
            facility_name=row["name"],
            resolver=resolvers.get(row["id"]),
            designated_at=since.get(row["id"]),
            staff=staff.get(row["id"], []),
        )
        for row in facilities
    ]


async def set_conflict_resolver(
    *, user: AuthUser, facility_id: UUID, user_id: UUID | None
) -> ConflictResolverOut:
    """Designate ``user_id`` (an active clinic account of the facility) or, with ``None``, nobody."""
    ensure_role(user, "office", "admin")
    facility = await Facility.select(Facility.id, Facility.region).where(Facility.id == facility_id).first()
    regions = await visible_region_ids(user)
    if facility is None or (regions is not None and facility["region"] not in regions):
        raise NotFound(f"facility {facility_id} does not exist", code="facility_not_found")
    if user_id is not None:
        staff = await User.exists().where(
            (User.id == user_id)
            & (User.facility == facility_id)
            & (User.role == "clinic")
            & (User.active == True)  # noqa: E712
        )
        if not staff:
            raise RuleRefused(
                "the resolver must be an active clinic account of that facility", code="resolver_not_staff"
            )
    async with write_tx():
        await ConflictResolver.delete().where(ConflictResolver.facility == facility_id)
        if user_id is not None:
            await ConflictResolver(
                id=uuid4(),
                facility=facility_id,
                user=user_id,
                designated_by=user.id,
                designated_at=datetime.now(UTC),
            ).save()
        await record(
            user_id=str(user.id),
            action="designate_resolver",
            entity=f"facility/{facility_id}",
            details={"resolver": None if user_id is None else str(user_id)},
        )
    return next(r for r in await list_conflict_resolvers(user=user) if r.facility_id == facility_id)
