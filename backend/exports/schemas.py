"""Export jobs on the wire (camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from backend.vocabulary import Lang

ExportFormat = Literal["csv", "xlsx", "pdf"]
ExportStatus = Literal["queued", "running", "done", "failed"]


class ExportRequest(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """``kind``: a round export (answers, conclusions, rankings, discrepancies; csv or xlsx, needs roundId) or
    a printable report (facility-report; pdf, needs facilityId and roundId)."""

    kind: str = msgspec.field()
    format: ExportFormat
    round_id: UUID | None = None
    facility_id: UUID | None = None
    subject_id: UUID | None = None
    lang: Lang = "zh"  # the reader's language: column titles, words and the file's name (Chinese by default)


class ExportJobOut(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    kind: str
    format: str
    status: ExportStatus
    progress: float  # 0..1
    progress_note: str
    rows: int
    filename: str
    size: int | None
    error: str | None
    attempts: int
    round_id: UUID | None
    facility_id: UUID | None
    requested_by: UUID
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None  # set once done


class PrintableOut(msgspec.Struct, rename="camel", kw_only=True):
    kind: str
    title: str
    filename: str
    html: str  # escaped fragment styled by /static/report.css
