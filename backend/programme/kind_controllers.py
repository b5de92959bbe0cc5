"""Programme kinds, subject targets, titles and re-checks over HTTP. Guards check the role; services check the
scope again (``mch.py`` and its ``mch_*`` modules)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.guards import AuthUser, current_user, requires_role
from backend.openapi_contract import problem_responses
from backend.programme import mch, mch_rechecks, mch_targets, mch_titles
from backend.programme.title_schemas import (
    DecideRecheckRequest,
    KindOut,
    NameTitleRequest,
    OpenRecheckRequest,
    PointsSummaryOut,
    RecheckOut,
    SetTargetsRequest,
    TargetOut,
    TitleOut,
)

AuthRequest = Request[AuthUser, str, State]


class ProgrammeKindController(Controller):
    path = "/api/programme-kinds"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "inspector", "clinic")]

    @get("/", operation_id="listProgrammeKinds")
    async def list_kinds(self) -> list[KindOut]:
        """What each programme evaluates, who applies, which stages run, and its published standards."""
        return await mch.list_kinds()


class SubjectTargetController(Controller):
    path = "/api/rounds/{round_id:uuid}/subjects/{facility_id:uuid}/targets"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="listSubjectTargets", responses=problem_responses(409))  # no self-evaluation
    async def list_targets(
        self, round_id: FromPath[UUID], facility_id: FromPath[UUID], request: AuthRequest
    ) -> list[TargetOut]:
        """The indicator articles with the national value, the floor and the subject's own target."""
        return await mch_targets.list_targets(
            user=current_user(request), facility_id=facility_id, round_id=round_id
        )

    @put("/", operation_id="setSubjectTargets")
    async def set_targets(
        self,
        round_id: FromPath[UUID],
        facility_id: FromPath[UUID],
        data: JSONBody[SetTargetsRequest],
        request: AuthRequest,
    ) -> list[TargetOut]:
        """Set the subject's own targets (all or none; never below the national value: 422)."""
        return await mch_targets.set_targets(
            user=current_user(request), facility_id=facility_id, round_id=round_id, data=data
        )


class TitleController(Controller):
    path = "/api"
    tags = ["programme"]
    guards = [requires_role("admin", "office")]

    @post("/rounds/{round_id:uuid}/titles", operation_id="nameTitle", status_code=201)
    async def name_title(
        self, round_id: FromPath[UUID], data: JSONBody[NameTitleRequest], request: AuthRequest
    ) -> TitleOut:
        """Name a county (示范县) on the conclusion that decides it; valid the standard's titleValidYears."""
        return await mch_titles.name_title(user=current_user(request), round_id=round_id, data=data)

    @get("/titles", operation_id="listTitles")
    async def list_titles(
        self,
        request: AuthRequest,
        round_id: Annotated[UUID | None, QueryParameter(name="roundId")] = None,
        facility_id: Annotated[UUID | None, QueryParameter(name="facilityId")] = None,
    ) -> list[TitleOut]:
        """Titles in scope with their state (named, fix_required, revoked, expired) and re-checks."""
        return await mch_titles.list_titles(
            user=current_user(request), round_id=round_id, facility_id=facility_id
        )

    @post("/titles/{title_id:uuid}/rechecks", operation_id="openRecheck", status_code=201)
    async def open_recheck(
        self, title_id: FromPath[UUID], data: JSONBody[OpenRecheckRequest], request: AuthRequest
    ) -> RecheckOut:
        """Open an unannounced re-check: a province review of the named county, without an application."""
        return await mch_rechecks.open_recheck(user=current_user(request), title_id=title_id, data=data)

    @post("/rechecks/{recheck_id:uuid}/decision", operation_id="decideRecheck", status_code=200)
    async def decide_recheck(
        self, recheck_id: FromPath[UUID], data: JSONBody[DecideRecheckRequest], request: AuthRequest
    ) -> TitleOut:
        """Decide a re-check from its signed conclusion: fail → fix deadline; fail while fixing → revoked."""
        return await mch_rechecks.decide_recheck(user=current_user(request), recheck_id=recheck_id, data=data)


class PointsSummaryController(Controller):
    path = "/api/inspections/{inspection_id:uuid}/points-summary"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "clinic", "inspector")]

    @get("/", operation_id="getPointsSummary", responses=problem_responses(409))  # not points-scored
    async def points_summary(self, inspection_id: FromPath[UUID], request: AuthRequest) -> PointsSummaryOut:
        """Veto items and indicator floors (national, the subject's own target, measured) beside the conclusion."""
        return await mch_targets.points_summary(user=current_user(request), inspection_id=inspection_id)


PROGRAMME_KIND_ROUTES = [
    ProgrammeKindController,
    SubjectTargetController,
    TitleController,
    PointsSummaryController,
]
