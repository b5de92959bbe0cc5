from __future__ import annotations

from typing import Any

from litestar import Controller, get

from backend.accounts.auth import requires_role
from backend.registry.tables import ExpertProfile, Facility, Region


class RegionController(Controller):
    path = "/api/regions"
    tags = ["registry"]
    guards = [requires_role("admin", "office")]

    @get("/", operation_id="listRegions")
    async def list_regions(self) -> list[dict[str, Any]]:
        return await Region.select()


class FacilityController(Controller):
    path = "/api/facilities"
    tags = ["registry"]
    guards = [requires_role("admin", "office")]

    @get("/", operation_id="listFacilities")
    async def list_facilities(self) -> list[dict[str, Any]]:
        return await Facility.select()


class ExpertAdminController(Controller):
    path = "/api/admin/experts"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @get("/", operation_id="listExperts")
    async def list_experts(self) -> list[dict[str, Any]]:
        return await ExpertProfile.select()
