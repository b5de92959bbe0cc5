"""Answer checks: whether a set of answers and prerequisite results fits the standard (unknown keys,
unknown grade codes, N/A where not allowed, wrong types, points out of range)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from backend.standards.problems import Problem, answer_problem
from backend.standards.schemas import (
    NA,
    AnswerValue,
    Article,
    GradedScoring,
    PointsScoring,
    Standard,
    WeightedScoring,
)
from backend.standards.validation import walk_articles


def check_answers(
    standard: Standard, answers: Mapping[str, AnswerValue], prerequisites: Mapping[str, bool]
) -> list[Problem]:
    """Problems with a set of answers: unknown keys, unknown grade codes, NA where not allowed, wrong types,
    points out of range. Missing answers are not problems here (the conclusion says `incomplete`)."""
    problems: list[Problem] = []
    scoring = standard.scoring
    by_number = {a.number: a for _, a, _ in walk_articles(standard)}
    known_prereqs = {p.id for p in standard.prerequisites}
    for key, passed in prerequisites.items():
        if key not in known_prereqs:
            problems.append(answer_problem(f"unknown prerequisite {key!r}", "prerequisites", key))
        elif not isinstance(passed, bool):
            problems.append(answer_problem("expected true or false", "prerequisites", key))
    if isinstance(scoring, WeightedScoring):
        rater_codes = {r.code for g in scoring.groups for r in g.raters}
        for key, value in answers.items():
            said: str | None = None
            if key not in rater_codes:
                said = f"unknown rater {key!r}"
            elif isinstance(value, dict):
                for number, item in value.items():
                    wrong = _check_one(standard, by_number, number, item)
                    if wrong is not None:
                        problems.append(answer_problem(wrong, "answers", key, number))
            elif isinstance(value, bool) or not isinstance(value, int | float):
                said = "expected a score or a mapping of article answers"
            elif not (math.isfinite(value) and 0 <= value <= scoring.scale):
                said = f"score {value} is outside [0, {scoring.scale:g}]"
            if said is not None:
                problems.append(answer_problem(said, "answers", key))
        return problems
    vetoes = {v.id for v in standard.veto_items}
    for key, value in answers.items():
        if key in vetoes:
            said = (
                None if isinstance(value, bool) else "veto items are answered true (requirement met) or false"
            )
        elif isinstance(value, dict):
            said = "only weighted standards take answers per rater"
        else:
            said = _check_one(standard, by_number, key, value)
        if said is not None:
            problems.append(answer_problem(said, "answers", key))
    return problems


def _check_one(standard: Standard, by_number: Mapping[str, Article], number: str, value: Any) -> str | None:
    """Why one article's answer does not fit, ``None`` when it does."""
    article = by_number.get(number)
    if article is None:
        return f"unknown article {number!r}"
    if value == NA and isinstance(value, str):
        return None if article.na_allowed else f"article {number} does not allow {NA}"
    scoring = standard.scoring
    if isinstance(scoring, GradedScoring):
        if not isinstance(value, str) or value not in {g.code for g in scoring.grades}:
            return f"unknown grade code {value!r}"
        return None
    points_items = isinstance(scoring, PointsScoring) or (
        isinstance(scoring, WeightedScoring) and scoring.item_mode == "points"
    )
    if points_items:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return "expected a number"
        if article.indicator is not None:
            return None if value >= 0 else "a measured value must not be negative"
        maximum = article.points or 0.0
        if not 0 <= value <= maximum:
            return f"points {value} are outside [0, {maximum:g}]"
        return None
    if not isinstance(value, bool):
        return "expected true (passed) or false (failed)"
    return None
