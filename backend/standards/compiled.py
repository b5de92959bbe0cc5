"""Compiled standards: the answer-independent lookups of a standard, computed once and memoised.

Per standard, everything that does not depend on the answers (grade ranks, which scopes an article
belongs to, the explanation marks for each article × grade) is computed once here and reused by the engine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from backend.standards.conclusion import ArticleMark
from backend.standards.schemas import (
    Condition,
    GradedScoring,
    IndicatorTarget,
    PassFailScoring,
    PointsScoring,
    Section,
    Standard,
    Tier,
    WeightedScoring,
)
from backend.standards.validation import walk_articles

__all__ = ["CompiledStandard", "compile_standard"]

EPS = 1e-9


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
class CompiledCondition:
    condition: Condition
    scope: int
    rank: int  # graded: index of gradeAtLeast in ascending rank order; 0 otherwise


@dataclass(frozen=True, slots=True)
class CompiledTier:
    tier: Tier
    conditions: tuple[CompiledCondition, ...]
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
                CompiledCondition(
                    condition=c,
                    scope=self.scopes.index(c.scope),
                    rank=self.grade_rank.get(c.grade_at_least, 0) if c.grade_at_least else 0,
                )
                for c in tier.conditions
            )
            tier_verified = tier.verification == "verified" and (
                tier.eligibility is None or tier.eligibility.verification == "verified"
            )
            tiers.append(CompiledTier(tier=tier, conditions=compiled, verified=tier_verified))
        self.tiers: tuple[CompiledTier, ...] = tuple(tiers)

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
