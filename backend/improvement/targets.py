"""Which grade each article should reach for the tier a clinic aims for, and which articles fall short of
it (suggested improvement items). Pure functions of the standard and the answers: no I/O.

A tier is a list of conditions ``{scope, gradeAtLeast, minRatio}``. An article's target is the grade of the
condition covering it with the highest ``minRatio`` (the grade most of its articles must reach, e.g. C in
"80% at C, 20% at B"); when the ratios are not transcribed yet (``null``), the lowest grade its conditions
name (the floor). An article no condition of the tier covers (recommended articles for the basic tier) has no
target and is never suggested."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.standards.schemas import Article, Condition, GradedScoring, Section, Standard, Tier
from backend.standards.validation import walk_articles


def grade_ranks(standard: Standard) -> dict[str, int]:
    scoring = standard.scoring
    return {g.code: g.rank for g in scoring.grades} if isinstance(scoring, GradedScoring) else {}


def aimed_tier(standard: Standard, applied: str | None) -> tuple[Tier | None, str]:
    """The tier applied for, else the lowest tier open to every facility (the least a clinic aims for)."""
    tiers = standard.determination.tiers
    if applied is not None:
        for tier in tiers:
            if tier.code == applied:
                return tier, "application"
    general = [t for t in tiers if t.eligibility is None] or list(tiers)
    return (general[-1] if general else None), "lowest"


def _covers(condition: Condition, article: Article, chain: tuple[Section, ...]) -> bool:
    scope = condition.scope
    if scope == "all":
        return True
    if scope in ("basic", "recommended"):
        return article.kind == scope
    if scope.startswith("section:"):
        code = scope.removeprefix("section:")
        return any(s.code == code for s in chain)
    return False


def article_targets(standard: Standard, tier: Tier | None) -> dict[str, str]:
    ranks = grade_ranks(standard)
    if tier is None or not ranks:
        return {}
    out: dict[str, str] = {}
    for _, article, chain in walk_articles(standard):
        graded = [c for c in tier.conditions if c.grade_at_least in ranks and _covers(c, article, chain)]
        if not graded:
            continue
        known = [c for c in graded if c.min_ratio is not None]
        if known:
            top = max(c.min_ratio or 0.0 for c in known)
            picks = [c for c in known if c.min_ratio == top]
        else:
            picks = graded
        out[article.number] = min((c.grade_at_least or "" for c in picks), key=lambda g: ranks[g])
    return out


def chapters(standard: Standard) -> dict[str, tuple[str, str, str]]:
    """Article number → (title, chapter code, chapter title): the chapter is the top-level section."""
    return {
        article.number: (article.title, chain[0].code, chain[0].title)
        for _, article, chain in walk_articles(standard)
    }


def below(grade: Any, target: str, ranks: Mapping[str, int]) -> bool:
    return isinstance(grade, str) and grade in ranks and ranks[grade] < ranks[target]


def improved(grade_before: Any, current: Any, ranks: Mapping[str, int]) -> bool:
    """The self-assessed grade is better now than when the item was written (both graded)."""
    if not isinstance(current, str) or not isinstance(grade_before, str):
        return False
    if current not in ranks or grade_before not in ranks:
        return False
    return ranks[current] > ranks[grade_before]
