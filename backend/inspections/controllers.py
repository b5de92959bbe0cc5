"""Rounds, applications and inspections over HTTP. Guards check the role; services check the scope again."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, patch, post, put
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.guards import AuthUser, current_user, requires_role
from backend.hooks import hooks_of
from backend.inspections import applications, assignments, rounds, services
from backend.inspections.schemas import (
    ApplicationOut,
    AssignmentOut,
    CreateApplicationRequest,
    CreateInspectionRequest,
    CreateRoundRequest,
    InspectionDetail,
    InspectionOut,
    RoundOut,
    SetTeamRequest,
    Stage,
    UpdateApplicationRequest,
    UpdateInspectionRequest,
    UpdateRoundRequest,
)

AuthRequest = Request[AuthUser, str, State]
EVERY_ROLE = requires_role("admin", "office", "inspector", "clinic")


class RoundController(Controller):
    path = "/api/rounds"
    tags = ["inspections"]
    guards = [EVERY_ROLE]

    @get("/", operation_id="listRounds")
    async def list_rounds(
        self,
        request: AuthRequest,
        # the same range as a round's year (schemas.Year); unbounded, a huge number overflowed SQLite
        year: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None,
    ) -> list[RoundOut]:
        return await rounds.list_rounds(user=current_user(request), year=year)

    @get("/{round_id:uuid}", operation_id="getRound")
    async def get_round(self, round_id: FromPath[UUID], request: AuthRequest) -> RoundOut:
        return await rounds.get_round(user=current_user(request), round_id=round_id)


class RoundAdminController(Controller):
    path = "/api/admin/rounds"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @post("/", operation_id="createRound")
    async def create_round(self, data: JSONBody[CreateRoundRequest], request: AuthRequest) -> RoundOut:
        return await rounds.create_round(user=current_user(request), data=data)

    @patch("/{round_id:uuid}", operation_id="updateRound")
    async def update_round(
        self, round_id: FromPath[UUID], data: JSONBody[UpdateRoundRequest], request: AuthRequest
    ) -> RoundOut:
        return await rounds.update_round(
            user=current_user(request), round_id=round_id, data=data, hooks=hooks_of(request)
        )


class ApplicationController(Controller):
    path = "/api/applications"
    tags = ["inspections"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="listApplications")
    async def list_applications(
        self,
        request: AuthRequest,
        round_id: Annotated[UUID | None, QueryParameter(name="roundId")] = None,
        facility_id: Annotated[UUID | None, QueryParameter(name="facilityId")] = None,
    ) -> list[ApplicationOut]:
        return await applications.list_applications(
            user=current_user(request), round_id=round_id, facility_id=facility_id
        )

    @post("/", operation_id="createApplication")
    async def create_application(
        self, data: JSONBody[CreateApplicationRequest], request: AuthRequest
    ) -> ApplicationOut:
        return await applications.create_application(
            user=current_user(request), data=data, hooks=hooks_of(request)
        )

    @patch("/{application_id:uuid}", operation_id="updateApplication")
    async def update_application(
        self, application_id: FromPath[UUID], data: JSONBody[UpdateApplicationRequest], request: AuthRequest
    ) -> ApplicationOut:
        return await applications.update_application(
            user=current_user(request), application_id=application_id, data=data, hooks=hooks_of(request)
        )


class InspectionController(Controller):
    path = "/api/inspections"
    tags = ["inspections"]
    guards = [EVERY_ROLE]

    @get("/", operation_id="listInspections")
    async def list_inspections(
        self,
        request: AuthRequest,
        round_id: Annotated[UUID | None, QueryParameter(name="roundId")] = None,
        facility_id: Annotated[UUID | None, QueryParameter(name="facilityId")] = None,
        stage: FromQuery[Stage | None] = None,
    ) -> list[InspectionOut]:
        return await services.list_inspections(
            user=current_user(request), round_id=round_id, facility_id=facility_id, stage=stage
        )

    @get("/{inspection_id:uuid}", operation_id="getInspection")
    async def get_inspection(self, inspection_id: FromPath[UUID], request: AuthRequest) -> InspectionDetail:
        return await services.get_inspection(user=current_user(request), inspection_id=inspection_id)


class AssignmentController(Controller):
    path = "/api/assignments"
    tags = ["inspections"]
    guards = [EVERY_ROLE]

    @get("/", operation_id="listAssignments")
    async def list_assignments(self, request: AuthRequest) -> list[AssignmentOut]:
        """The caller's inspections with facility, round, standard and progress (the app's work list)."""
        return await assignments.list_assignments(user=current_user(request))


class InspectionAdminController(Controller):
    path = "/api/admin/inspections"
    tags = ["admin"]
    guards = [requires_role("admin", "office")]

    @post("/", operation_id="createInspection")
    async def create_inspection(
        self, data: JSONBody[CreateInspectionRequest], request: AuthRequest
    ) -> InspectionDetail:
        return await services.create_inspection(
            user=current_user(request), data=data, hooks=hooks_of(request)
        )

    @patch("/{inspection_id:uuid}", operation_id="updateInspection")
    async def update_inspection(
        self, inspection_id: FromPath[UUID], data: JSONBody[UpdateInspectionRequest], request: AuthRequest
    ) -> InspectionDetail:
        return await services.update_inspection(
            user=current_user(request), inspection_id=inspection_id, data=data, hooks=hooks_of(request)
        )

    @put("/{inspection_id:uuid}/team", operation_id="setInspectionTeam")
    async def set_team(
        self, inspection_id: FromPath[UUID], data: JSONBody[SetTeamRequest], request: AuthRequest
    ) -> InspectionDetail:
        return await services.set_team(user=current_user(request), inspection_id=inspection_id, data=data)
