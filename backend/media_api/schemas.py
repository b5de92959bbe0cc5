"""Wire shapes of the upload, receipt and photo endpoints (DESIGN §5, camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from backend.vocabulary import Message

PhotoState = Literal["awaiting_upload", "received", "stored", "rejected"]
Variant = Literal["thumb", "preview", "original"]
VARIANTS: tuple[Variant, ...] = ("thumb", "preview", "original")


class CreateUploadRequest(msgspec.Struct, rename="camel", kw_only=True):
    photo_id: UUID
    sha256: str
    size: int
    mime: str = ""


class UploadComplete(msgspec.Struct, rename="camel", kw_only=True):
    status: Literal["complete"] = "complete"


class UploadCreated(msgspec.Struct, rename="camel", kw_only=True):
    upload_url: str
    offset: int
    expires_at: datetime


class EvidenceFlag(msgspec.Struct, rename="camel", kw_only=True):
    """DESIGN §7: informs a person, never rejects. ``relatedPhotoIds`` holds only photos the reader may see."""

    code: Literal["near_duplicate", "far_from_facility", "outside_period", "no_capture_time", "no_location"]
    detail: str  # English, for logs and API clients
    related_photo_ids: list[str]
    # what a person reads (the vocabulary's code and params); None on flags stored before it was kept
    message: Message | None = None


# a photo, or a PDF/DOCX/XLSX ledger attached the same way (addPhoto with a document mime; docs/media.md)
EvidenceKind = Literal["photo", "document"]
NotCounted = Literal["not_received", "no_capture_time", "no_location"]


class ReceiptPhoto(msgspec.Struct, rename="camel", kw_only=True):
    photo_id: UUID
    item_code: str
    requirement_id: str | None
    sha256: str
    size: int
    state: PhotoState
    reason: str | None = None
    # bytes the server already holds of an unfinished upload (awaiting_upload only)
    uploaded_bytes: int | None = None
    capture_time: datetime | None = None
    reused_elsewhere: bool = False
    # why it does not count toward its article's minimum (the standard's requireCaptureTime /
    # requireLocation): not_received (its file is not here yet), no_capture_time, no_location; empty: it counts
    not_counted: list[NotCounted] = msgspec.field(default_factory=list)
    flags: list[EvidenceFlag] = msgspec.field(default_factory=list)
    # its thumbnail and preview are made: GET /api/photos/{id}/thumb answers (every device shows it)
    thumb_ready: bool = False
    kind: EvidenceKind = "photo"
    mime: str = ""
    # a document's format name (PDF, DOCX, XLSX), and whether a page image of it is made (a PDF's first page)
    format: str | None = None
    page_image: bool = True


class ArticleShortfall(msgspec.Struct, rename="camel", kw_only=True):
    item_code: str
    title: str
    required: int
    have: int
    # which minimum: the article's minPhotos or its minDocuments
    evidence: EvidenceKind = "photo"


class Blocker(msgspec.Struct, rename="camel", kw_only=True):
    """Why a submit would be refused now, as the app says it (``sync.readiness.blockers``): a vocabulary code
    (blockerPrereq, blockerVeto, blockerUnanswered, blockerConflict, blockerEvidence, blockerDocuments,
    blockerInvalid), its params (a param may itself be a message: code and params) and the articles it names."""

    code: str
    params: dict[str, str | int | dict[str, Any]]
    links: list[str] = msgspec.field(default_factory=list)


class Receipt(msgspec.Struct, rename="camel", kw_only=True):
    inspection_id: UUID
    standard_id: str
    # the inspection's version the blockers were judged at (the app's pulled version says whether they are
    # current) and what keeps it from being submitted (empty once submitted)
    version: int
    blockers: list[Blocker]
    photos: list[ReceiptPhoto]
    short_articles: list[ArticleShortfall]
    counts: dict[str, int]
    # no photo awaiting upload or rejected, nothing short: the evidence is all on the server
    complete: bool
    # where minimum photos come from; "unavailable" when the inspection's standard cannot be read
    minimums_source: Literal["standard", "unavailable"]


class SignedUrl(msgspec.Struct, rename="camel", kw_only=True):
    url: str
    expires_at: datetime
