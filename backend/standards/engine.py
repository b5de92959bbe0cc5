"""Determination and scoring: pure functions from (standard, answers, facility, prerequisites) to a Conclusion.

Order of decision (DESIGN §8): prerequisites gate (`not_evaluated`) → every article answered (`incomplete`)
→ decisive failures (one-vote veto, critical item, mandatory indicator target → fallback tier) → tiers in
order, skipping a tier whose eligibility does not hold → fallback tier. A condition whose threshold is `null`
is never decided as met: when the first tier that is not ruled out has one, the answer is `undetermined`.

Speed: per standard, everything that does not depend on the answers (grade ranks, which scopes an article
belongs to, the explanation marks for each article × grade) is computed once in `compile_standard` and
reused; a conclusion is then one pass over the answers plus a few additions per condition.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Literal

from backend.standards.schemas import (
    NA,
    AnswerValue,
    ArticleMark,
    Conclusion,
    ConclusionStatus,
    Condition,
    FacilityFigures,
    GradedScoring,
    IndicatorResult,
    IndicatorTarget,
    PassFailScoring,
    PointsScoring,
    PrerequisiteResult,
    RaterResult,
    RuleResult,
    ScoreSummary,
    Section,
    SectionTotal,
    Standard,
    Tier,
    TierResult,
    Verification,
    VetoResult,
    WeightedScoring,
)
from backend.standards.schemas import (
    ConditionResult as _ConditionResult,
)
from backend.standards.validation import AnswerValidationError, Problem, check_answers, walk_articles

__all__ = ["CompiledStandard", "combine_raters", "compile_standard", "conclude"]

_EPS = 1e-9
_FIGURE_ATTRS = {
    "medicalStaffCount": "medical_staff_count",
    "servicePopulation": "service_population",
    "bedCount": "bed_count",
}
_NO_FACILITY = FacilityFigures()


@dataclass(frozen=True, slots=True)
class _Article:
    number: str
    title: str
    na_allowed: bool
    max_points: float
    critical: bool
    indicator: IndicatorTarget | None
    scopes: tuple[int, ...]  # indices into CompiledStandard.scopes
    sections: tuple[int, ...]  # indices into CompiledStandard.sections (points totals)
    marks: tuple[ArticleMark, ...]  # graded: the explanation mark for each grade rank, shared between runs


@dataclass(frozen=True, slots=True)
class _Condition:
    condition: Condition
    scope: int
    rank: int  # graded: index of gradeAtLeast in ascending rank order; 0 otherwise


@dataclass(frozen=True, slots=True)
class _Tier:
    tier: Tier
    conditions: tuple[_Condition, ...]
    verified: bool  # the tier and its eligibility rule are verified


@dataclass(frozen=True, slots=True)
class _Rater:
    code: str
    label: str
    group: str
    weight: float


class CompiledStandard:
    """A standard with its answer-independent lookups precomputed. Build once, use for many conclusions."""

    __slots__ = (
        "all_verified",
        "articles",
        "grade_codes",
        "grade_rank",
        "mode",
        "raters",
        "scopes",
        "sections",
        "standard",
        "tiers",
    )

    def __init__(self, standard: Standard) -> None:
        self.standard = standard
        scoring = standard.scoring
        self.mode = _mode(standard)
        grades = sorted(scoring.grades, key=lambda g: g.rank) if isinstance(scoring, GradedScoring) else []
        self.grade_codes: tuple[str, ...] = tuple(g.code for g in grades)
        self.grade_rank: dict[str, int] = {code: i for i, code in enumerate(self.grade_codes)}

        scopes = ["all"]
        for tier in standard.determination.tiers:
            for condition in tier.conditions:
                if condition.scope not in scopes:
                    scopes.append(condition.scope)
        self.scopes: tuple[str, ...] = tuple(scopes)

        section_list: list[Section] = []
        section_index: dict[int, int] = {}

        def collect(sections: tuple[Section, ...]) -> None:
            for section in sections:
                section_index[id(section)] = len(section_list)
                section_list.append(section)
                collect(section.sections)

        collect(standard.sections)
        self.sections: tuple[Section, ...] = tuple(section_list)

        articles: list[_Article] = []
        verified = standard.verification == "verified"
        for _, article, enclosing in walk_articles(standard):
            verified = verified and article.verification == "verified"
            codes = {s.code for s in enclosing}
            members = tuple(
                i
                for i, scope in enumerate(self.scopes)
                if scope == "all"
                or scope == article.kind
                or (scope.startswith("section:") and scope[len("section:") :] in codes)
            )
            articles.append(
                _Article(
                    number=article.number,
                    title=article.title,
                    na_allowed=article.na_allowed,
                    max_points=article.points or 0.0,
                    critical=article.critical,
                    indicator=article.indicator,
                    scopes=members,
                    sections=tuple(section_index[id(s)] for s in enclosing),
                    marks=tuple(ArticleMark(number=article.number, value=code) for code in self.grade_codes),
                )
            )
        self.articles: tuple[_Article, ...] = tuple(articles)

        tiers = []
        for tier in standard.determination.tiers:
            compiled = tuple(
                _Condition(
                    condition=c,
                    scope=self.scopes.index(c.scope),
                    rank=self.grade_rank.get(c.grade_at_least, 0) if c.grade_at_least else 0,
                )
                for c in tier.conditions
            )
            tier_verified = tier.verification == "verified" and (
                tier.eligibility is None or tier.eligibility.verification == "verified"
            )
            tiers.append(_Tier(tier=tier, conditions=compiled, verified=tier_verified))
        self.tiers: tuple[_Tier, ...] = tuple(tiers)

        self.raters: tuple[_Rater, ...] = ()
        if isinstance(scoring, WeightedScoring):
            self.raters = tuple(
                _Rater(code=r.code, label=r.label, group=g.code, weight=r.weight)
                for g in scoring.groups
                for r in g.raters
            )
            verified = verified and all(
                g.verification == "verified" and all(r.verification == "verified" for r in g.raters)
                for g in scoring.groups
            )
        verified = verified and all(v.verification == "verified" for v in standard.veto_items)
        self.all_verified = verified


def _mode(standard: Standard) -> Literal["graded", "points", "passfail", "weighted"]:
    scoring = standard.scoring
    if isinstance(scoring, GradedScoring):
        return "graded"
    if isinstance(scoring, PointsScoring):
        return "points"
    if isinstance(scoring, PassFailScoring):
        return "passfail"
    return "weighted"


# Compiled forms are remembered per Standard object, by identity: hashing a whole frozen standard on every
# call would cost more than compiling it. The cache holds the Standard, so its id cannot be reused while
# cached; it is bounded because imported versions come and go in a long-running process.
_CACHE_SIZE = 64
_compiled: OrderedDict[int, CompiledStandard] = OrderedDict()
_compiled_lock = threading.Lock()


def compile_standard(standard: Standard) -> CompiledStandard:
    """The precomputed form of `standard` (memoised for the most recently used standards)."""
    key = id(standard)
    with _compiled_lock:
        hit = _compiled.get(key)
        if hit is not None and hit.standard is standard:
            _compiled.move_to_end(key)
            return hit
    compiled = CompiledStandard(standard)
    with _compiled_lock:
        _compiled[key] = compiled
        while len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)
    return compiled


# ---------------------------------------------------------------------------------------------- tallies


class _Tally:
    """What one pass over the answers found: per scope numerator/denominator and the articles that fell short."""

    __slots__ = ("decisive", "den", "invalid", "missing", "num", "pulled", "score")

    def __init__(self, n_scopes: int) -> None:
        self.missing: list[str] = []
        self.invalid = False
        self.decisive: list[str] = []  # reasons that fail the evaluation whatever the ratios
        self.num = [0.0] * n_scopes
        self.den = [0.0] * n_scopes
        self.pulled: list[list[ArticleMark]] = [[] for _ in range(n_scopes)]
        self.score: ScoreSummary | None = None

    def stats(self, cond: _Condition) -> tuple[float, float, tuple[ArticleMark, ...]]:
        s = cond.scope
        return self.num[s], self.den[s], tuple(self.pulled[s])


class _GradedTally(_Tally):
    __slots__ = ("buckets", "counts")

    def __init__(self, n_scopes: int, n_grades: int) -> None:
        super().__init__(n_scopes)
        self.counts = [[0] * n_grades for _ in range(n_scopes)]
        self.buckets: list[list[list[ArticleMark]]] = [[[] for _ in range(n_grades)] for _ in range(n_scopes)]

    def stats(self, cond: _Condition) -> tuple[float, float, tuple[ArticleMark, ...]]:
        counts = self.counts[cond.scope]
        # Cumulative grades: an article at A also counts as ≥ B and ≥ C; D (lowest) counts for nothing above.
        at_least = sum(counts[cond.rank :])
        pulled = tuple(chain.from_iterable(self.buckets[cond.scope][: cond.rank]))
        return float(at_least), float(sum(counts)), pulled


def _tally_graded(c: CompiledStandard, answers: Mapping[str, AnswerValue]) -> _Tally:
    tally = _GradedTally(len(c.scopes), len(c.grade_codes))
    rank_of = c.grade_rank
    counts, buckets = tally.counts, tally.buckets
    missing = tally.missing
    seen = 0
    for art in c.articles:
        value = answers.get(art.number)
        if value is None:
            missing.append(art.number)
            continue
        seen += 1
        rank = rank_of.get(value) if isinstance(value, str) else None
        if rank is None:
            if not (value == NA and art.na_allowed):
                tally.invalid = True
            continue  # N/A: out of every denominator
        mark = art.marks[rank]
        for s in art.scopes:
            counts[s][rank] += 1
            buckets[s][rank].append(mark)
    if seen != len(answers):
        tally.invalid = True
    tally.score = ScoreSummary(mode="graded")
    return tally


def _indicator_points(target: IndicatorTarget, measured: float, maximum: float) -> tuple[bool, float]:
    met = measured >= target.value - _EPS if target.op == ">=" else measured <= target.value + _EPS
    if met or target.scoring == "all_or_nothing":
        return met, maximum if met else 0.0
    # linear_to_target: the share of the target reached (or, for a ceiling, how far it is overshot).
    share = measured / target.value if target.op == ">=" else (target.value / measured if measured else 1.0)
    return met, maximum * max(0.0, min(1.0, share))


def _tally_items(
    c: CompiledStandard,
    answers: Mapping[str, AnswerValue],
    points_mode: bool,
    tally: _Tally,
    prefix: str = "",
) -> tuple[list[float], list[float], list[IndicatorResult], list[str], int, int]:
    """Pass/fail or points items. Returns section points/maxima, indicators, critical failures, passed, applicable."""
    num, den, pulled = tally.num, tally.den, tally.pulled
    sec_points = [0.0] * len(c.sections)
    sec_max = [0.0] * len(c.sections)
    indicators: list[IndicatorResult] = []
    critical_failed: list[str] = []
    passed = applicable = 0
    seen = 0
    for art in c.articles:
        value = answers.get(art.number)
        if value is None:
            tally.missing.append(prefix + art.number)
            continue
        seen += 1
        if isinstance(value, str):
            if not (value == NA and art.na_allowed):
                tally.invalid = True
            continue
        applicable += 1
        if points_mode:
            if isinstance(value, bool) or not isinstance(value, int | float):
                tally.invalid = True
                continue
            maximum = art.max_points
            if art.indicator is not None:
                if not (math.isfinite(value) and value >= 0):
                    tally.invalid = True
                    continue
                met, got = _indicator_points(art.indicator, float(value), maximum)
                indicators.append(
                    IndicatorResult(
                        number=art.number,
                        title=art.title,
                        measured=float(value),
                        op=art.indicator.op,
                        target=art.indicator.value,
                        met=met,
                        points=got,
                        max_points=maximum,
                    )
                )
                if not met and art.indicator.mandatory:
                    tally.decisive.append(
                        f"indicator {art.number} {art.title}: {value:g} misses the mandatory target "
                        f"{art.indicator.op} {art.indicator.value:g}"
                    )
            else:
                if not 0 <= value <= maximum:
                    tally.invalid = True
                    continue
                got = float(value)
            if got >= maximum - _EPS:
                passed += 1
            else:
                mark = ArticleMark(number=prefix + art.number, value=value)
                for s in art.scopes:
                    pulled[s].append(mark)
            for s in art.scopes:
                num[s] += got
                den[s] += maximum
            for k in art.sections:
                sec_points[k] += got
                sec_max[k] += maximum
        else:
            if not isinstance(value, bool):
                tally.invalid = True
                continue
            if value:
                passed += 1
                for s in art.scopes:
                    num[s] += 1.0
            else:
                if art.critical:
                    critical_failed.append(prefix + art.number)
                mark = ArticleMark(number=prefix + art.number, value=False)
                for s in art.scopes:
                    pulled[s].append(mark)
            for s in art.scopes:
                den[s] += 1.0
    if seen != len(answers):
        tally.invalid = True
    return sec_points, sec_max, indicators, critical_failed, passed, applicable


def _tally_points(c: CompiledStandard, answers: Mapping[str, AnswerValue]) -> _Tally:
    tally = _Tally(len(c.scopes))
    vetoes = c.standard.veto_items
    items: Mapping[str, AnswerValue] = answers
    if vetoes:
        veto_ids = {v.id for v in vetoes}
        items = {k: v for k, v in answers.items() if k not in veto_ids}
    sec_points, sec_max, indicators, _, _, _ = _tally_items(c, items, True, tally)
    veto_results = []
    for veto in vetoes:
        value = answers.get(veto.id)
        if value is None:
            tally.missing.append(veto.id)
            outcome: Literal["passed", "failed", "missing"] = "missing"
        elif not isinstance(value, bool):
            tally.invalid = True
            outcome = "missing"
        else:
            outcome = "passed" if value else "failed"
            if not value:
                tally.decisive.append(f"one-vote veto {veto.id} (一票否决): {veto.text}")
        veto_results.append(VetoResult(id=veto.id, text=veto.text, outcome=outcome))
    all_scope = 0  # "all" is always scope 0
    tally.score = ScoreSummary(
        mode="points",
        points=tally.num[all_scope],
        max_points=tally.den[all_scope],
        sections=tuple(
            SectionTotal(code=s.code, title=s.title, points=sec_points[k], max_points=sec_max[k])
            for k, s in enumerate(c.sections)
        ),
        indicators=tuple(indicators),
        vetoes=tuple(veto_results),
    )
    return tally


def _tally_passfail(c: CompiledStandard, answers: Mapping[str, AnswerValue]) -> _Tally:
    tally = _Tally(len(c.scopes))
    _, _, _, critical_failed, passed, applicable = _tally_items(c, answers, False, tally)
    if critical_failed:
        tally.decisive.append("critical item(s) failed: " + ", ".join(critical_failed))
    tally.score = ScoreSummary(
        mode="passfail", passed=passed, applicable=applicable, critical_failed=tuple(critical_failed)
    )
    return tally


def _tally_weighted(c: CompiledStandard, answers: Mapping[str, AnswerValue]) -> _Tally:
    scoring = c.standard.scoring
    assert isinstance(scoring, WeightedScoring)
    n = len(c.scopes)
    tally = _Tally(n)
    points_items = scoring.item_mode == "points"
    scores: dict[str, float] = {}
    seen = 0
    for rater in c.raters:
        value = answers.get(rater.code)
        if value is None:
            tally.missing.append(rater.code)
            continue
        seen += 1
        if isinstance(value, dict):
            # This rater filled in the checklist: its share per scope is what it found achieved there.
            sub = _Tally(n)
            _, _, _, critical_failed, _, _ = _tally_items(
                c, value, points_items, sub, prefix=f"{rater.code}/"
            )
            tally.missing.extend(sub.missing)
            tally.invalid = tally.invalid or sub.invalid
            if critical_failed:
                tally.decisive.append(
                    f"critical item(s) failed ({rater.label}): " + ", ".join(critical_failed)
                )
            fractions = [sub.num[s] / sub.den[s] if sub.den[s] > 0 else None for s in range(n)]
            for s in range(n):
                tally.pulled[s].extend(sub.pulled[s])
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and 0 <= value <= scoring.scale)
        ):
            tally.invalid = True
            continue
        else:
            # This rater gave one overall score: it stands for every scope.
            fractions = [value / scoring.scale] * n
        for s, fraction in enumerate(fractions):
            if fraction is not None:  # a scope with nothing applicable for this rater drops its weight there
                tally.num[s] += rater.weight * fraction
                tally.den[s] += rater.weight
        scores[rater.code] = (fractions[0] or 0.0) * scoring.scale
    if seen != len(answers):
        tally.invalid = True
    combined, raters = combine_raters(scoring, scores) if not (tally.missing or tally.invalid) else (None, ())
    tally.score = ScoreSummary(mode="weighted", raters=raters, combined_score=combined)
    return tally


def combine_raters(
    scoring: WeightedScoring, scores: Mapping[str, float]
) -> tuple[float, tuple[RaterResult, ...]]:
    """Combine rater scores (each on `scoring.scale`) by their weights: Σ weight × score, with each term.

    e.g. routine 70% = duty officer 40% + students 15% + class teachers 15%, end of term 30%.
    Raises AnswerValidationError if a rater's score is missing or outside [0, scale].
    """
    problems = []
    results = []
    for group in scoring.groups:
        for rater in group.raters:
            score = scores.get(rater.code)
            if score is None or not (math.isfinite(score) and 0 <= score <= scoring.scale):
                problems.append(
                    Problem(f'$.scores["{rater.code}"]', f"needs a score in [0, {scoring.scale:g}]")
                )
                continue
            results.append(
                RaterResult(
                    code=rater.code,
                    label=rater.label,
                    group=group.code,
                    weight=rater.weight,
                    score=score,
                    contribution=rater.weight * score,
                )
            )
    if problems:
        raise AnswerValidationError(problems)
    return math.fsum(r.contribution for r in results), tuple(results)


_TALLIES = {
    "graded": _tally_graded,
    "points": _tally_points,
    "passfail": _tally_passfail,
    "weighted": _tally_weighted,
}


# ---------------------------------------------------------------------------------------------- conditions, tiers


def _pct(value: float) -> str:
    return f"{value * 100:.4g}%"


def _condition(cond: _Condition, tally: _Tally) -> _ConditionResult:
    num, den, pulled = tally.stats(cond)
    c = cond.condition
    label = f"{c.scope} ≥ {c.grade_at_least}" if c.grade_at_least else c.scope
    required = c.min_ratio
    actual: float | None = None
    outcome: Literal["met", "not_met", "unknown"]
    if den <= 0:
        outcome = "unknown"
        reason = f"{label}: nothing applicable in this scope (all N/A), cannot decide"
    else:
        actual = num / den
        share = f"{num:g}/{den:g} = {_pct(actual)}"
        if required is None:
            outcome = "unknown"
            reason = f"{label}: {share}; the required ratio is not transcribed yet (null), cannot decide"
        elif num >= required * den - _EPS * max(1.0, den):
            outcome = "met"
            reason = f"{label}: {share}, required {_pct(required)}: met"
        else:
            outcome = "not_met"
            reason = f"{label}: {share}, required {_pct(required)}: not met"
    return _ConditionResult(
        scope=c.scope,
        grade_at_least=c.grade_at_least,
        required_ratio=required,
        actual_ratio=actual,
        numerator=num,
        denominator=den,
        outcome=outcome,
        pulled_down=pulled,
        reason=reason,
    )


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
}


def _tier(ct: _Tier, tally: _Tally, facility: FacilityFigures) -> TierResult:
    tier = ct.tier
    name = f"tier {tier.code} ({tier.label})"
    rules: tuple[RuleResult, ...] = ()
    if tier.eligibility is not None:
        results = []
        for rule in tier.eligibility.rules:
            actual = getattr(facility, _FIGURE_ATTRS[rule.figure])
            holds = None if actual is None else bool(_OPS[rule.op](actual, rule.value))
            results.append(
                RuleResult(figure=rule.figure, op=rule.op, value=rule.value, actual=actual, holds=holds)
            )
        rules = tuple(results)
        flags = [r.holds for r in rules]
        if tier.eligibility.match == "all":
            eligible = False if False in flags else (None if None in flags else True)
        else:
            eligible = True if True in flags else (None if None in flags else False)
        if eligible is False:
            failing = ", ".join(
                f"{r.figure} {r.actual:g} is not {r.op} {r.value:g}"
                for r in rules
                if r.holds is False and r.actual is not None
            )
            return TierResult(
                code=tier.code,
                label=tier.label,
                outcome="ineligible",
                reason=f"{name} skipped: the facility is not eligible ({failing})",
                eligibility=rules,
                conditions=(),
            )
        if eligible is None:
            unknown = ", ".join(r.figure for r in rules if r.holds is None)
            return TierResult(
                code=tier.code,
                label=tier.label,
                outcome="undecidable",
                reason=f"{name}: eligibility cannot be checked, facility figure(s) not known: {unknown}",
                eligibility=rules,
                conditions=(),
            )
    conditions = tuple(_condition(cond, tally) for cond in ct.conditions)
    failed = [i for i, r in enumerate(conditions) if r.outcome == "not_met"]
    unknown_idx = [i for i, r in enumerate(conditions) if r.outcome == "unknown"]
    if failed:
        outcome: Literal["reached", "not_reached", "undecidable"] = "not_reached"
        reason = f"{name} not reached: " + "; ".join(conditions[i].reason for i in failed)
    elif unknown_idx:
        outcome = "undecidable"
        reason = f"{name} cannot be decided: " + "; ".join(
            f"condition {i + 1} ({conditions[i].reason})" for i in unknown_idx
        )
    else:
        outcome = "reached"
        reason = f"{name} reached: every condition met"
    return TierResult(
        code=tier.code,
        label=tier.label,
        outcome=outcome,
        reason=reason,
        eligibility=rules,
        conditions=conditions,
    )


# ---------------------------------------------------------------------------------------------- conclude


def conclude(
    standard: Standard | CompiledStandard,
    answers: Mapping[str, AnswerValue],
    facility: FacilityFigures | None = None,
    prerequisites: Mapping[str, bool] | None = None,
) -> Conclusion:
    """The conclusion for one facility (or inspection) under `standard`.

    answers: article number → grade code or "NA" (graded), points or a measured indicator value (points;
      veto items by id → True when the requirement is met), True/False or "NA" (pass/fail); weighted:
      rater code → overall score, or a mapping of that rater's checklist answers.
    facility: figures used by tier eligibility (None: none known).
    prerequisites: prerequisite id → passed.
    Raises AnswerValidationError (with JSON paths) for answers that do not fit the standard.
    """
    c = standard if isinstance(standard, CompiledStandard) else compile_standard(standard)
    std = c.standard
    prereq = prerequisites if prerequisites is not None else {}
    tally = _TALLIES[c.mode](c, answers)
    known_prereqs = sum(1 for p in std.prerequisites if p.id in prereq)
    if tally.invalid or known_prereqs != len(prereq) or any(not isinstance(v, bool) for v in prereq.values()):
        problems = check_answers(std, answers, prereq) or [
            Problem("$.answers", "answers do not fit the standard")
        ]
        raise AnswerValidationError(problems)

    # 1. Prerequisites gate.
    prereq_results = []
    blocking = []
    verified = True
    for p in std.prerequisites:
        value = prereq.get(p.id)
        outcome: Literal["passed", "failed", "missing"] = (
            "missing" if value is None else ("passed" if value else "failed")
        )
        prereq_results.append(PrerequisiteResult(id=p.id, text=p.text, outcome=outcome))
        if outcome != "passed":
            blocking.append(
                f"prerequisite {p.id} {'failed' if outcome == 'failed' else 'not answered'}: {p.text}"
            )
            verified = verified and p.verification == "verified"
    if blocking:
        return Conclusion(
            standard_id=std.id,
            status="not_evaluated",
            tier=None,
            tier_label=None,
            reasons=("not evaluated: a prerequisite (前置条件) is not met", *blocking),
            verification="verified" if verified else "illustrative",
            prerequisites=tuple(prereq_results),
        )
    prereqs = tuple(prereq_results)

    # 2. Completeness.
    if tally.missing:
        shown = ", ".join(tally.missing[:20]) + (" …" if len(tally.missing) > 20 else "")
        return Conclusion(
            standard_id=std.id,
            status="incomplete",
            tier=None,
            tier_label=None,
            reasons=(f"incomplete: {len(tally.missing)} not answered: {shown}",),
            verification=std.verification,
            prerequisites=prereqs,
            missing=tuple(tally.missing),
            score=tally.score,
        )

    fallback = std.determination.fallback
    figures = facility if facility is not None else _NO_FACILITY
    tier_results = tuple(_tier(ct, tally, figures) for ct in c.tiers)

    # 3. Decisive failures: veto, critical item, mandatory indicator.
    if tally.decisive:
        return _result(
            c,
            "determined",
            fallback.code,
            fallback.label,
            [*tally.decisive, f"→ {fallback.code} ({fallback.label})"],
            len(c.tiers),
            prereqs,
            tier_results,
            tally,
        )

    # 4. Tiers in order, then the fallback.
    reasons = []
    for i, result in enumerate(tier_results):
        reasons.append(result.reason)
        if result.outcome == "reached":
            return _result(
                c, "determined", result.code, result.label, reasons, i, prereqs, tier_results, tally
            )
        if result.outcome == "undecidable":
            reasons.append(
                f"undetermined: {result.code} ({result.label}) can be neither confirmed nor ruled out"
            )
            return _result(c, "undetermined", None, None, reasons, i, prereqs, tier_results, tally)
    reasons.append(f"no tier reached → {fallback.code} ({fallback.label})")
    return _result(
        c, "determined", fallback.code, fallback.label, reasons, len(c.tiers), prereqs, tier_results, tally
    )


def _result(
    c: CompiledStandard,
    status: ConclusionStatus,
    tier: str | None,
    label: str | None,
    reasons: Sequence[str],
    upto: int,
    prereqs: tuple[PrerequisiteResult, ...],
    tiers: tuple[TierResult, ...],
    tally: _Tally,
) -> Conclusion:
    # Verified only if every article and every tier rule passed through up to the decision is verified.
    verified = c.all_verified and all(t.verified for t in c.tiers[: upto + 1])
    verification: Verification = "verified" if verified else "illustrative"
    return Conclusion(
        standard_id=c.standard.id,
        status=status,
        tier=tier,
        tier_label=label,
        reasons=tuple(reasons),
        verification=verification,
        prerequisites=prereqs,
        tiers=tiers,
        score=tally.score,
    )
