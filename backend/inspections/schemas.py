"""Wire shapes of rounds, applications and inspections (camelCase on the wire)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args
from uuid import UUID

import msgspec

from backend.accounts.schemas import StaffOut

Stage = Literal["self", "county", "city", "province"]
# the one stage list, in order: the self-assessment, then the review stages (every area imports these)
STAGES: tuple[str, ...] = get_args(Stage)
REVIEW_STAGES: tuple[str, ...] = STAGES[1:]
STAGE_ORDER: dict[str, int] = {stage: n for n, stage in enumerate(STAGES)}
InspectionStatus = Literal["draft", "in_progress", "submitted", "returned", "accepted"]
# 基层行 tiers; "demonstration" is the MCH programme's title (backend/programme/kind_data/)
Tier = Literal["basic", "recommended", "qualified", "demonstration"]
ApplicationStatus = Literal["applied", "withdrawn", "accepted", "returned"]

LongName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]
StandardVersionId = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Admin bodies refuse unknown fields: a misspelt field must not be silently ignored."""


class RoundOut(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    name: str
    year: int
    region_id: UUID | None
    starts_on: date | None
    ends_on: date | None
    created_at: datetime


class CreateRoundRequest(CamelStruct):
    name: LongName
    year: Year
    region_id: UUID | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class UpdateRoundRequest(CamelStruct):
    name: LongName | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class ApplicationOut(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    facility_id: UUID
    round_id: UUID
    tier: Tier
    status: ApplicationStatus
    created_at: datetime
    decided_at: datetime | None


class CreateApplicationRequest(CamelStruct):
    facility_id: UUID
    round_id: UUID
    tier: Tier


class UpdateApplicationRequest(CamelStruct):
    status: Literal["withdrawn", "accepted", "returned"]
    # required with "returned": the written opinion the clinic reads
    opinion: Annotated[str, msgspec.Meta(max_length=4000)] | None = None


class TeamMemberOut(msgspec.Struct, rename="camel", kw_only=True):
    user_id: UUID
    username: str
    display_name: str
    is_lead: bool


class InspectionOut(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    facility_id: UUID
    facility_name: str
    round_id: UUID
    stage: Stage
    standard_version_id: str
    status: InspectionStatus
    version: int
    created_at: datetime
    submitted_at: datetime | None
    # onsite (现场复核) | desk (资料复核); null for a self-assessment
    review_mode: Literal["onsite", "desk"] | None = None


class InspectionDetail(InspectionOut, kw_only=True):
    team: list[TeamMemberOut]


class CreateInspectionRequest(CamelStruct):
    facility_id: UUID
    round_id: UUID
    stage: Stage
    standard_version_id: StandardVersionId
    # a review stage's way: onsite (现场复核, the default) or desk (资料复核); refused where the programme
    # requires the applicant's tier on site (409 onsite_required)
    review_mode: Literal["onsite", "desk"] | None = None


class UpdateInspectionRequest(CamelStruct):
    standard_version_id: StandardVersionId | None = None


class SetTeamRequest(CamelStruct):
    members: Annotated[list[UUID], msgspec.Meta(max_length=50)]
    lead_id: UUID | None = None


class AssignmentOut(msgspec.Struct, rename="camel", kw_only=True):
    """One inspection as the app lists it: who, where, which standard, and how far it has come."""

    inspection_id: UUID
    facility_id: UUID
    facility_name: str
    region_name: str
    round_id: UUID
    round_name: str
    stage: Stage
    status: InspectionStatus
    standard_version_id: str
    standard_name: str
    version: int
    is_lead: bool
    # articles of the standard, articles answered (a value or N/A), photos linked (not removed)
    article_count: int
    answered_count: int
    photo_count: int
    submitted_at: datetime | None
    # names for the app to show who wrote a conflicting candidate
    team: list[TeamMemberOut]
    # a self-assessment: the staff member its facility designated to resolve its conflicts (None: any of its
    # clinic accounts may)
    resolver: StaffOut | None = None
