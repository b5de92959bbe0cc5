"""The improvement plan over HTTP (read side; the plan is written through sync mutations). Guards check the
role; the services check the scope again."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from backend.guards import AuthUser, current_user, requires_role
from backend.improvement import exports, services
from backend.improvement.schemas import ItemOut, NeedsSupportOut, PlanSummary, TargetsOut
from backend.vocabulary import Lang
from media.storage import content_disposition

AuthRequest = Request[AuthUser, str, State]


class PlanController(Controller):
    path = "/api/improvement/inspections/{inspection_id:uuid}"
    tags = ["improvement"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/targets", operation_id="getImprovementTargets")
    async def get_targets(self, inspection_id: FromPath[UUID], request: AuthRequest) -> TargetsOut:
        """The tier the clinic aims for, each article's target grade and the articles below it (suggested
        items); the app keeps this to offer suggestions offline."""
        return await services.targets(user=current_user(request), inspection_id=inspection_id)

    @get("/items", operation_id="listImprovementItems")
    async def list_items(self, inspection_id: FromPath[UUID], request: AuthRequest) -> list[ItemOut]:
        """A self-assessment's improvement plan, with chapters, current grades, improved and overdue marks."""
        return await services.plan_items(user=current_user(request), inspection_id=inspection_id)


class RoundImprovementController(Controller):
    path = "/api/improvement/rounds/{round_id:uuid}"
    tags = ["improvement"]
    guards = [requires_role("admin", "office")]

    @get("/plans", operation_id="listImprovementPlans")
    async def list_plans(self, round_id: FromPath[UUID], request: AuthRequest) -> list[PlanSummary]:
        """Each clinic's plan in the round: progress per kind, overdue items, items needing support."""
        return await services.plans(user=current_user(request), round_id=round_id)

    @get("/needs-support", operation_id="listNeedsSupport")
    async def list_needs_support(
        self, round_id: FromPath[UUID], request: AuthRequest
    ) -> list[NeedsSupportOut]:
        """Items that need government or departmental support and are not done, across the region."""
        return await services.needs_support(user=current_user(request), round_id=round_id)

    @get("/export", operation_id="exportImprovement", media_type="text/csv")
    async def export(
        self, round_id: FromPath[UUID], request: AuthRequest, lang: FromQuery[Lang] = "zh"
    ) -> Response[bytes]:
        """The round's improvement items as CSV (UTF-8 with BOM), in ``lang`` (Chinese by default)."""
        name, data = await exports.export_csv(user=current_user(request), round_id=round_id, lang=lang)
        return Response(
            data,
            media_type="text/csv",  # Litestar adds "; charset=utf-8"
            headers={"Content-Disposition": content_disposition(name, "attachment")},
        )
