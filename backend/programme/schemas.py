"""Wire shapes of samples, returns and opinions (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.standards.schemas import Answer
from backend.vocabulary import Message

Opinion = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class _In(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    pass


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class DrawSampleRequest(_In):
    level: Literal["city", "province"]
    tier: Annotated[str, msgspec.Meta(min_length=1, max_length=30)] = "basic"
    # the region drawn over (admin only; an office draws over its own region)
    region_id: UUID | None = None
    # given to reproduce a draw; otherwise a random one is made and recorded
    seed: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class DrawnFacility(_Out):
    facility_id: UUID
    name: str
    drawn: bool


class StratumOut(_Out):
    county_id: UUID
    county_name: str
    pool_size: int
    drawn_count: int
    facilities: list[DrawnFacility]
    why: str  # English, for logs and API clients; people read ``message``
    message: Message


class SampleOut(_Out):
    id: UUID
    round_id: UUID
    level: str
    region_id: UUID
    tier: str
    ratio: float
    seed: str
    pool_size: int
    drawn_count: int
    strata: list[StratumOut]
    in_use: bool
    drawn_by: UUID
    drawn_at: datetime
    explanation: str  # English, for logs and API clients; people read ``explanation_message``
    explanation_message: Message


class ReturnRequest(_In):
    opinion: Opinion


class OpinionOut(_Out):
    id: UUID
    # the two kinds of return, named apart: the application's (退回申请: the application sent back) and the
    # review's (复核意见: a review stage's written opinion, with the inspection; a removal (剔除) is one)
    kind: Literal["application", "review"]
    # the return took the facility off the round's list (剔除 / 未上报): its re-apply interval runs from it
    removal: bool
    facility_id: UUID
    round_id: UUID
    application_id: UUID | None
    inspection_id: UUID | None
    stage: str | None
    opinion: str
    returned_by_name: str
    returned_at: datetime


class PlaceOut(_Out):
    scope: str  # county | city | province
    region_id: UUID
    region_name: str
    rank: int
    tied: int
    of: int
    explanation: str  # English, for logs and API clients; people read ``explanation_message``
    explanation_message: Message


class ArticleRankOut(_Out):
    item: str
    title: str
    section: str
    value: Answer | None
    places: list[PlaceOut]


class FacilityRankingOut(_Out):
    facility_id: UUID
    round_id: UUID
    stage: str
    standard_id: str
    rule: str
    articles: list[ArticleRankOut]


class SectionRate(_Out):
    standard_id: str
    section: str
    title: str
    compared: int
    differing: int
    higher: int
    lower: int
    # a review two grades or more away from the self-assessment
    wide_gaps: int
    rate: float | None


class DiscrepancyRatesOut(_Out):
    round_id: UUID
    stage: str
    facilities: int
    sections: list[SectionRate]


class QueuedNote(_Out):
    text: str
    author_name: str


class QueuedPhoto(_Out):
    photo_id: UUID
    caption: str
    by_name: str
    # its thumbnail is made (GET /api/photos/{id}/thumb answers)
    thumb_ready: bool


class QueuedConflict(_Out):
    id: UUID
    item_code: str
    field: str
    version: int
    # every candidate: value, userId, clientId, hlc (the device's time), mutationId, userName and deviceName
    # ("" when the device gave itself no name)
    candidates: list[dict[str, object]]
    created_at: datetime
    article_title: str = ""
    # what both sides wrote and photographed for that article, to decide on
    notes: list[QueuedNote] = msgspec.field(default_factory=list)
    photos: list[QueuedPhoto] = msgspec.field(default_factory=list)


class ConflictGroup(_Out):
    """Open conflicts of one inspection in one top-level section of its standard."""

    inspection_id: UUID
    facility_id: UUID
    facility_name: str
    stage: str
    section: str
    section_title: str
    conflicts: list[QueuedConflict]


class CountyTiers(_Out):
    county_id: UUID
    county_name: str
    # tier code (or status: not_evaluated, undetermined) → facilities, from each facility's latest sign-off
    tiers: dict[str, int]


class DeviceOut(_Out):
    client_id: str
    user_id: UUID
    username: str
    last_mutation_id: int
    # the device's last push
    last_sync_at: datetime
    # what it reported with its last push (clientState), once that push was taken; null if it never did
    app_version: str | None = None
    queued_mutations: int | None = None
    queued_photos: int | None = None
    queued_bytes: int | None = None
    # what the device is called: a name given on it, or its model (clientState.deviceName)
    device_name: str | None = None


class DashboardOut(_Out):
    round_id: UUID
    facilities: int
    # stage → status → inspections
    inspections: dict[str, dict[str, int]]
    # tier → status → applications
    applications: dict[str, dict[str, int]]
    photos_expected: int
    photos_to_arrive: int
    open_conflicts: int
    tiers_by_county: list[CountyTiers]
    devices: list[DeviceOut]


class ResolveConflictRequest(_In):
    # the chosen value (one candidate's, or the office's own), as a setAnswer would carry it
    value: str | bool | int | float | None
    # the conflict version the office saw in the queue: a conflict that changed since is not overwritten
    base_version: int
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ResolvedConflictOut(_Out):
    conflict_id: UUID
    inspection_id: UUID
    status: str  # resolved
    version: int
    reason: str
