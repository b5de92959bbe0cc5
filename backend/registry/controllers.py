"""Registry HTTP: regions and facilities. Reads are scoped; writes are admin-only."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from backend.errors import BadRequest
from backend.guards import AuthUser, current_user, requires_role
from backend.hooks import hooks_of
from backend.registry import coordinates, services
from backend.registry.schemas import (
    CoordinatesImported,
    CreateFacilityRequest,
    CreateRegionRequest,
    FacilityOut,
    RegionOut,
    UpdateFacilityRequest,
    UpdateRegionRequest,
)

AuthRequest = Request[AuthUser, str, State]


class RegionController(Controller):
    path = "/api/regions"
    tags = ["registry"]
    guards = [requires_role("admin", "office")]

    @get("/", operation_id="listRegions")
    async def list_regions(self, request: AuthRequest) -> list[RegionOut]:
        return await services.list_regions(user=current_user(request))

    @get("/{region_id:uuid}", operation_id="getRegion")
    async def get_region(self, region_id: FromPath[UUID], request: AuthRequest) -> RegionOut:
        return await services.get_region(user=current_user(request), region_id=region_id)


class RegionAdminController(Controller):
    path = "/api/admin/regions"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @post("/", operation_id="createRegion")
    async def create_region(self, data: JSONBody[CreateRegionRequest], request: AuthRequest) -> RegionOut:
        return await services.create_region(user=current_user(request), data=data)

    @patch("/{region_id:uuid}", operation_id="updateRegion")
    async def update_region(
        self, region_id: FromPath[UUID], data: JSONBody[UpdateRegionRequest], request: AuthRequest
    ) -> RegionOut:
        return await services.update_region(user=current_user(request), region_id=region_id, data=data)


class FacilityController(Controller):
    path = "/api/facilities"
    tags = ["registry"]
    guards = [requires_role("admin", "office", "inspector", "clinic")]

    @get("/", operation_id="listFacilities")
    async def list_facilities(
        self,
        request: AuthRequest,
        region_id: Annotated[UUID | None, QueryParameter(name="regionId")] = None,
        include_inactive: Annotated[bool, QueryParameter(name="includeInactive")] = False,
    ) -> list[FacilityOut]:
        return await services.list_facilities(
            user=current_user(request),
            hooks=hooks_of(request),
            region_id=region_id,
            include_inactive=include_inactive,
        )

    @get("/{facility_id:uuid}", operation_id="getFacility")
    async def get_facility(self, facility_id: FromPath[UUID], request: AuthRequest) -> FacilityOut:
        return await services.get_facility(
            user=current_user(request), facility_id=facility_id, hooks=hooks_of(request)
        )


class FacilityAdminController(Controller):
    path = "/api/admin/facilities"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @post("/", operation_id="createFacility")
    async def create_facility(
        self, data: JSONBody[CreateFacilityRequest], request: AuthRequest
    ) -> FacilityOut:
        return await services.create_facility(user=current_user(request), data=data)

    @patch("/{facility_id:uuid}", operation_id="updateFacility")
    async def update_facility(
        self, facility_id: FromPath[UUID], data: JSONBody[UpdateFacilityRequest], request: AuthRequest
    ) -> FacilityOut:
        return await services.update_facility(
            user=current_user(request), facility_id=facility_id, data=data, hooks=hooks_of(request)
        )

    @post(
        "/coordinates",
        operation_id="importFacilityCoordinates",
        status_code=HTTP_200_OK,
        description="CSV (text/csv body) with a header naming licenceNumber or facilityId, latitude and "
        "longitude; every row is checked first and any bad row rejects the whole import (422, problems by "
        "line).",
    )
    async def import_coordinates(self, request: AuthRequest) -> CoordinatesImported:
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("the CSV must be UTF-8 text", code="bad_encoding") from exc
        return await coordinates.import_coordinates(
            user=current_user(request), text=text, hooks=hooks_of(request)
        )
