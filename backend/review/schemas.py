"""Wire shapes of conclusions and the discrepancy view (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.standards.schemas import Answer, Conclusion

Difference = Literal["same", "higher", "lower", "missing", "not_comparable"]


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class FiguresUsed(_Out):
    """The facility figures given to tier eligibility; None = unknown (0 in the registry counts as unknown)."""

    medical_staff_count: int | None
    service_population: int | None


class ComputedFrom(_Out):
    inspection_version: int
    inspection_status: str
    answer_count: int
    prerequisite_count: int
    open_conflicts: int
    # item codes whose current value is provisional because of an open conflict
    conflicted_items: list[str]
    facility: FiguresUsed


class IncompleteSubmissionOut(_Out):
    """The office's explicit "submit incomplete": who, when, why, and what was missing then."""

    id: UUID
    inspection_id: UUID
    reason: str
    missing: str
    submitted_by: UUID
    submitted_by_name: str
    submitted_at: datetime


class SubmitIncompleteRequest(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    # why the office submits what is not complete (audited; shown with the conclusion)
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ConclusionView(_Out):
    """A conclusion computed now from the inspection's current answers (nothing stored)."""

    inspection_id: UUID
    facility_id: UUID
    round_id: UUID
    stage: str
    standard_id: str
    provisional: bool
    provisional_reason: str | None
    computed_at: datetime
    computed_from: ComputedFrom
    conclusion: Conclusion
    # set when the inspection's current submit is the office's "submit incomplete" (no tier sign-off then)
    submitted_incomplete: IncompleteSubmissionOut | None = None


class StoredConclusion(_Out):
    """A confirmed (signed-off) preliminary conclusion."""

    id: UUID
    inspection_id: UUID
    facility_id: UUID
    round_id: UUID
    stage: str
    standard_id: str
    status: str
    tier: str | None
    tier_label: str | None
    verification: str
    computed_from_version: int
    answer_count: int
    confirmed_by: UUID
    confirmed_by_name: str
    confirmed_at: datetime
    explanation: Conclusion


class StageRef(_Out):
    stage: str
    inspection_id: UUID
    status: str
    standard_id: str
    version: int
    open_conflicts: int
    # the conclusion computed now from that inspection's answers
    conclusion_status: str | None
    tier: str | None
    # why no conclusion could be computed (answers that do not fit the standard, unknown standard)
    conclusion_error: str | None


class StageCell(_Out):
    stage: str
    value: Answer | None
    difference: Difference  # this stage compared with the self-assessment
    # grade ranks (or points) apart from the self-assessment, null when not comparable; wide: it stands out
    gap: float | None
    wide: bool
    conflicted: bool


class ArticleRow(_Out):
    item: str
    title: str
    kind: str  # basic | recommended | article | prerequisite | veto
    self_value: Answer | None
    self_conflicted: bool
    stages: list[StageCell]


class StageSummary(_Out):
    stage: str
    same: int
    higher: int
    lower: int
    missing: int
    not_comparable: int


class DiscrepancyView(_Out):
    facility_id: UUID
    round_id: UUID
    self_assessment: StageRef | None
    reviews: list[StageRef]
    items: list[ArticleRow]
    summary: list[StageSummary]
