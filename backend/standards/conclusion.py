"""The conclusion a standard produces (the engine's output), as msgspec Structs.

Wire names are camelCase, like the standard's (backend/standards/schemas.py). Stored conclusions decode into
them (review, sign-off). See docs/standards.md.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from msgspec import Struct

from backend.standards.schemas import Answer, ScoringMode, Verification
from backend.vocabulary import Message

ConclusionStatus: TypeAlias = Literal["not_evaluated", "incomplete", "undetermined", "determined"]


class _Out(Struct, rename="camel", frozen=True, kw_only=True):
    """Base of the engine's output."""


class PrerequisiteResult(_Out, frozen=True):
    id: str
    text: str
    outcome: Literal["passed", "failed", "missing"]


class RuleResult(_Out, frozen=True):
    figure: str
    op: str
    value: float
    actual: float | None
    holds: bool | None  # None: the figure is not known


class ArticleMark(_Out, frozen=True):
    """An article that pulled a condition down, with what it got ("D", 12.5, False, …)."""

    number: str
    value: Answer


class ConditionResult(_Out, frozen=True):
    scope: str
    grade_at_least: str | None
    required_ratio: float | None
    actual_ratio: float | None
    numerator: float
    denominator: float
    outcome: Literal["met", "not_met", "unknown"]
    pulled_down: tuple[ArticleMark, ...]
    reason: str  # English, for logs and API clients; people read ``message``
    message: Message | None = None


class TierResult(_Out, frozen=True):
    code: str
    label: str
    outcome: Literal["reached", "not_reached", "ineligible", "undecidable"]
    reason: str
    eligibility: tuple[RuleResult, ...]
    conditions: tuple[ConditionResult, ...]
    message: Message | None = None


class SectionTotal(_Out, frozen=True):
    code: str
    title: str
    points: float
    max_points: float


class IndicatorResult(_Out, frozen=True):
    number: str
    title: str
    measured: float
    op: str
    target: float  # the target scored against: the subject's own where it set one, else the national value
    met: bool
    points: float
    max_points: float
    national: float | None = None  # the standard's (national) target value
    target_source: Literal["national", "own"] = "national"  # which target ``target`` is


class VetoResult(_Out, frozen=True):
    id: str
    text: str
    outcome: Literal["passed", "failed", "missing"]


class RaterResult(_Out, frozen=True):
    code: str
    label: str
    group: str
    weight: float
    score: float  # on the standard's scale
    contribution: float  # weight × score


class ScoreSummary(_Out, frozen=True):
    """Mode-specific totals; fields that do not apply to the mode stay empty."""

    mode: ScoringMode
    points: float | None = None
    max_points: float | None = None
    sections: tuple[SectionTotal, ...] = ()
    indicators: tuple[IndicatorResult, ...] = ()
    vetoes: tuple[VetoResult, ...] = ()
    passed: int | None = None
    applicable: int | None = None
    critical_failed: tuple[str, ...] = ()
    raters: tuple[RaterResult, ...] = ()
    combined_score: float | None = None


class TierStanding(_Out, frozen=True):
    """What is known of one tier: reached, not reached, or undetermined (and why)."""

    code: str
    label: str
    standing: Literal["reached", "not_reached", "undetermined"]
    reason: str
    message: Message | None = None


class Conclusion(_Out, frozen=True):
    standard_id: str
    status: ConclusionStatus
    tier: str | None
    tier_label: str | None
    reasons: tuple[str, ...]
    verification: Verification  # "illustrative" when any rule or article it rests on is not verified
    prerequisites: tuple[PrerequisiteResult, ...] = ()
    missing: tuple[str, ...] = ()
    tiers: tuple[TierResult, ...] = ()
    score: ScoreSummary | None = None
    # What is known, tier by tier, and the highest tier that is certain (the result is at least that tier);
    # ``known`` says it in one sentence, e.g. "at least 合格标准 (qualified); 推荐标准 … undetermined: …".
    standings: tuple[TierStanding, ...] = ()
    highest_certain: str | None = None
    highest_certain_label: str | None = None
    known: str = ""
    # ``known`` as a person reads it, in their language (backend/vocabulary.py; None on older stored ones)
    known_message: Message | None = None
