"""The receipt's blockers for answers that do not fit the standard (sync/readiness.py), judged on a shipped
standard's rules without a database: each answer the engine refuses is named from the engine's data, whatever
its codes hold."""

from __future__ import annotations

from typing import Any

import msgspec

from backend.standards.loader import parse_standard, shipped_bytes
from backend.sync_api.rules import StandardItemRules
from sync.readiness import SubmitState, blockers

# a rater code with a quote and a bracket in it, as a standard's author may write one
ODD_RATER = 'duty "officer"]'


def _canteen_with_odd_rater() -> StandardItemRules:
    raw = shipped_bytes("school-canteen-checklist").replace(b'"duty_officer"', msgspec.json.encode(ODD_RATER))
    return StandardItemRules(parse_standard(raw))


def test_every_answer_that_does_not_fit_is_named_by_its_article_or_rater() -> None:
    """A rater's overall score out of range and another rater's article answered out of its kind: both named,
    the article linked, the rater by its label (the engine's English named only the first, and not this
    rater's code at all)."""
    rules = _canteen_with_odd_rater()
    checklist = rules.checklist()
    odd = next(r for r in checklist.raters if r.code == ODD_RATER)
    assert odd.overall == ODD_RATER
    article = checklist.articles[3]
    answers: dict[str, Any] = {ODD_RATER: 1000}
    for a in checklist.articles:
        answers |= {code: True for rater, code in a.items.items() if rater != ODD_RATER}
    wrong_rater, wrong_code = next((r, c) for r, c in article.items.items() if r != ODD_RATER)
    answers[wrong_code] = "x"
    assert wrong_rater != ODD_RATER
    state = SubmitState(status="in_progress", conflict_items=(), answers=answers, photos=())
    said = [(b.code, b.params["detail"], b.links) for b in blockers(rules, state)]
    assert said == [
        ("blockerInvalid", {"code": "invalidAnswerOf", "params": {"item": article.number}}, [article.number]),
        ("blockerInvalid", {"code": "invalidAnswerOf", "params": {"item": odd.label}}, []),
    ]
