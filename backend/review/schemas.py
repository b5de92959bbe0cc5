"""Wire shapes of conclusions and the discrepancy view (camelCase on the wire)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.standards.conclusion import Conclusion
from backend.standards.schemas import Answer
from backend.vocabulary import Message

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
    missing: str  # English, for logs and API clients; people read ``missing_message``
    submitted_by: UUID
    submitted_by_name: str
    submitted_at: datetime
    missing_message: Message | None = None  # None on marks older than migration m0022


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
    # what a sign-off would decide now, and who would decide it
    verdict: ProposedVerdict | None = None


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
    # who decided the tier (standard | province | group; null on conclusions signed before this was kept)
    decided_by: str | None = None
    decision_reason: str | None = None
    computed_tier: str | None = None
    overridden: bool = False
    setting: ThresholdRef | None = None
    statement: list[Said] = msgspec.field(default_factory=list)
    # the inspection's version once the sign-off accepted it (a later one: answers changed since)
    signed_version: int | None = None


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


# ---------------------------------------------------------------------------------------------- verdicts

Said = dict[str, object]  # {"code": …, "params": {…}}: said by the app from pwa_static/vocabulary


class ThresholdRef(_Out):
    """The province setting a tier was decided under."""

    id: UUID
    document_no: str
    document_date: date


class SetThresholdsRequest(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    standard_id: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    # tier code → one ratio (or null: left open) per condition of that tier, in the standard's order; each
    # ratio's range (0 to 1) is checked with the other rules (decision.check_thresholds: 422 thresholds_invalid),
    # since Litestar's schema cannot say a bound inside a list in a map
    thresholds: dict[str, list[float | None]]
    document_no: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]  # 文号
    document_date: date
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    # the province (admin only; a province office sets its own)
    region_id: UUID | None = None


class ThresholdSettingOut(_Out):
    id: UUID
    region_id: UUID
    region_name: str
    standard_id: str
    thresholds: dict[str, list[float | None]]
    document_no: str
    document_date: date
    note: str
    set_by: UUID
    set_by_name: str
    set_at: datetime
    # the tiers and conditions of the standard, with the standard's own ratio (null: left open) beside each
    conditions: dict[str, list[dict[str, object]]]


class GroupDecisionIn(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    tier: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    reason: Annotated[str, msgspec.Meta(max_length=4000)] = ""


class ConfirmRequest(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    # the review group's decision: required where the rules leave the tier undetermined (待定), an override
    # (with its reason) where it differs from the rules' tier
    decision: GroupDecisionIn | None = None
    # 书面反馈复核意见: required when the verdict takes the facility off the upward list
    opinion: Annotated[str, msgspec.Meta(max_length=4000)] | None = None


class ProposedVerdict(_Out):
    """What a sign-off would decide now: the source (null: the group must decide), the tier, the statement."""

    decided_by: str | None
    tier: str | None
    tier_label: str | None
    setting: ThresholdRef | None
    # the engine's conclusion with the province's thresholds filled in (null: no province setting)
    provincial: Conclusion | None
    applied_tier: str | None
    carried_tier: str | None
    statement: list[Said]
