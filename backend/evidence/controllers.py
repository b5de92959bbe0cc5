"""HTTP for the review office's evidence flags: the list per round and a person's review of a flag."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.evidence import office
from backend.evidence.rules import FlagCode
from backend.evidence.schemas import FlagReview, OfficeFlagList, ReviewFlagRequest
from backend.guards import AuthUser, current_user, requires_role

AuthRequest = Request[AuthUser, str, State]


class EvidenceController(Controller):
    path = "/api/evidence"
    tags = ["evidence"]
    guards = [requires_role("admin", "office")]

    @get("/rounds/{round_id:uuid}/flags", operation_id="listRoundEvidenceFlags")
    async def list_round_flags(
        self,
        round_id: FromPath[UUID],
        request: AuthRequest,
        region_id: Annotated[UUID | None, QueryParameter(name="regionId")] = None,
        facility_id: Annotated[UUID | None, QueryParameter(name="facilityId")] = None,
        item_code: Annotated[str | None, QueryParameter(name="itemCode")] = None,
        # the five codes, in the schema: any other value is refused when decoded (400)
        code: Annotated[FlagCode | None, QueryParameter(name="code")] = None,
    ) -> OfficeFlagList:
        return await office.list_round_flags(
            user=current_user(request),
            round_id=round_id,
            region_id=region_id,
            facility_id=facility_id,
            item_code=item_code,
            code=code,
        )

    @put("/photos/{photo_id:uuid}/flags/{code:str}/review", operation_id="reviewEvidenceFlag")
    async def review_flag(
        self,
        photo_id: FromPath[UUID],
        code: FromPath[str],
        data: JSONBody[ReviewFlagRequest],
        request: AuthRequest,
    ) -> FlagReview:
        return await office.review_flag(user=current_user(request), photo_id=photo_id, code=code, data=data)
