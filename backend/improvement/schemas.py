"""Wire shapes of the improvement plan's read side (camelCase). The plan is written through sync mutations
(docs/improvement.md); these are what the clinic's and the office's screens read over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class Suggestion(_Out):
    item_code: str
    title: str
    section_code: str
    section_title: str
    grade: str
    target: str


class TargetsOut(_Out):
    """What the app needs to offer suggested items offline: each graded article's target grade for the tier
    the clinic aims for, and the grades' ranks (higher is better)."""

    inspection_id: UUID
    facility_id: UUID
    round_id: UUID
    tier: str | None
    tier_label: str | None
    # why this tier: "application" (the clinic applied for it) or "lowest" (no application yet)
    tier_source: str
    targets: dict[str, str]
    ranks: dict[str, int]
    suggestions: list[Suggestion]


class ItemOut(_Out):
    id: UUID
    inspection_id: UUID
    facility_id: UUID
    round_id: UUID
    item_code: str
    requirement_id: str | None
    article_title: str
    section_code: str
    section_title: str
    gap: str
    kind: str
    owner: str
    due_date: str | None
    status: str
    photo_ids: list[str]
    grade_before: Any
    current_grade: Any
    # done, and the article's self-assessed grade is now better than when the item was written (已改进 C→B)
    improved: bool
    overdue: bool
    created_at: datetime
    status_changed_at: datetime | None


class KindProgress(_Out):
    total: int = 0
    done: int = 0


class PlanSummary(_Out):
    facility_id: UUID
    facility_name: str
    county: str
    inspection_id: UUID
    total: int
    done: int
    overdue: int
    needs_support: int
    improved: int
    by_kind: dict[str, KindProgress]


class NeedsSupportOut(_Out):
    facility_id: UUID
    facility_name: str
    county: str
    item: ItemOut
