"""Samples, returns and opinions over HTTP. Guards check the role; services check the scope again."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.accounts.auth import current_user, requires_role
from backend.accounts.schemas import AuthUser
from backend.programme import returns, samples
from backend.programme.schemas import DrawSampleRequest, OpinionOut, ReturnRequest, SampleOut

AuthRequest = Request[AuthUser, str, State]


class SampleController(Controller):
    path = "/api/rounds/{round_id:uuid}/samples"
    tags = ["programme"]
    guards = [requires_role("admin", "office")]

    @get("/", operation_id="listSamples")
    async def list_samples(self, round_id: FromPath[UUID], request: AuthRequest) -> list[SampleOut]:
        return await samples.list_samples(user=current_user(request), round_id=round_id)

    @post("/", operation_id="drawSample", status_code=201)
    async def draw_sample(
        self, round_id: FromPath[UUID], data: JSONBody[DrawSampleRequest], request: AuthRequest
    ) -> SampleOut:
        """Draw (or, before any drawn facility's review exists, re-draw) a stage's sample over a region."""
        return await samples.draw_sample(user=current_user(request), round_id=round_id, data=data)


class ReturnController(Controller):
    path = "/api/inspections/{inspection_id:uuid}/return"
    tags = ["programme"]
    guards = [requires_role("admin", "office")]

    @post("/", operation_id="returnInspection", status_code=201)
    async def return_inspection(
        self, inspection_id: FromPath[UUID], data: JSONBody[ReturnRequest], request: AuthRequest
    ) -> OpinionOut:
        """Return a submitted inspection with a written opinion (it reaches the clinic)."""
        return await returns.return_inspection(
            user=current_user(request), inspection_id=inspection_id, data=data
        )


class OpinionController(Controller):
    path = "/api/facilities/{facility_id:uuid}/opinions"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="listFacilityOpinions")
    async def list_opinions(
        self,
        facility_id: FromPath[UUID],
        request: AuthRequest,
        round_id: Annotated[UUID | None, QueryParameter(name="roundId")] = None,
    ) -> list[OpinionOut]:
        """Written opinions returned to a facility (applications and inspections), oldest first."""
        return await returns.list_opinions(
            user=current_user(request), facility_id=facility_id, round_id=round_id
        )
