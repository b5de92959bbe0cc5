"""Wire shapes of the round's lists, their confirmation, the public results and the clinic's result (camelCase)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.programme.schemas import PlaceOut
from backend.standards.schemas import Answer

ListState = Literal["applied", "reported", "sampled", "confirmed", "removed"]
Said = dict[str, object]


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class _In(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    pass


class ListEntry(_Out):
    """One facility on a round's list (达标名单): where it stands, with the tier applied for and found."""

    facility_id: UUID
    facility_name: str
    licence_number: str
    county_name: str
    city_name: str
    province_name: str
    applied_tier: str | None
    # the self-assessment's own result (its tier, or the highest tier certain), beside the tier applied for
    self_result: str | None
    # stage → tier found by its latest sign-off there (a tier code, not_reached, not_evaluated)
    found: dict[str, str]
    carried_tier: str | None  # the tier it carries on the list (null: off the list)
    state: ListState
    removed_at: str | None  # the stage that took it off (county: not reported)
    removal_opinion: str | None
    # stages that reviewed it (county always; city / province when in full or drawn)
    reviewed_at: list[str]
    confirmation_document: str | None


class RoundListsOut(_Out):
    round_id: UUID
    round_name: str
    entries: list[ListEntry]
    # state → facilities
    counts: dict[str, int]
    confirmations: list[ConfirmationOut]


class ConfirmListRequest(_In):
    # confirmation: the province confirms the list by a document (发文确认); filing: the recommended-tier list
    # filed nationally (备案), after the confirmation
    kind: Literal["confirmation", "filing"]
    document_no: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    document_date: date
    region_id: UUID | None = None  # the province (admin only)


class ConfirmedEntry(_Out):
    facility_id: UUID
    facility_name: str
    tier: str


class ConfirmationOut(_Out):
    id: UUID
    round_id: UUID
    region_id: UUID
    region_name: str
    kind: str
    document_no: str
    document_date: date
    entries: list[ConfirmedEntry]
    confirmed_by_name: str
    confirmed_at: datetime


class PublicEntry(_Out):
    facility_name: str
    county_name: str
    city_name: str
    tier: str
    tier_label: str


class PublicResults(_Out):
    """What anyone may read once the province confirms (主动公开活动流程和结果): confirmed facilities only."""

    round_id: UUID
    round_name: str
    province_name: str | None
    document_no: str | None
    document_date: date | None
    entries: list[PublicEntry]


class ArticleResult(_Out):
    item: str
    title: str
    section: str
    value: Answer | None  # the final grade (the furthest signed stage's)
    places: list[PlaceOut]  # within the programme's rank scopes
    ranked_low: bool


class Suggestion(_Out):
    item: str
    title: str
    value: Answer | None
    # the place that makes it low, e.g. 5 of 6 in the county
    scope: str
    rank: int
    of: int


class ClinicResultOut(_Out):
    """A facility's result at a round, as its clinic reads it: no per-expert grade and no inspector's note."""

    facility_id: UUID
    round_id: UUID
    signed: bool
    stage: str | None  # the furthest stage signed
    applied_tier: str | None
    tier: str | None  # the tier it holds now (on the list), not_reached / not_evaluated, or null
    tier_label: str | None
    state: ListState | None
    decided_by: str | None
    statement: list[Said]
    rank_scopes: list[str]
    articles: list[ArticleResult]
    suggestions: list[Suggestion]
    # the kinds an improvement item may take (programmeSettings.improvementListKinds)
    improvement_kinds: list[str]
