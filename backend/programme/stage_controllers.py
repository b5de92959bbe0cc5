"""The stage calendar, late applications, the programme's targets and expert team draws over HTTP. Guards
check the role; services check the scope again."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from backend.guards import AuthUser, current_user, requires_role
from backend.programme import calendar, stage_progress, team_draw
from backend.programme.stage_schemas import (
    CalendarOut,
    DrawTeamRequest,
    LateApplicationOut,
    LateApplicationRequest,
    RoundTeamOut,
    SetCalendarRequest,
    TargetsOut,
    TeamDrawOut,
)

AuthRequest = Request[AuthUser, str, State]


class RoundStagesController(Controller):
    path = "/api/rounds/{round_id:uuid}"
    tags = ["programme"]
    guards = [requires_role("admin", "office")]

    @get("/calendar", operation_id="getRoundCalendar")
    async def get_calendar(self, round_id: FromPath[UUID], request: AuthRequest) -> CalendarOut:
        """Each stage's deadline (the round's own, or the programme's proposal) with what is due and overdue."""
        return await stage_progress.calendar(user=current_user(request), round_id=round_id)

    @put("/calendar", operation_id="setRoundCalendar")
    async def set_calendar(
        self, round_id: FromPath[UUID], data: JSONBody[SetCalendarRequest], request: AuthRequest
    ) -> CalendarOut:
        """Set the round's deadlines (audited); from the programme's dates and/or the office's own."""
        user = current_user(request)
        await calendar.set_calendar(user=user, round_id=round_id, data=data)
        return await stage_progress.calendar(user=user, round_id=round_id)

    @get("/targets", operation_id="getRoundTargets")
    async def get_targets(self, round_id: FromPath[UUID], request: AuthRequest) -> TargetsOut:
        """The programme's targets per county: shares applying and shares reaching a tier."""
        return await stage_progress.targets(user=current_user(request), round_id=round_id)

    @get("/late-applications", operation_id="listLateApplications")
    async def list_late(self, round_id: FromPath[UUID], request: AuthRequest) -> list[LateApplicationOut]:
        return await calendar.list_late_applications(user=current_user(request), round_id=round_id)

    @post("/late-applications", operation_id="grantLateApplication", status_code=201)
    async def grant_late(
        self, round_id: FromPath[UUID], data: JSONBody[LateApplicationRequest], request: AuthRequest
    ) -> LateApplicationOut:
        """Let a facility apply after the round's application window closed, with a written reason (audited)."""
        return await calendar.grant_late_application(user=current_user(request), round_id=round_id, data=data)

    @get("/teams", operation_id="listRoundTeams")
    async def list_teams(self, round_id: FromPath[UUID], request: AuthRequest) -> list[RoundTeamOut]:
        """The round's review inspections with their review mode, team and latest draw."""
        return await team_draw.round_teams(user=current_user(request), round_id=round_id)


class TeamDrawController(Controller):
    path = "/api/inspections/{inspection_id:uuid}/team-draws"
    tags = ["programme"]
    guards = [requires_role("admin", "office")]

    @get("/", operation_id="listTeamDraws")
    async def list_draws(self, inspection_id: FromPath[UUID], request: AuthRequest) -> list[TeamDrawOut]:
        """The inspection's team draws, newest first, each made again from its seed (``reproduced``)."""
        return await team_draw.list_draws(user=current_user(request), inspection_id=inspection_id)

    @post("/", operation_id="drawTeam", status_code=201)
    async def draw(
        self, inspection_id: FromPath[UUID], data: JSONBody[DrawTeamRequest], request: AuthRequest
    ) -> TeamDrawOut:
        """Draw the inspection's expert team from the pool (抽取专家): seeded, audited, honouring recusal and the
        title gate; the team is replaced by the drawn one (the first drawn leads)."""
        return await team_draw.draw(user=current_user(request), inspection_id=inspection_id, data=data)
