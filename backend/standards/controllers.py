from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from backend.guards import AuthUser, current_user, requires_role
from backend.http_cache import etag_response
from backend.openapi_contract import STANDARD_BODY
from backend.standards import services
from backend.standards.api_schemas import StandardSummary


class StandardController(Controller):
    """Read access for every signed-in role: the app caches the bundle for offline grading."""

    path = "/api/standards"
    tags = ["standards"]
    guards = [requires_role("admin", "office", "inspector", "clinic")]

    @get("/", operation_id="listStandards")
    async def list_standards(self, request: Request[AuthUser, str, State]) -> list[StandardSummary]:
        return await services.list_standards(include_drafts=current_user(request).role == "admin")

    @get("/{standard_id:str}", operation_id="getStandard")
    async def get_standard(
        self,
        standard_id: FromPath[str],
        request: Request[AuthUser, str, State],
    ) -> Response[Any]:
        etag, body = await services.get_bundle(
            standard_id=standard_id, include_drafts=current_user(request).role == "admin"
        )
        return etag_response(request, etag, body)


class StandardAdminController(Controller):
    path = "/api/admin/standards"
    tags = ["admin", "standards"]
    guards = [requires_role("admin")]

    @post("/", operation_id="importStandard", status_code=201, operation_class=STANDARD_BODY)
    async def import_standard(
        self, request: Request[AuthUser, str, State], publish: FromQuery[bool] = False
    ) -> StandardSummary:
        """The body is a standard file (JSON); refusals list every problem with its JSON path."""
        standard = services.parse_or_422(await request.body())
        return await services.save_standard(
            standard=standard, actor_id=str(current_user(request).id), publish=publish
        )

    @post("/{standard_id:str}/publish", operation_id="publishStandard", status_code=200)
    async def publish(
        self, standard_id: FromPath[str], request: Request[AuthUser, str, State]
    ) -> StandardSummary:
        return await services.publish_standard(
            standard_id=standard_id, actor_id=str(current_user(request).id)
        )
