"""Registry services: regions, facilities and the expert pool.

Who may do what (checked by the controllers' guards and again here):
- regions: admin reads and writes all; an office reads its region and everything below it.
- facilities: admin reads and writes all; an office reads the facilities of its region and below; a clinic
  reads its own facility; an inspector reads the facilities of inspections it is assigned to.
- expert profiles: admin writes; admin and office read (an office assigns teams from the pool).
Nothing here is deleted: a facility is deactivated (``active=false``) so its evidence stays traceable.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.audit.services import changed_fields, record
from backend.db import write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.hooks import Hooks
from backend.registry.schemas import (
    CreateFacilityRequest,
    CreateRegionRequest,
    FacilityOut,
    RegionOut,
    UpdateFacilityRequest,
    UpdateRegionRequest,
)
from backend.registry.scope import region_subtree, visible_region_ids
from backend.registry.tables import Facility, Region

# The level a region's parent must have; a province has none.
PARENT_LEVEL = {"province": None, "city": "province", "county": "city"}


# Regions


def _region_out(row: dict[str, Any]) -> RegionOut:
    return RegionOut(
        id=row["id"], name=row["name"], level=row["level"], parent_id=row["parent"], code=row["code"]
    )


async def list_regions(*, user: AuthUser) -> list[RegionOut]:
    ensure_role(user, "admin", "office")
    visible = await visible_region_ids(user)
    query = Region.select().order_by(Region.code)
    if visible is not None:
        if not visible:
            return []
        query = query.where(Region.id.is_in(list(visible)))
    return [_region_out(row) for row in await query]


async def _region_row(region_id: UUID) -> dict[str, Any]:
    row = await Region.select().where(Region.id == region_id).first()
    if row is None:
        raise NotFound(f"region {region_id} does not exist", code="region_not_found")
    return row


async def get_region(*, user: AuthUser, region_id: UUID) -> RegionOut:
    ensure_role(user, "admin", "office")
    visible = await visible_region_ids(user)
    if visible is not None and region_id not in visible:
        raise Forbidden("that region is outside your scope", code="out_of_scope")
    return _region_out(await _region_row(region_id))


async def _ensure_code_free(code: str, *, except_id: UUID | None = None) -> None:
    query = Region.exists().where(Region.code == code)
    if except_id is not None:
        query = query.where(Region.id != except_id)
    if await query:
        raise Conflict(f"region code {code} is already used", code="duplicate_code")


async def create_region(*, user: AuthUser, data: CreateRegionRequest) -> RegionOut:
    ensure_role(user, "admin")
    wanted_parent = PARENT_LEVEL[data.level]
    if wanted_parent is None and data.parent_id is not None:
        raise RuleRefused("a province has no parent region", code="bad_parent")
    if wanted_parent is not None:
        if data.parent_id is None:
            raise RuleRefused(f"a {data.level} needs parentId (a {wanted_parent})", code="bad_parent")
        parent = await _region_row(data.parent_id)
        if parent["level"] != wanted_parent:
            raise RuleRefused(
                f"a {data.level} must sit under a {wanted_parent}, not a {parent['level']}", code="bad_parent"
            )
    await _ensure_code_free(data.code)
    async with write_tx():
        region = Region(name=data.name.strip(), level=data.level, code=data.code, parent=data.parent_id)
        await region.save()
        await record(
            user_id=str(user.id),
            action="region.create",
            entity=f"region/{region.id}",
            details={"name": region.name, "level": data.level, "code": data.code},
        )
    return _region_out(await _region_row(region.id))


async def update_region(*, user: AuthUser, region_id: UUID, data: UpdateRegionRequest) -> RegionOut:
    ensure_role(user, "admin")
    await _region_row(region_id)
    values: dict[Any, Any] = {}
    if data.name is not None:
        values[Region.name] = data.name.strip()
    if data.code is not None:
        await _ensure_code_free(data.code, except_id=region_id)
        values[Region.code] = data.code
    if values:
        async with write_tx():
            await Region.update(values).where(Region.id == region_id)
            await record(
                user_id=str(user.id),
                action="region.update",
                entity=f"region/{region_id}",
                details={"fields": changed_fields(data)},
            )
    return _region_out(await _region_row(region_id))


# Facilities


def _facility_out(row: dict[str, Any]) -> FacilityOut:
    return FacilityOut(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        licence_number=row["licence_number"],
        licence_category=row["licence_category"],
        registered_first_name=row["registered_first_name"],
        region_id=row["region"],
        medical_staff_count=row["medical_staff_count"],
        service_population=row["service_population"],
        active=row["active"],
        created_at=row["created_at"],
        latitude=row["latitude"],
        longitude=row["longitude"],
    )


async def list_facilities(
    *, user: AuthUser, hooks: Hooks, region_id: UUID | None = None, include_inactive: bool = False
) -> list[FacilityOut]:
    visible = await hooks.visible_facility_ids(user)
    query = Facility.select().order_by(Facility.licence_number)
    if visible is not None:
        if not visible:
            return []
        query = query.where(Facility.id.is_in(list(visible)))
    if region_id is not None:
        # A region filter covers the region and everything below it, within the caller's scope.
        query = query.where(Facility.region.is_in(list(await region_subtree(region_id))))
    if not include_inactive:
        query = query.where(Facility.active == True)  # noqa: E712 - Piccolo builds SQL from ==
    return [_facility_out(row) for row in await query]


async def _facility_row(facility_id: UUID) -> dict[str, Any]:
    row = await Facility.select().where(Facility.id == facility_id).first()
    if row is None:
        raise NotFound(f"facility {facility_id} does not exist", code="facility_not_found")
    return row


async def get_facility(*, user: AuthUser, facility_id: UUID, hooks: Hooks) -> FacilityOut:
    await hooks.ensure_facility_visible(user, facility_id)
    return _facility_out(await _facility_row(facility_id))


async def _ensure_county(region_id: UUID) -> None:
    region = await _region_row(region_id)
    if region["level"] != "county":
        raise RuleRefused(
            f"a facility belongs to a county (县/区), not a {region['level']}", code="facility_region_level"
        )


async def _ensure_licence_free(number: str, *, except_id: UUID | None = None) -> None:
    query = Facility.exists().where(Facility.licence_number == number)
    if except_id is not None:
        query = query.where(Facility.id != except_id)
    if await query:
        raise Conflict(f"licence number {number} is already registered", code="duplicate_licence")


async def create_facility(*, user: AuthUser, data: CreateFacilityRequest) -> FacilityOut:
    ensure_role(user, "admin")
    _ensure_both(data.latitude, data.longitude)
    await _ensure_county(data.region_id)
    await _ensure_licence_free(data.licence_number)
    async with write_tx():
        facility = Facility(
            name=data.name.strip(),
            kind=data.kind,
            licence_number=data.licence_number.strip(),
            licence_category=data.licence_category,
            registered_first_name=data.registered_first_name.strip(),
            region=data.region_id,
            medical_staff_count=data.medical_staff_count,
            service_population=data.service_population,
            latitude=data.latitude,
            longitude=data.longitude,
        )
        await facility.save()
        await record(
            user_id=str(user.id),
            action="facility.create",
            entity=f"facility/{facility.id}",
            details={"name": facility.name, "licenceNumber": facility.licence_number},
        )
    return _facility_out(await _facility_row(facility.id))


async def update_facility(
    *, user: AuthUser, facility_id: UUID, data: UpdateFacilityRequest, hooks: Hooks
) -> FacilityOut:
    ensure_role(user, "admin")
    _ensure_both(data.latitude, data.longitude)
    before = await _facility_row(facility_id)
    if data.region_id is not None:
        await _ensure_county(data.region_id)
    if data.licence_number is not None:
        await _ensure_licence_free(data.licence_number, except_id=facility_id)
    columns = {
        "name": Facility.name,
        "kind": Facility.kind,
        "licence_number": Facility.licence_number,
        "licence_category": Facility.licence_category,
        "registered_first_name": Facility.registered_first_name,
        "region_id": Facility.region,
        "medical_staff_count": Facility.medical_staff_count,
        "service_population": Facility.service_population,
        "active": Facility.active,
        "latitude": Facility.latitude,
        "longitude": Facility.longitude,
    }
    values: dict[Any, Any] = {
        column: getattr(data, field) for field, column in columns.items() if getattr(data, field) is not None
    }
    if values:
        async with write_tx():
            await Facility.update(values).where(Facility.id == facility_id)
            await record(
                user_id=str(user.id),
                action="facility.update",
                entity=f"facility/{facility_id}",
                details={"fields": changed_fields(data)},
            )
    if data.latitude is not None and (data.latitude, data.longitude) != (
        before["latitude"],
        before["longitude"],
    ):
        await hooks.facility_moved(facility_id)  # far_from_facility depends on the coordinates
    return _facility_out(await _facility_row(facility_id))


def _ensure_both(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise RuleRefused("latitude and longitude go together", code="coordinates_incomplete")


async def facility_rows(ids: list[UUID]) -> list[dict[str, Any]]:
    """id, name, kind and region of these facilities (what a pull sends a device; sync.api.PullContext)."""
    if not ids:
        return []
    return await Facility.select(Facility.id, Facility.name, Facility.kind, Facility.region).where(
        Facility.id.is_in(ids)
    )
