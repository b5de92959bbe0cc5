"""Which regions a caller sees (an office: its region and everything below it; admin: all). Which facilities
and inspections it sees depends on inspection teams too: ``backend/inspections/scope.py``."""

from __future__ import annotations

from uuid import UUID

from backend.guards import AuthUser
from backend.registry.tables import Region


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


async def visible_region_ids(user: AuthUser) -> set[UUID] | None:
    if user.role == "admin":
        return None
    if user.role == "office" and user.region_id is not None:
        return await region_subtree(user.region_id)
    return set()
