"""The term report as an XLSX workbook over HTTP (its page and PDF go through the printables and exports)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter

from backend.guards import AuthUser, current_user, requires_role
from backend.reports.term import term_xlsx

AuthRequest = Request[AuthUser, str, State]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TermReportController(Controller):
    path = "/api/schools/{facility_id:uuid}/rounds/{round_id:uuid}/term-report.xlsx"
    tags = ["programme"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="getTermReportXlsx", media_type=XLSX)
    async def get_xlsx(
        self,
        facility_id: FromPath[UUID],
        round_id: FromPath[UUID],
        request: AuthRequest,
        subject_id: Annotated[UUID | None, QueryParameter(name="subjectId")] = None,
    ) -> Response[bytes]:
        """Visits, fixes and the staff appraisal of a school's term (one staff member with subjectId)."""
        data = await term_xlsx(
            user=current_user(request), facility_id=facility_id, round_id=round_id, staff_id=subject_id
        )
        name = f"term-report-{subject_id or facility_id}.xlsx"
        return Response(
            data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
