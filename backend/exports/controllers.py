"""Export jobs and printable reports over HTTP. Guards check the role; services check the scope again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from backend.errors import NotFound
from backend.exports import services
from backend.exports.schemas import ExportJobOut, ExportRequest, PrintableOut
from backend.guards import AuthUser, current_user, requires_role
from backend.openapi_contract import problem_responses
from backend.reports.printable import PrintableParams
from backend.reports.registry import PRINTABLES
from backend.vocabulary import Lang
from media.storage import Storage, content_disposition

AuthRequest = Request[AuthUser, str, State]
Id = Annotated[UUID | None, QueryParameter()]


class ExportController(Controller):
    path = "/api/exports"
    tags = ["exports"]
    guards = [requires_role("admin", "office", "clinic")]

    @post("/", operation_id="startExport", status_code=202)
    async def start(self, data: JSONBody[ExportRequest], request: AuthRequest) -> ExportJobOut:
        """Queue a background export (answers, conclusions, rankings, discrepancies as csv/xlsx of a round;
        facility-report as pdf). Poll ``GET /api/exports/{id}`` and download when ``status`` is ``done``."""
        return await services.start_export(user=current_user(request), data=data)

    @get("/", operation_id="listExports")
    async def list_exports(
        self,
        request: AuthRequest,
        round_id: Annotated[UUID | None, QueryParameter(name="roundId")] = None,
    ) -> list[ExportJobOut]:
        """Exports the caller may see (own, and its region's or facility's), newest first."""
        return await services.list_exports(user=current_user(request), round_id=round_id)

    @get("/{export_id:uuid}", operation_id="getExport")
    async def get_export(self, export_id: FromPath[UUID], request: AuthRequest) -> ExportJobOut:
        """Status (queued, running, done, failed) and progress (0..1) of an export."""
        return await services.get_export(user=current_user(request), export_id=export_id)

    @get(
        "/{export_id:uuid}/file",
        operation_id="downloadExport",
        responses=problem_responses(409),
    )
    async def download(self, export_id: FromPath[UUID], request: AuthRequest, state: State) -> Stream:
        """The finished file (409 ``export_not_ready`` before, ``export_failed`` after a failure)."""
        row = await services.ready_file(user=current_user(request), export_id=export_id)
        storage: Storage = state.storage
        if await storage.stat(row["storage_key"]) is None:
            raise NotFound(
                "the export's file is gone from storage; start it again", code="export_file_missing"
            )
        return Stream(
            _chunks(storage, row["storage_key"]),
            # rows written before held "; charset=utf-8", which Litestar adds itself to text/* types
            media_type=row["content_type"].split(";")[0],
            headers={
                "Content-Disposition": content_disposition(row["filename"], "attachment"),
                "Content-Length": str(row["size"]),
                "Cache-Control": "private, no-store",
            },
        )


async def _chunks(storage: Storage, key: str) -> AsyncIterator[bytes]:
    async for chunk in storage.iter_bytes(key):
        yield chunk


class PrintableController(Controller):
    path = "/api/printables"
    tags = ["exports"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/{kind:str}", operation_id="getPrintable")
    async def get_printable(
        self,
        kind: FromPath[str],
        request: AuthRequest,
        state: State,
        facility_id: Annotated[UUID | None, QueryParameter(name="facilityId")] = None,
        round_id: Annotated[UUID | None, QueryParameter(name="roundId")] = None,
        subject_id: Annotated[UUID | None, QueryParameter(name="subjectId")] = None,
        lang: Annotated[Lang, QueryParameter()] = "zh",
    ) -> PrintableOut:
        """A printable report as an HTML fragment for the app's print page (styles: /static/report.css);
        the same report as PDF: ``POST /api/exports`` with ``format: pdf``."""
        render = PRINTABLES.get(kind)
        if render is None:
            raise NotFound(f"no printable report {kind!r}", code="unknown_report")
        params = PrintableParams(facility_id=facility_id, round_id=round_id, subject_id=subject_id, lang=lang)
        printable = await render(current_user(request), params, state.storage)
        return PrintableOut(
            kind=kind, title=printable.title, filename=printable.filename, html=printable.body
        )


EXPORT_ROUTES: list[Any] = [ExportController, PrintableController]
