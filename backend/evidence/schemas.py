"""Wire shapes of the review office's evidence flags (camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.evidence.rules import FlagCode
from backend.vocabulary import Message

ReviewStatus = Literal["accepted", "disputed"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ReviewFlagRequest(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """accepted: the flag is right, the evidence is not trusted; disputed: the flag is wrong."""

    status: ReviewStatus
    reason: Reason


class FlagReview(msgspec.Struct, rename="camel", kw_only=True):
    status: ReviewStatus
    reason: str
    reviewed_by: UUID
    reviewed_at: datetime


class FlaggedPhotoRef(msgspec.Struct, rename="camel", kw_only=True):
    """One photo of a flag, with where it is used (shown side by side)."""

    photo_id: UUID
    thumb_url: str
    preview_url: str
    inspection_id: UUID
    stage: str
    facility_id: UUID
    facility_name: str
    region_id: UUID
    item_code: str


class RelatedPhoto(FlaggedPhotoRef, kw_only=True):
    distance: int  # Hamming distance of the perceptual hashes (of 64 bits; 0: the same picture)


class OfficeFlag(msgspec.Struct, rename="camel", kw_only=True):
    code: FlagCode
    detail: str  # English, for logs and API clients; people read ``message``
    message: Message | None
    photo: FlaggedPhotoRef
    # related photos the caller may see; the others are only counted
    related: list[RelatedPhoto]
    related_hidden: int
    review: FlagReview | None


class OfficeFlagList(msgspec.Struct, rename="camel", kw_only=True):
    round_id: UUID
    flags: list[OfficeFlag]
    counts: dict[str, int]  # per code
