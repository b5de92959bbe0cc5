"""Wire shapes of the stage calendar, late applications, the programme's targets and expert team draws."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

DeadlineStage = Literal["application", "county", "city", "province"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Seed = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]


class _In(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    pass


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


# ---------------------------------------------------------------------------------------------- calendar


class StageDeadlines(_In):
    """A date per stage, each optional: a Struct rather than a dict keyed by stage, so the API's schema names the
    keys it takes (a free-keyed object let schema-valid requests be refused)."""

    application: date | None = None
    county: date | None = None
    city: date | None = None
    province: date | None = None

    def given(self) -> dict[str, date]:
        return {
            stage: due
            for stage in ("application", "county", "city", "province")
            if (due := getattr(self, stage)) is not None
        }


class SetCalendarRequest(_In):
    """The round's deadlines by stage; ``fromProgramme`` takes the programme's dates in the round's year for the
    stages not given. A stage left out (and not taken from the programme) has no deadline."""

    deadlines: StageDeadlines = msgspec.field(default_factory=StageDeadlines)
    from_programme: bool = False


class PendingFacility(_Out):
    facility_id: UUID
    name: str
    county_name: str


class StageDeadlineOut(_Out):
    stage: DeadlineStage
    # the round's date, or (not set) the date the programme proposes; null when neither has one
    due_on: date | None
    # the end of that day in China (UTC+8), as a UTC instant
    closes_at: datetime | None
    source: Literal["round", "programme", "none"]
    # not_set (the round has no date) | open | due_soon (7 days or less) | overdue (past, work pending) | closed
    state: Literal["not_set", "open", "due_soon", "overdue", "closed"]
    # review stages: facilities to review at this stage, those concluded (signed off), those still pending;
    # the application stage: applications filed (withdrawn ones not counted), of which let in late
    expected: int
    done: int
    pending: int
    # applicants of a sampled tier whose sample at this stage is not drawn yet (not counted above)
    awaiting_sample: int = 0
    late: int = 0
    # the pending facilities (the first 50)
    pending_facilities: list[PendingFacility] = msgspec.field(default_factory=list)


class ProgrammeDeadlineOut(_Out):
    stage: DeadlineStage
    due_on: date
    standard_ids: list[str]


class CalendarOut(_Out):
    round_id: UUID
    year: int
    # whether the round has its own dates (only then is a late application refused)
    set: bool
    stages: list[StageDeadlineOut]
    programme: list[ProgrammeDeadlineOut]
    set_by_name: str | None = None
    set_at: datetime | None = None


class LateApplicationRequest(_In):
    facility_id: UUID
    reason: Reason


class LateApplicationOut(_Out):
    id: UUID
    round_id: UUID
    facility_id: UUID
    facility_name: str
    reason: str
    granted_by_name: str
    granted_at: datetime
    # whether the facility has applied since (an application not withdrawn)
    applied: bool


# ---------------------------------------------------------------------------------------------- targets


class CountyShare(_Out):
    county_id: UUID
    county_name: str
    total: int
    count: int
    share: float | None
    met: bool | None


class TargetOut(_Out):
    standard_id: str
    facility_kinds: list[str]
    measure: Literal["applying", "reaching"]
    tier: str | None
    min_share: float
    source: str | None
    total: int
    count: int
    share: float | None
    met: bool | None
    counties: list[CountyShare]
    # counties below the target (with facilities of that kind)
    counties_below: int


class TargetsOut(_Out):
    round_id: UUID
    targets: list[TargetOut]


# ---------------------------------------------------------------------------------------------- team draws


class DrawTeamRequest(_In):
    # given to reproduce a draw; otherwise a random one is made and recorded
    seed: Seed | None = None
    # the team size; the programme's minimum (made odd when it wants an odd number) by default
    size: Annotated[int, msgspec.Meta(ge=1, le=49)] | None = None


class ExpertBrief(_Out):
    user_id: UUID
    username: str
    display_name: str
    title: str
    # the specialties recorded on the expert's profile (the draw balances the team across them)
    specialties: list[str] = msgspec.field(default_factory=list)
    is_lead: bool = False
    # why the expert was left out of the pool: inactive | recusal | title_unrecognised | title_below_minimum
    reason: str | None = None


class TeamDrawOut(_Out):
    id: UUID
    inspection_id: UUID
    seed: str
    size: int
    min_title: str | None
    pool_size: int
    drawn: list[ExpertBrief]
    excluded: list[ExpertBrief]
    drawn_by_name: str
    drawn_at: datetime
    # the draw made again from its stored pool and seed gives the same team
    reproduced: bool


class RoundTeamOut(_Out):
    inspection_id: UUID
    facility_id: UUID
    facility_name: str
    stage: str
    status: str
    review_mode: str | None
    team: list[ExpertBrief]
    # the programme's minimum title for its experts (null: none)
    min_title: str | None
    last_draw: TeamDrawOut | None
    # the team is the last draw's (false: set by hand since, or never drawn)
    team_is_drawn: bool
