"""The standard (checklist template) schema, as msgspec Structs; the conclusion it produces is in
backend/standards/conclusion.py.

Wire names are camelCase (`rename="camel"`); Python attributes are snake_case. Standards are imported
from files written by people, so unknown fields are refused (a typo must not silently drop a rule).
See docs/standards.md for the meaning of every part.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec
from msgspec import Meta, Struct, field

Verification: TypeAlias = Literal["verified", "illustrative"]
ScoringMode: TypeAlias = Literal["graded", "points", "passfail", "weighted"]
ArticleKind: TypeAlias = Literal["basic", "recommended"]
ReviewLevel: TypeAlias = Literal["county", "city", "province", "national"]
FigureName: TypeAlias = Literal["medicalStaffCount", "servicePopulation", "bedCount"]
CompareOp: TypeAlias = Literal["<", "<=", ">", ">=", "=="]

# The answer for one article: a grade code or "NA" (graded), points or a measured indicator value (points),
# True/False or "NA" (pass/fail). Weighted standards take, per rater, either a score or a mapping of these.
Answer: TypeAlias = str | bool | int | float
AnswerValue: TypeAlias = Answer | dict[str, Answer]

NA = "NA"
# Item codes of a weighted standard's checklist answers: "<rater>:<article>" (sync registers, review).
RATER_SEPARATOR = ":"


class _Wire(Struct, rename="camel", frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every standard part: camelCase, immutable, strict about unknown fields."""


# ---------------------------------------------------------------------------------------------- identity


class Jurisdiction(_Wire, frozen=True):
    level: Literal["national", "province", "city", "county", "institution"]
    region: str | None = None  # e.g. a province that overrides the national text


class EvaluationMethod(_Wire, frozen=True):
    code: str
    label: str


class EvidencePolicy(_Wire, frozen=True):
    min_photos: int = 0
    # PDF/DOCX/XLSX ledgers (台账) attached to the article; a document never counts as a photo, nor a photo as
    # a document ("a document instead of a photo": minPhotos 0, minDocuments 1)
    min_documents: int = 0
    docs: tuple[str, ...] = ()
    require_capture_time: bool = False
    require_location: bool = False


# ---------------------------------------------------------------------------------------------- scoring


class Grade(_Wire, frozen=True):
    """An ordinal grade. `cumulativeOf` says this grade includes all of another (A ⊃ B ⊃ C)."""

    code: str
    rank: int
    label: str = ""
    cumulative_of: str | None = None
    meaning: str | None = None


class GradedScoring(_Wire, frozen=True, tag="graded", tag_field="mode"):
    grades: tuple[Grade, ...]


class PointsScoring(_Wire, frozen=True, tag="points", tag_field="mode"):
    total: float  # e.g. 1000 (千分制); section maxima must add up to it


class PassFailScoring(_Wire, frozen=True, tag="passfail", tag_field="mode"):
    pass


class Rater(_Wire, frozen=True):
    code: str
    label: str
    weight: float  # share of the whole result, e.g. 0.4 for the duty officer
    verification: Verification = "illustrative"


class RaterGroup(_Wire, frozen=True):
    code: str
    label: str
    weight: float  # share of the whole; the raters' weights add up to it (0.7 = 0.4 + 0.15 + 0.15)
    raters: tuple[Rater, ...]
    verification: Verification = "illustrative"


class WeightedScoring(_Wire, frozen=True, tag="weighted", tag_field="mode"):
    """Several raters score the same checklist (or give one score each); results combine by weight."""

    groups: tuple[RaterGroup, ...]
    scale: float = 100.0
    item_mode: Literal["passfail", "points"] = "passfail"


Scoring: TypeAlias = GradedScoring | PointsScoring | PassFailScoring | WeightedScoring


# ---------------------------------------------------------------------------------------------- articles


class RequirementItem(_Wire, frozen=True):
    id: str  # "C-1", "B-2", … (prefix is the grade code)
    text: str
    verification: Verification = "illustrative"


class GradeLevel(_Wire, frozen=True):
    grade: str
    label: str = ""
    inherits: str | None = None  # "符合C，并": the items of that grade apply too
    items: tuple[RequirementItem, ...] = ()
    verification: Verification = "illustrative"


class IndicatorTarget(_Wire, frozen=True):
    """A measured indicator (e.g. 孕产妇系统管理率 ≥ 0.9). The answer is the measured value.

    `floor` is the national value a local target may not undercut (for `>=`; a ceiling for `<=`).
    """

    op: Literal[">=", "<="]
    value: float
    floor: float | None = None
    unit: str | None = None
    scoring: Literal["all_or_nothing", "linear_to_target"] = "all_or_nothing"
    mandatory: bool = False  # missing the target fails the whole evaluation, like a veto
    verification: Verification = "illustrative"


class Article(_Wire, frozen=True):
    number: str
    title: str
    verification: Verification
    kind: ArticleKind = "basic"
    na_allowed: bool = False
    methods: tuple[str, ...] = ()
    evidence: EvidencePolicy | None = None  # None: the standard's evidenceDefaults
    levels: tuple[GradeLevel, ...] = ()
    points: float | None = None  # points mode: the article's maximum
    critical: bool = False  # pass/fail: failing it fails the whole checklist
    indicator: IndicatorTarget | None = None
    note: str | None = None


class Section(_Wire, frozen=True):
    code: str
    title: str
    verification: Verification = "illustrative"
    max_points: float | None = None  # points mode
    articles: tuple[Article, ...] = ()
    sections: tuple[Section, ...] = ()


class Prerequisite(_Wire, frozen=True):
    id: str
    text: str
    verification: Verification
    evidence: tuple[str, ...] = ()


class VetoItem(_Wire, frozen=True):
    """一票否决: answered True when the requirement is met; False fails the evaluation."""

    id: str
    text: str
    verification: Verification
    note: str | None = None


# ---------------------------------------------------------------------------------------------- determination


class FigureRule(_Wire, frozen=True):
    figure: FigureName
    op: CompareOp
    value: float


class Eligibility(_Wire, frozen=True):
    rules: tuple[FigureRule, ...]
    match: Literal["all", "any"] = "all"
    verification: Verification = "illustrative"
    note: str | None = None


class Condition(_Wire, frozen=True):
    """`minRatio` of the scope's articles at `gradeAtLeast` or better (graded), of the scope's points
    (points), of its items passed (pass/fail), or of the weighted score (weighted). `null` = the official
    threshold is not transcribed yet: the engine then answers `undetermined`, never a guessed tier."""

    scope: str  # "all" | "basic" | "recommended" | "section:<code>"
    min_ratio: float | None
    grade_at_least: str | None = None


class Tier(_Wire, frozen=True):
    code: str
    label: str
    verification: Verification
    conditions: tuple[Condition, ...]
    eligibility: Eligibility | None = None
    local_labels: dict[str, str] = field(default_factory=dict)
    note: str | None = None


class FallbackTier(_Wire, frozen=True):
    code: str
    label: str


class Determination(_Wire, frozen=True):
    tiers: tuple[Tier, ...]
    fallback: FallbackTier


# ---------------------------------------------------------------------------------------------- programme


class ReviewStage(_Wire, frozen=True):
    level: ReviewLevel
    sample_ratios: dict[str, float] = field(default_factory=dict)  # tier code → share sampled
    onsite_required_for: tuple[str, ...] = ()
    on_fail: str | None = None
    output: str | None = None


class ExpertTeamRules(_Wire, frozen=True):
    min_size: int = 5
    odd_size: bool = True
    min_title: str | None = None
    recusal: bool = True
    specialties: tuple[str, ...] = ()


class ProgrammeTarget(_Wire, frozen=True):
    """A share the programme aims at, per county: facilities applying (申报), or reaching ``tier``."""

    measure: Literal["applying", "reaching"]
    min_share: Annotated[float, Meta(ge=0, le=1)]
    tier: str | None = None  # the tier to reach (measure "reaching")
    source: str | None = None  # where the figure comes from (a plan and its part)


class ProgrammeSettings(_Wire, frozen=True):
    verification: Verification = "illustrative"
    self_assessment_min_months: int | None = None
    reapply_min_interval_months: int | None = None
    review_chain: tuple[ReviewStage, ...] = ()
    expert_team: ExpertTeamRules | None = None
    rank_scopes: tuple[str, ...] = ()  # "county" | "city" | "province"
    improvement_list_kinds: tuple[str, ...] = ()
    title_valid_years: int | None = None
    # evidence photos taken farther than this from the facility's coordinates are flagged far_from_facility
    evidence_radius_km: Annotated[float, Meta(gt=0, le=1000)] = 3.0
    # the plan's dates as "MM-DD" in the round's year, by stage (application | county | city | province): the
    # dates a round's calendar proposes (backend/programme/calendar.py)
    stage_deadlines: dict[str, str] = field(default_factory=dict)
    targets: tuple[ProgrammeTarget, ...] = ()


# ---------------------------------------------------------------------------------------------- the standard


class Standard(_Wire, frozen=True):
    id: str
    programme: str
    edition: str
    name: str
    jurisdiction: Jurisdiction
    facility_kinds: tuple[str, ...]
    verification: Verification  # of the standard as a whole; parts carry their own
    scoring: Scoring
    sections: tuple[Section, ...]
    determination: Determination
    schema_version: str = "1"
    language: str = "zh-CN"
    name_en: str | None = None
    issuer: str | None = None
    licence_category_codes: tuple[str, ...] = ()
    verification_notes: tuple[str, ...] = ()
    evaluation_methods: tuple[EvaluationMethod, ...] = ()
    evidence_defaults: EvidencePolicy = field(default_factory=EvidencePolicy)
    prerequisites: tuple[Prerequisite, ...] = ()
    veto_items: tuple[VetoItem, ...] = ()
    programme_settings: ProgrammeSettings = field(default_factory=ProgrammeSettings)


class FacilityFigures(Struct, rename="camel", frozen=True, kw_only=True):
    """The facility figures tier eligibility may test; None = not known (the tier then stays undecided)."""

    medical_staff_count: int | None = None
    service_population: int | None = None
    bed_count: int | None = None


def to_builtins(obj: Struct) -> object:
    """Wire form (camelCase dicts) of any schema or conclusion Struct."""
    return msgspec.to_builtins(obj)
