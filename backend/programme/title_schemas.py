"""Wire shapes of programme kinds, subject targets, titles and re-checks (camelCase)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.programme.kinds import ProgrammeKind

Reason = Annotated[str, msgspec.Meta(max_length=4000)]
ArticleNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class _In(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    pass


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class KindOut(_Out):
    kind: ProgrammeKind
    # the published standards of this kind on this server
    standard_ids: list[str]


class TargetIn(_In):
    article: ArticleNumber
    target: float


class SetTargetsRequest(_In):
    targets: Annotated[list[TargetIn], msgspec.Meta(max_length=500)]


class TargetOut(_Out):
    article: str
    title: str
    op: str
    national: float
    # the lowest value (for <=: highest) a subject's own target may take
    floor: float
    target: float | None
    unit: str | None


class NameTitleRequest(_In):
    facility_id: UUID
    # required when no threshold of the standard decides (the conclusion is undetermined): the province decides
    reason: Reason | None = None


class RecheckOut(_Out):
    id: UUID
    title_id: UUID
    inspection_id: UUID
    round_id: UUID
    checks: str
    outcome: Literal["open", "passed", "failed"]
    decided_by: str | None
    reason: str
    fix_due_on: date | None
    opened_at: datetime
    decided_at: datetime | None


class TitleOut(_Out):
    id: UUID
    facility_id: UUID
    facility_name: str
    round_id: UUID
    kind: str
    tier: str
    tier_label: str
    standard_id: str
    conclusion_id: UUID
    decided_by: Literal["standard", "province"]
    reason: str
    named_on: date
    valid_until: date
    # named | fix_required | revoked | expired (named or fix_required past valid_until)
    status: str
    fix_due_on: date | None
    revoked_on: date | None
    rechecks: list[RecheckOut]


class OpenRecheckRequest(_In):
    round_id: UUID
    standard_version_id: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None


class DecideRecheckRequest(_In):
    # required only when the conclusion is undetermined (no threshold decides); else it must agree
    outcome: Literal["passed", "failed"] | None = None
    reason: Reason | None = None


class VetoOut(_Out):
    id: str
    text: str
    outcome: Literal["passed", "failed", "missing"]


class FloorOut(_Out):
    article: str
    title: str
    op: str
    measured: float
    national: float
    floor: float
    own_target: float | None
    met_national: bool
    met_own: bool | None
    # the target the conclusion scored this indicator against: the county's own where it set one
    scored_against: Literal["national", "own"]
    points: float
    max_points: float
    mandatory: bool


class PointsSummaryOut(_Out):
    """The veto items and indicator floors of a points-scored inspection, beside its conclusion."""

    inspection_id: UUID
    standard_id: str
    status: str
    tier: str | None
    tier_label: str | None
    points: float | None
    max_points: float | None
    reasons: list[str]
    vetoes: list[VetoOut]
    floors: list[FloorOut]
