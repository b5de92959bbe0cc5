"""What each role may see: checked by guards first and again here, inside the services."""

from __future__ import annotations

from uuid import UUID

from backend.accounts.schemas import AuthUser
from backend.errors import Forbidden, NotFound
from backend.inspections.tables import Inspection, InspectionMember
from backend.registry.tables import Facility, Region


async def region_subtree(region_id: UUID) -> set[UUID]:
    """The region and every region below it (province -> city -> county)."""
    rows = await Region.select(Region.id, Region.parent)
    children: dict[UUID | None, list[UUID]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row["id"])
    found: set[UUID] = set()
    stack = [region_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


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
    rows = await InspectionMember.select(InspectionMember.inspection.facility.as_alias("facility")).where(
        InspectionMember.user == user.id
    )
    return {row["facility"] for row in rows}


async def visible_region_ids(user: AuthUser) -> set[UUID] | None:
    if user.role == "admin":
        return None
    if user.role == "office" and user.region_id is not None:
        return await region_subtree(user.region_id)
    return set()


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
        rows = await InspectionMember.select(InspectionMember.inspection).where(
            InspectionMember.user == user.id
        )
        return {row["inspection"] for row in rows}
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
