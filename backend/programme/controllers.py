"""Samples, returns and opinions over HTTP. Guards check the role; services check the scope again."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from backend.guards import AuthUser, current_user, requires_role
from backend.inspections.schemas import Stage
from backend.programme import analysis, dashboard, exports, resolve, returns, samples
from backend.programme.schemas import (
    ConflictGroup,
    DashboardOut,
    DiscrepancyRatesOut,
    DrawSampleRequest,
    FacilityRankingOut,
    OpinionOut,
    ResolveConflictRequest,
    ResolvedConflictOut,
    ReturnRequest,
    SampleOut,
)
from backend.vocabulary import Lang
from media.storage import content_disposition

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


ReviewStage = Literal["county", "city", "province"]


class RoundOfficeController(Controller):
    path = "/api/rounds/{round_id:uuid}"
    tags = ["programme"]
    guards = [requires_role("admin", "office")]

    @get("/dashboard", operation_id="getRoundDashboard")
    async def get_dashboard(self, round_id: FromPath[UUID], request: AuthRequest) -> DashboardOut:
        """Inspections by stage and status, applications, photos still to arrive, tiers by county, devices."""
        return await dashboard.dashboard(user=current_user(request), round_id=round_id)

    @get("/conflicts", operation_id="listRoundConflicts")
    async def list_conflicts(self, round_id: FromPath[UUID], request: AuthRequest) -> list[ConflictGroup]:
        """Open conflicts of the round, by inspection and section."""
        return await dashboard.conflict_queue(user=current_user(request), round_id=round_id)

    @get("/exports/{kind:str}", operation_id="exportRound", media_type="text/csv")
    async def export(
        self,
        round_id: FromPath[UUID],
        kind: FromPath[exports.ExportKind],
        request: AuthRequest,
        lang: FromQuery[Lang] = "zh",
    ) -> Stream:
        """The round's conclusions or rankings as CSV (UTF-8 with BOM), streamed; headers and words in
        ``lang`` (Chinese by default), the file named after the round."""
        filename, blocks = await exports.export_csv(
            user=current_user(request), round_id=round_id, kind=kind, lang=lang
        )
        return Stream(
            blocks,
            media_type="text/csv",  # Litestar adds "; charset=utf-8"
            headers={"Content-Disposition": content_disposition(filename, "attachment")},
        )

    @get("/discrepancy-rates", operation_id="getDiscrepancyRates")
    async def discrepancy_rates(
        self, round_id: FromPath[UUID], request: AuthRequest, stage: FromQuery[ReviewStage] = "county"
    ) -> DiscrepancyRatesOut:
        """Per section: how often the stage's review differs from the self-assessment."""
        return await analysis.discrepancy_rates(user=current_user(request), round_id=round_id, stage=stage)


class RankingController(Controller):
    path = "/api/facilities/{facility_id:uuid}/rounds/{round_id:uuid}/rankings"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="getFacilityRankings")
    async def get_rankings(
        self,
        facility_id: FromPath[UUID],
        round_id: FromPath[UUID],
        request: AuthRequest,
        stage: FromQuery[Stage] = "county",
    ) -> FacilityRankingOut:
        """Each article's grade ranked within the facility's county, city and province (ties share a rank)."""
        return await analysis.facility_rankings(
            user=current_user(request), facility_id=facility_id, round_id=round_id, stage=stage
        )


class ConflictResolveController(Controller):
    path = "/api/conflicts/{conflict_id:uuid}/resolve"
    tags = ["programme"]
    guards = [requires_role("admin", "office")]

    @post("/", operation_id="resolveConflict", status_code=200)
    async def resolve_conflict(
        self, conflict_id: FromPath[UUID], data: JSONBody[ResolveConflictRequest], request: AuthRequest
    ) -> ResolvedConflictOut:
        """Resolve an open conflict with the chosen value and a written reason (audited)."""
        return await resolve.resolve_conflict(user=current_user(request), conflict_id=conflict_id, data=data)
