"""The school logistics programme over HTTP: schedule, fixes, staff and appraisal. Guards check the role;
services check the scope again (``logistics_schedule.py``, ``logistics_appraisal.py``, ``fixes.py``)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from backend.guards import AuthUser, current_user, requires_role
from backend.openapi_contract import problem_responses
from backend.programme import fixes, logistics_appraisal, logistics_schedule
from backend.programme.logistics_schemas import (
    AppraisalOut,
    CreateScheduleRequest,
    FixOut,
    ScheduleOut,
    ScoreIn,
    StaffIn,
    StaffOut,
)

AuthRequest = Request[AuthUser, str, State]
SCHOOL = "/api/schools/{facility_id:uuid}"


class RoutineController(Controller):
    path = SCHOOL + "/rounds/{round_id:uuid}"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "clinic")]

    @post("/schedule", operation_id="createRoutineSchedule", status_code=201)
    async def create_schedule(
        self,
        facility_id: FromPath[UUID],
        round_id: FromPath[UUID],
        data: JSONBody[CreateScheduleRequest],
        request: AuthRequest,
    ) -> ScheduleOut:
        """Schedule the routine inspections of the term: one school inspection per visit day."""
        return await logistics_schedule.create_schedule(
            user=current_user(request), facility_id=facility_id, round_id=round_id, data=data
        )

    @get("/schedule", operation_id="getRoutineSchedule")
    async def get_schedule(
        self, facility_id: FromPath[UUID], round_id: FromPath[UUID], request: AuthRequest
    ) -> ScheduleOut:
        """The schedule with each visit's status, items passed and critical failures."""
        return await logistics_schedule.get_schedule(
            user=current_user(request), facility_id=facility_id, round_id=round_id
        )

    @get("/fixes", operation_id="listRoutineFixes")
    async def list_fixes(
        self, facility_id: FromPath[UUID], round_id: FromPath[UUID], request: AuthRequest
    ) -> list[FixOut]:
        """Fixes of failed critical items: due day, overdue, closed by a later visit's photo of the fix."""
        return await fixes.list_fixes(user=current_user(request), facility_id=facility_id, round_id=round_id)


class StaffController(Controller):
    path = SCHOOL + "/staff"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="listSchoolStaff")
    async def list_staff(self, facility_id: FromPath[UUID], request: AuthRequest) -> list[StaffOut]:
        return await logistics_appraisal.list_staff(user=current_user(request), facility_id=facility_id)

    @post("/", operation_id="addSchoolStaff", status_code=201)
    async def add_staff(
        self, facility_id: FromPath[UUID], data: JSONBody[StaffIn], request: AuthRequest
    ) -> StaffOut:
        """Register a logistics staff member (post: canteen or shop)."""
        return await logistics_appraisal.add_staff(
            user=current_user(request), facility_id=facility_id, data=data
        )


class AppraisalController(Controller):
    path = "/api/staff/{staff_id:uuid}/rounds/{round_id:uuid}/appraisal"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="getAppraisal", responses=problem_responses(409))  # no appraisal standard
    async def get_appraisal(
        self, staff_id: FromPath[UUID], round_id: FromPath[UUID], request: AuthRequest
    ) -> AppraisalOut:
        """Each rater's score, weight and contribution, and the combined score once every rater has one."""
        return await logistics_appraisal.appraisal(
            user=current_user(request), staff_id=staff_id, round_id=round_id
        )

    @post("/scores", operation_id="recordAppraisalScore", status_code=201)
    async def record_score(
        self,
        staff_id: FromPath[UUID],
        round_id: FromPath[UUID],
        data: JSONBody[ScoreIn],
        request: AuthRequest,
    ) -> AppraisalOut:
        """One rater's score (students, class teachers, end of term); the duty officer's comes from the visits."""
        return await logistics_appraisal.record_score(
            user=current_user(request), staff_id=staff_id, round_id=round_id, data=data
        )


LOGISTICS_ROUTES = [RoutineController, StaffController, AppraisalController]
