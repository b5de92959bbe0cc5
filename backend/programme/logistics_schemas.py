"""Wire shapes of the school logistics programme (camelCase)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Post = Literal["canteen", "shop"]


class _In(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    pass


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class CreateScheduleRequest(_In):
    standard_version_id: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    every_days: Annotated[int, msgspec.Meta(ge=1, le=31)]
    starts_on: date
    ends_on: date
    fix_within_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 3


class VisitOut(_Out):
    inspection_id: UUID
    due_on: date
    status: str
    passed: int
    applicable: int
    critical_failed: list[str]


class ScheduleOut(_Out):
    id: UUID
    facility_id: UUID
    round_id: UUID
    standard_id: str
    every_days: int
    starts_on: date
    ends_on: date
    fix_within_days: int
    visits: list[VisitOut]


class FixOut(_Out):
    id: UUID
    inspection_id: UUID
    article: str
    title: str
    raised_on: date
    due_on: date
    # open | closed; overdue: open past its due day
    status: Literal["open", "closed"]
    overdue: bool
    # a later visit passed the item without a photo: the fix stays open until one shows it
    passed_without_photo: bool
    closing_inspection_id: UUID | None
    closing_photo_id: UUID | None
    closed_on: date | None


class StaffIn(_In):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    post: Post


class StaffOut(_Out):
    id: UUID
    facility_id: UUID
    name: str
    post: Post


class ScoreIn(_In):
    rater: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    rater_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    score: Annotated[float, msgspec.Meta(ge=0, le=100)]


class RaterScoreOut(_Out):
    rater: str
    label: str
    group: str
    weight: float
    score: float | None
    count: int
    contribution: float | None


class AppraisalOut(_Out):
    staff_id: UUID
    name: str
    post: Post
    round_id: UUID
    raters: list[RaterScoreOut]
    # Σ weight × score once every rater has a score, else null with the missing raters named
    combined: float | None
    missing: list[str]
