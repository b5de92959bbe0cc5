"""Per-mode tallies: one pass over the answers (graded, points, pass/fail, weighted) and combine_raters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import chain
from typing import Literal

import msgspec

from backend.standards.compiled import EPS, CompiledCondition, CompiledStandard
from backend.standards.conclusion import (
    ArticleMark,
    IndicatorResult,
    RaterResult,
    ScoreSummary,
    SectionTotal,
    VetoResult,
)
from backend.standards.problems import AnswerValidationError, answer_problem
from backend.standards.schemas import NA, AnswerValue, IndicatorTarget, WeightedScoring

__all__ = ["combine_raters"]


class Tally:
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

    def stats(self, cond: CompiledCondition) -> tuple[float, float, tuple[ArticleMark, ...]]:
        s = cond.scope
        return self.num[s], self.den[s], tuple(self.pulled[s])


class _GradedTally(Tally):
    __slots__ = ("buckets", "counts")

    def __init__(self, n_scopes: int, n_grades: int) -> None:
        super().__init__(n_scopes)
        self.counts = [[0] * n_grades for _ in range(n_scopes)]
        self.buckets: list[list[list[ArticleMark]]] = [[[] for _ in range(n_grades)] for _ in range(n_scopes)]

    def stats(self, cond: CompiledCondition) -> tuple[float, float, tuple[ArticleMark, ...]]:
        counts = self.counts[cond.scope]
        # Cumulative grades: an article at A also counts as ≥ B and ≥ C; D (lowest) counts for nothing above.
        at_least = sum(counts[cond.rank :])
        pulled = tuple(chain.from_iterable(self.buckets[cond.scope][: cond.rank]))
        return float(at_least), float(sum(counts)), pulled


def _tally_graded(c: CompiledStandard, answers: Mapping[str, AnswerValue]) -> Tally:
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
    met = measured >= target.value - EPS if target.op == ">=" else measured <= target.value + EPS
    if met or target.scoring == "all_or_nothing":
        return met, maximum if met else 0.0
    # linear_to_target: the share of the target reached (or, for a ceiling, how far it is overshot).
    share = measured / target.value if target.op == ">=" else (target.value / measured if measured else 1.0)
    return met, maximum * max(0.0, min(1.0, share))


def _tally_items(
    c: CompiledStandard,
    answers: Mapping[str, AnswerValue],
    points_mode: bool,
    tally: Tally,
    prefix: str = "",
    targets: Mapping[str, float] | None = None,
) -> tuple[list[float], list[float], list[IndicatorResult], list[str], int, int]:
    """Pass/fail or points items. Returns section points/maxima, indicators, critical failures, passed, applicable.
    ``targets``: the subject's own indicator targets by article (scored against instead of the national value)."""
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
                own = (targets or {}).get(art.number)
                target = art.indicator if own is None else msgspec.structs.replace(art.indicator, value=own)
                met, got = _indicator_points(target, float(value), maximum)
                indicators.append(
                    IndicatorResult(
                        number=art.number,
                        title=art.title,
                        measured=float(value),
                        op=art.indicator.op,
                        target=target.value,
                        met=met,
                        points=got,
                        max_points=maximum,
                        national=art.indicator.value,
                        target_source="national" if own is None else "own",
                    )
                )
                if not met and art.indicator.mandatory:
                    whose = "" if own is None else "own "
                    tally.decisive.append(
                        f"indicator {art.number} {art.title}: {value:g} misses the mandatory {whose}target "
                        f"{art.indicator.op} {target.value:g}"
                    )
            else:
                if not 0 <= value <= maximum:
                    tally.invalid = True
                    continue
                got = float(value)
            if got >= maximum - EPS:
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


def _tally_points(
    c: CompiledStandard, answers: Mapping[str, AnswerValue], targets: Mapping[str, float] | None = None
) -> Tally:
    tally = Tally(len(c.scopes))
    vetoes = c.standard.veto_items
    items: Mapping[str, AnswerValue] = answers
    if vetoes:
        veto_ids = {v.id for v in vetoes}
        items = {k: v for k, v in answers.items() if k not in veto_ids}
    sec_points, sec_max, indicators, _, _, _ = _tally_items(c, items, True, tally, targets=targets)
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


def _tally_passfail(c: CompiledStandard, answers: Mapping[str, AnswerValue]) -> Tally:
    tally = Tally(len(c.scopes))
    _, _, _, critical_failed, passed, applicable = _tally_items(c, answers, False, tally)
    if critical_failed:
        tally.decisive.append("critical item(s) failed: " + ", ".join(critical_failed))
    tally.score = ScoreSummary(
        mode="passfail", passed=passed, applicable=applicable, critical_failed=tuple(critical_failed)
    )
    return tally


def _tally_weighted(c: CompiledStandard, answers: Mapping[str, AnswerValue]) -> Tally:
    scoring = c.standard.scoring
    assert isinstance(scoring, WeightedScoring)
    n = len(c.scopes)
    tally = Tally(n)
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
            sub = Tally(n)
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
                    answer_problem(f"needs a score in [0, {scoring.scale:g}]", "scores", rater.code)
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


TALLIES = {
    "graded": _tally_graded,
    "points": _tally_points,
    "passfail": _tally_passfail,
    "weighted": _tally_weighted,
}


def tally_answers(
    c: CompiledStandard, answers: Mapping[str, AnswerValue], targets: Mapping[str, float] | None = None
) -> Tally:
    """One pass over the answers in the standard's mode; a points standard scores its indicators against the
    subject's own ``targets`` where it set them (the national value otherwise)."""
    if c.mode == "points":
        return _tally_points(c, answers, targets)
    return TALLIES[c.mode](c, answers)
