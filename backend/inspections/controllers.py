from __future__ import annotations

from typing import Any

from litestar import Controller, get

from backend.accounts.auth import requires_role
from backend.inspections.tables import Inspection, Round


class RoundAdminController(Controller):
    path = "/api/admin/rounds"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @get("/", operation_id="listRounds")
    async def list_rounds(self) -> list[dict[str, Any]]:
        return await Round.select()


class InspectionAdminController(Controller):
    path = "/api/admin/inspections"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @get("/", operation_id="listInspections")
    async def list_inspections(self) -> list[dict[str, Any]]:
        return await Inspection.select()
