"""Import validation: turn a decoded JSON object into a `Standard`, or say everything that is wrong.

Every problem carries a JSON path in the wire (camelCase) form (backend/standards/problems.py). A set of
answers is checked against a standard in backend/standards/answer_checks.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from backend.standards.problems import Problem, StandardValidationError, problem_from_msgspec
from backend.standards.schemas import (
    NA,
    Article,
    GradedScoring,
    PassFailScoring,
    PointsScoring,
    Section,
    Standard,
    WeightedScoring,
)
from backend.standards.titles import title_level

_TOLERANCE = 1e-6  # points and weights are decimals written by people; compare sums with a little slack
_FIXED_SCOPES = ("all", "basic", "recommended")
_RANK_SCOPES = ("county", "city", "province")


def validate_standard(raw: Mapping[str, Any]) -> Standard:
    """Decode and check a standard. Raises StandardValidationError listing every problem found."""
    try:
        standard = msgspec.convert(raw, Standard, strict=True)
    except msgspec.ValidationError as error:
        raise StandardValidationError([problem_from_msgspec(error)]) from None
    problems = list(check_standard(standard))
    if problems:
        raise StandardValidationError(problems)
    return standard


def walk_articles(standard: Standard) -> Iterator[tuple[str, Article, tuple[Section, ...]]]:
    """Every article with its JSON path and its chain of enclosing sections, in document order."""

    def walk(sections: tuple[Section, ...], path: str, chain: tuple[Section, ...]) -> Iterator[Any]:
        for i, section in enumerate(sections):
            here = f"{path}.sections[{i}]"
            inner = (*chain, section)
            for j, article in enumerate(section.articles):
                yield f"{here}.articles[{j}]", article, inner
            yield from walk(section.sections, here, inner)

    yield from walk(standard.sections, "$", ())


def _walk_sections(sections: tuple[Section, ...], path: str) -> Iterator[tuple[str, Section]]:
    for i, section in enumerate(sections):
        here = f"{path}.sections[{i}]"
        yield here, section
        yield from _walk_sections(section.sections, here)


def _is_ratio(value: float) -> bool:
    return math.isfinite(value) and 0.0 <= value <= 1.0


def _duplicates(items: list[tuple[str, str]], what: str, field: str) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for path, key in items:
        if key in seen:
            yield Problem(f"{path}.{field}", f"duplicate {what} {key!r} (first at {seen[key]})")
        else:
            seen[key] = path


def check_standard(standard: Standard) -> Iterator[Problem]:
    """Semantic checks on a decoded standard (types are already right)."""
    scoring = standard.scoring
    grade_codes: set[str] = set()
    if isinstance(scoring, GradedScoring):
        yield from _check_grades(scoring)
        grade_codes = {g.code for g in scoring.grades}

    articles = list(walk_articles(standard))
    sections = list(_walk_sections(standard.sections, "$"))
    section_codes = {s.code for _, s in sections}
    method_codes = {m.code for m in standard.evaluation_methods}

    yield from _duplicates([(p, s.code) for p, s in sections], "section code", "code")
    keyed = [(p, a.number) for p, a, _ in articles]
    keyed += [(f"$.vetoItems[{i}]", v.id) for i, v in enumerate(standard.veto_items)]
    yield from _duplicates(keyed, "article number", "number")
    yield from _duplicates(
        [(f"$.prerequisites[{i}]", p.id) for i, p in enumerate(standard.prerequisites)],
        "prerequisite id",
        "id",
    )
    yield from _duplicates(
        [(f"$.evaluationMethods[{i}]", m.code) for i, m in enumerate(standard.evaluation_methods)],
        "evaluation method",
        "code",
    )
    if not articles:
        yield Problem("$.sections", "the standard has no articles")

    for path, article, _ in articles:
        yield from _check_article(standard, path, article, grade_codes, method_codes)

    if isinstance(scoring, PointsScoring):
        yield from _check_points(standard, scoring)
    elif any(s.max_points is not None for _, s in sections):
        yield Problem("$.sections", "maxPoints is only used in points mode")
    if isinstance(scoring, WeightedScoring):
        yield from _check_weights(scoring)
    if standard.veto_items and not isinstance(scoring, PointsScoring):
        yield Problem("$.vetoItems", "veto items are only used in points mode")

    yield from _check_determination(standard, grade_codes, section_codes)
    yield from _check_programme(standard)


def _check_grades(scoring: GradedScoring) -> Iterator[Problem]:
    grades = scoring.grades
    if len(grades) < 2:
        yield Problem("$.scoring.grades", "graded scoring needs at least two grades")
    yield from _duplicates(
        [(f"$.scoring.grades[{i}]", g.code) for i, g in enumerate(grades)], "grade", "code"
    )
    yield from _duplicates(
        [(f"$.scoring.grades[{i}]", str(g.rank)) for i, g in enumerate(grades)], "grade rank", "rank"
    )
    by_code = {g.code: g for g in grades}
    for i, grade in enumerate(grades):
        path = f"$.scoring.grades[{i}]"
        if grade.code == NA or not grade.code:
            yield Problem(
                f"{path}.code", f"{grade.code!r} cannot be a grade code ({NA!r} means not applicable)"
            )
        target = grade.cumulative_of
        if target is None:
            continue
        if target not in by_code:
            yield Problem(f"{path}.cumulativeOf", f"unknown grade code {target!r}")
            continue
        # Follow the chain; coming back to this grade is a loop (A ⊃ B ⊃ A means nothing).
        chain = [grade.code]
        current: str | None = target
        while current is not None and current in by_code and current not in chain:
            chain.append(current)
            current = by_code[current].cumulative_of
        if current == grade.code:
            yield Problem(f"{path}.cumulativeOf", "cumulative grades loop: " + " ⊃ ".join([*chain, current]))
        elif by_code[target].rank >= grade.rank:
            yield Problem(f"{path}.cumulativeOf", f"{grade.code} includes {target}, so it must rank above it")


def _check_article(
    standard: Standard, path: str, article: Article, grade_codes: set[str], method_codes: set[str]
) -> Iterator[Problem]:
    scoring = standard.scoring
    if not article.number.strip():
        yield Problem(f"{path}.number", "article number is empty")
    if article.number == NA:
        yield Problem(f"{path}.number", f"{NA!r} cannot be an article number")
    for k, method in enumerate(article.methods):
        if method not in method_codes:
            yield Problem(f"{path}.methods[{k}]", f"unknown evaluation method {method!r}")
    if article.evidence is not None and article.evidence.min_photos < 0:
        yield Problem(f"{path}.evidence.minPhotos", "must not be negative")
    if article.evidence is not None and article.evidence.min_documents < 0:
        yield Problem(f"{path}.evidence.minDocuments", "must not be negative")
    if article.levels and not isinstance(scoring, GradedScoring):
        yield Problem(f"{path}.levels", "grade levels are only used in graded mode")
    level_grades: set[str] = set()
    for k, level in enumerate(article.levels):
        lpath = f"{path}.levels[{k}]"
        if level.grade not in grade_codes:
            yield Problem(f"{lpath}.grade", f"unknown grade code {level.grade!r}")
        if level.grade in level_grades:
            yield Problem(f"{lpath}.grade", f"grade {level.grade!r} has two levels")
        level_grades.add(level.grade)
        if level.inherits is not None and level.inherits not in grade_codes:
            yield Problem(f"{lpath}.inherits", f"unknown grade code {level.inherits!r}")
        item_ids: set[str] = set()
        for m, item in enumerate(level.items):
            if not item.id.startswith(f"{level.grade}-"):
                yield Problem(
                    f"{lpath}.items[{m}].id", f"requirement item {item.id!r} should read {level.grade}-n"
                )
            if item.id in item_ids:
                yield Problem(f"{lpath}.items[{m}].id", f"duplicate requirement item {item.id!r}")
            item_ids.add(item.id)

    uses_points = isinstance(scoring, PointsScoring) or (
        isinstance(scoring, WeightedScoring) and scoring.item_mode == "points"
    )
    if uses_points:
        if article.points is None:
            yield Problem(f"{path}.points", "points mode: every article needs its maximum points")
        elif not (math.isfinite(article.points) and article.points > 0):
            yield Problem(f"{path}.points", "points must be a positive number")
    elif article.points is not None:
        yield Problem(f"{path}.points", "points are only used in points mode")
    if article.indicator is not None:
        if not isinstance(scoring, PointsScoring):
            yield Problem(f"{path}.indicator", "indicators are only used in points mode")
        target = article.indicator
        if target.floor is not None:
            undercut = target.value < target.floor if target.op == ">=" else target.value > target.floor
            if undercut:
                yield Problem(
                    f"{path}.indicator.value",
                    f"target {target.value} undercuts the floor {target.floor} ({target.op})",
                )
    if article.critical and not isinstance(scoring, PassFailScoring | WeightedScoring):
        yield Problem(f"{path}.critical", "critical items are only used in pass/fail and weighted modes")


def _check_points(standard: Standard, scoring: PointsScoring) -> Iterator[Problem]:
    if not (math.isfinite(scoring.total) and scoring.total > 0):
        yield Problem("$.scoring.total", "total must be a positive number")

    def check(sections: tuple[Section, ...], path: str) -> Iterator[Problem]:
        for i, section in enumerate(sections):
            here = f"{path}.sections[{i}]"
            if section.max_points is None:
                yield Problem(f"{here}.maxPoints", "points mode: every section needs maxPoints")
                continue
            parts = [a.points or 0.0 for a in section.articles]
            parts += [s.max_points or 0.0 for s in section.sections]
            if (section.articles or section.sections) and abs(sum(parts) - section.max_points) > _TOLERANCE:
                yield Problem(
                    f"{here}.maxPoints",
                    f"articles and subsections add up to {_num(sum(parts))}, not {_num(section.max_points)}",
                )
            yield from check(section.sections, here)

    yield from check(standard.sections, "$")
    top = sum(s.max_points or 0.0 for s in standard.sections)
    if all(s.max_points is not None for s in standard.sections) and abs(top - scoring.total) > _TOLERANCE:
        yield Problem("$.scoring.total", f"section maxima add up to {_num(top)}, not {_num(scoring.total)}")


def _check_weights(scoring: WeightedScoring) -> Iterator[Problem]:
    if not (math.isfinite(scoring.scale) and scoring.scale > 0):
        yield Problem("$.scoring.scale", "scale must be a positive number")
    if not scoring.groups:
        yield Problem("$.scoring.groups", "weighted scoring needs at least one rater group")
    yield from _duplicates(
        [(f"$.scoring.groups[{i}]", g.code) for i, g in enumerate(scoring.groups)], "rater group", "code"
    )
    raters = [
        (f"$.scoring.groups[{i}].raters[{j}]", r)
        for i, g in enumerate(scoring.groups)
        for j, r in enumerate(g.raters)
    ]
    yield from _duplicates([(p, r.code) for p, r in raters], "rater", "code")
    for p, rater in raters:
        if not _is_ratio(rater.weight):
            yield Problem(f"{p}.weight", f"weight {rater.weight} is outside [0, 1]")
    total = 0.0
    for i, group in enumerate(scoring.groups):
        path = f"$.scoring.groups[{i}]"
        total += group.weight
        if not _is_ratio(group.weight):
            yield Problem(f"{path}.weight", f"weight {group.weight} is outside [0, 1]")
        if not group.raters:
            yield Problem(f"{path}.raters", "a rater group needs at least one rater")
            continue
        inner = sum(r.weight for r in group.raters)
        if abs(inner - group.weight) > _TOLERANCE:
            yield Problem(
                f"{path}.weight", f"raters' weights add up to {_num(inner)}, not {_num(group.weight)}"
            )
    if scoring.groups and abs(total - 1.0) > _TOLERANCE:
        yield Problem("$.scoring.groups", f"group weights add up to {_num(total)}, not 1")


def _check_determination(
    standard: Standard, grade_codes: set[str], section_codes: set[str]
) -> Iterator[Problem]:
    determination = standard.determination
    graded = isinstance(standard.scoring, GradedScoring)
    tiers = determination.tiers
    yield from _duplicates(
        [(f"$.determination.tiers[{i}]", t.code) for i, t in enumerate(tiers)], "tier", "code"
    )
    if any(t.code == determination.fallback.code for t in tiers):
        yield Problem("$.determination.fallback.code", "the fallback tier must differ from every tier")
    for i, tier in enumerate(tiers):
        path = f"$.determination.tiers[{i}]"
        if not tier.conditions:
            yield Problem(f"{path}.conditions", "a tier needs at least one condition")
        if tier.eligibility is not None and not tier.eligibility.rules:
            yield Problem(f"{path}.eligibility.rules", "eligibility needs at least one rule")
        for k, condition in enumerate(tier.conditions):
            cpath = f"{path}.conditions[{k}]"
            if not is_known_scope(condition.scope, section_codes):
                yield Problem(
                    f"{cpath}.scope",
                    f"unknown scope {condition.scope!r} (use all, basic, recommended or section:<code>)",
                )
            if condition.min_ratio is not None and not _is_ratio(condition.min_ratio):
                yield Problem(f"{cpath}.minRatio", f"ratio {condition.min_ratio} is outside [0, 1]")
            if graded:
                if condition.grade_at_least is None:
                    yield Problem(f"{cpath}.gradeAtLeast", "graded mode: every condition needs gradeAtLeast")
                elif condition.grade_at_least not in grade_codes:
                    yield Problem(f"{cpath}.gradeAtLeast", f"unknown grade code {condition.grade_at_least!r}")
            elif condition.grade_at_least is not None:
                yield Problem(f"{cpath}.gradeAtLeast", "gradeAtLeast is only used in graded mode")


def is_known_scope(scope: str, section_codes: set[str]) -> bool:
    if scope in _FIXED_SCOPES:
        return True
    prefix, _, code = scope.partition(":")
    return prefix == "section" and code in section_codes


def _check_programme(standard: Standard) -> Iterator[Problem]:
    settings = standard.programme_settings
    tier_codes = {t.code for t in standard.determination.tiers}
    for i, stage in enumerate(settings.review_chain):
        path = f"$.programmeSettings.reviewChain[{i}]"
        for tier, ratio in stage.sample_ratios.items():
            if tier not in tier_codes:
                yield Problem(f'{path}.sampleRatios["{tier}"]', f"unknown tier {tier!r}")
            if not _is_ratio(ratio):
                yield Problem(f'{path}.sampleRatios["{tier}"]', f"ratio {ratio} is outside [0, 1]")
        for k, tier in enumerate(stage.onsite_required_for):
            if tier not in tier_codes:
                yield Problem(f"{path}.onsiteRequiredFor[{k}]", f"unknown tier {tier!r}")
    for i, scope in enumerate(settings.rank_scopes):
        if scope not in _RANK_SCOPES:
            yield Problem(f"$.programmeSettings.rankScopes[{i}]", f"unknown ranking scope {scope!r}")
    team = settings.expert_team
    if team is not None and team.min_size < 1:
        yield Problem("$.programmeSettings.expertTeam.minSize", "must be at least 1")
    if team is not None and team.min_title is not None and title_level(team.min_title) is None:
        yield Problem("$.programmeSettings.expertTeam.minTitle", f"unknown title level {team.min_title!r}")
    for step, day in settings.stage_deadlines.items():
        if step not in _DEADLINE_STAGES or not _is_month_day(day):
            yield Problem(
                f'$.programmeSettings.stageDeadlines["{step}"]',
                f"a stage ({', '.join(_DEADLINE_STAGES)}) and a date MM-DD are needed; got {step!r}: {day!r}",
            )
    for i, target in enumerate(settings.targets):
        if (target.measure == "reaching") != (target.tier is not None) or (
            target.tier is not None and target.tier not in tier_codes
        ):
            yield Problem(
                f"$.programmeSettings.targets[{i}].tier", "a reaching target names a tier of the standard"
            )
    for name in ("self_assessment_min_months", "reapply_min_interval_months", "title_valid_years"):
        value = getattr(settings, name)
        if value is not None and value < 0:
            wire = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
            yield Problem(f"$.programmeSettings.{wire}", "must not be negative")


_DEADLINE_STAGES = ("application", "county", "city", "province")


def _is_month_day(value: str) -> bool:
    match = re.fullmatch(r"(\d\d)-(\d\d)", value)
    if match is None:
        return False
    month, day = int(match.group(1)), int(match.group(2))
    return 1 <= month <= 12 and 1 <= day <= (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)


def _num(value: float) -> str:
    return f"{value:g}"
