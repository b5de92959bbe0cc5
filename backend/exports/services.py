"""Starting export jobs, reading their state, and who may see them.

A job is one ``export_job`` row (what to build, for whom, its progress) and one ``media_job`` row of kind
``export`` keyed by its id, written in one transaction: the media workers (in-process or ``fieldcheck worker``)
claim it with a lease and run ``backend.exports.runner``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.exports.schemas import ExportJobOut, ExportRequest
from backend.exports.sources import ROUND_KINDS
from backend.exports.tables import ExportJob
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.scope import ensure_facility_visible
from backend.registry.scope import region_subtree
from backend.registry.tables import Facility
from backend.reports.registry import NEEDS, PRINTABLES, WORKBOOKS
from backend.vocabulary import file_name, say
from media.jobs import enqueue_job

TABLE_FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv",  # Litestar adds "; charset=utf-8" to text/* types
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
JOB_KIND = "export"


async def start_export(*, user: AuthUser, data: ExportRequest) -> ExportJobOut:
    params: dict[str, str] = {}
    if data.kind in ROUND_KINDS:
        ensure_role(user, "admin", "office")
        if data.format not in TABLE_FORMATS:
            raise RuleRefused(f"a round export is csv or xlsx, not {data.format}", code="unsupported_format")
        if data.round_id is None:
            raise RuleRefused("a round export needs roundId", code="missing_parameter")
        round_row = await round_by_id(data.round_id)
        if not await round_visible(user, round_row):
            raise Forbidden("that round is outside your scope", code="out_of_scope")
        filename = file_name(round_row["name"], say(f"export_{data.kind}", data.lang), extension=data.format)
    elif data.kind in PRINTABLES:
        ensure_role(user, "admin", "office", "clinic")
        if data.format != "pdf" and not (data.format == "xlsx" and data.kind in WORKBOOKS):
            raise RuleRefused(f"a report is printed as pdf, not {data.format}", code="unsupported_format")
        missing = [n for n in NEEDS.get(data.kind, ()) if getattr(data, n) is None]
        if missing:
            raise RuleRefused(f"{data.kind} needs {', '.join(missing)}", code="missing_parameter")
        about: list[object] = []
        if data.facility_id is not None:
            await ensure_facility_visible(user, data.facility_id)
            facility = await Facility.select(Facility.name).where(Facility.id == data.facility_id).first()
            about.append(facility["name"] if facility else data.facility_id)
        if data.round_id is not None:
            about.append((await round_by_id(data.round_id))["name"])
        filename = file_name(*about, say(f"export_{data.kind}", data.lang), extension=data.format)
    else:
        known = ", ".join((*ROUND_KINDS, *PRINTABLES))
        raise RuleRefused(f"unknown export {data.kind!r}; one of {known}", code="unknown_export_kind")
    for name in ("round_id", "facility_id", "subject_id"):
        value = getattr(data, name)
        if value is not None:
            params[name] = str(value)
    params["lang"] = data.lang  # the file is written in the language of who asked for it
    job_id = uuid.uuid4()
    async with write_tx():
        await ExportJob.insert(
            ExportJob(
                id=job_id,
                kind=data.kind,
                format=data.format,
                params=params,
                requested_by=user.id,
                scope_region=user.region_id if user.role == "office" else None,
                scope_facility=user.facility_id if user.role == "clinic" else None,
                round_id=data.round_id,
                filename=filename,
                content_type=CONTENT_TYPES[data.format],
            )
        )
        await enqueue_job(JOB_KIND, str(job_id))
        # who took which data out, and when
        await record(
            user_id=str(user.id),
            action="export.start",
            entity=f"export/{job_id}",
            details={"kind": data.kind, "format": data.format, **params},
        )
    return await get_export(user=user, export_id=job_id)


async def _may_see(user: AuthUser, row: dict[str, Any]) -> bool:
    if user.role == "admin" or row["requested_by"] == user.id:
        return True
    if user.role == "office" and user.region_id is not None and row["scope_region"] is not None:
        return bool(row["scope_region"] in await region_subtree(user.region_id))
    if user.role == "clinic" and user.facility_id is not None:
        return bool(row["scope_facility"] == user.facility_id)
    return False


async def export_row(*, user: AuthUser, export_id: UUID) -> dict[str, Any]:
    row = await ExportJob.select().where(ExportJob.id == export_id).first()
    if row is None:
        raise NotFound(f"export {export_id} does not exist", code="export_not_found")
    if not await _may_see(user, row):
        raise Forbidden("that export is outside your scope", code="out_of_scope")
    return row


def job_out(row: dict[str, Any]) -> ExportJobOut:
    params = params_of(row)
    return ExportJobOut(
        id=row["id"],
        kind=row["kind"],
        format=row["format"],
        status=row["status"],
        progress=round(float(row["progress"]), 4),
        progress_note=row["progress_note"],
        rows=row["rows"],
        filename=row["filename"],
        size=row["size"],
        error=row["error"],
        attempts=row["attempts"],
        round_id=UUID(params["round_id"]) if params.get("round_id") else None,
        facility_id=UUID(params["facility_id"]) if params.get("facility_id") else None,
        requested_by=row["requested_by"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        download_url=f"/api/exports/{row['id']}/file" if row["status"] == "done" else None,
    )


def params_of(row: dict[str, Any]) -> dict[str, str]:
    """The job's parameters (a JSON column: text on SQLite, decoded or text on PostgreSQL)."""
    raw = row["params"]
    value = raw if isinstance(raw, dict) else json.loads(raw or "{}")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


async def get_export(*, user: AuthUser, export_id: UUID) -> ExportJobOut:
    return job_out(await export_row(user=user, export_id=export_id))


async def list_exports(
    *, user: AuthUser, round_id: UUID | None = None, limit: int = 50
) -> list[ExportJobOut]:
    """The caller's visible exports, newest first."""
    query = ExportJob.select().order_by(ExportJob.created_at, ascending=False)
    if user.role == "clinic":
        query = query.where(
            (ExportJob.scope_facility == user.facility_id) | (ExportJob.requested_by == user.id)
        )
    elif user.role == "office":
        regions = list(await region_subtree(user.region_id)) if user.region_id else []
        query = query.where(
            ExportJob.scope_region.is_in(regions or [uuid.UUID(int=0)]) | (ExportJob.requested_by == user.id)
        )
    if round_id is not None:
        query = query.where(ExportJob.round_id == round_id)
    return [job_out(row) for row in await query.limit(limit)]


async def ready_file(*, user: AuthUser, export_id: UUID) -> dict[str, Any]:
    """The job row of a finished export the caller may download (409 while it is not ready or failed)."""
    row = await export_row(user=user, export_id=export_id)
    if row["status"] == "failed":
        raise Conflict(f"the export failed: {row['error']}", code="export_failed")
    if row["status"] != "done" or not row["storage_key"]:
        raise Conflict("the export is not ready yet", code="export_not_ready", jobStatus=row["status"])
    return row
