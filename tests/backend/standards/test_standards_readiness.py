"""Whether an inspection may be submitted: every prerequisite and every article answered."""

from __future__ import annotations

from backend.standards import load_shipped, submit_readiness, validate_standard
from backend.standards.validation import walk_articles
from tests.backend.standards.builders import ALL_PASS, graded
from tests.backend.standards.builders import article as _article


def test_submit_readiness_needs_every_prerequisite_and_article() -> None:
    std = load_shipped("township-2018")
    articles = [a.number for _, a, _ in walk_articles(std)]
    few = submit_readiness(std, dict.fromkeys(articles[:3], "A"), {})
    assert not few.ready
    assert few.missing_prerequisites == ("P1", "P2", "P3")
    assert few.missing == tuple(articles[3:])
    assert few.reason.startswith("prerequisite(s) not answered: P1, P2, P3; 40 not answered")
    p_all = {p.id: True for p in std.prerequisites}
    assert submit_readiness(std, dict.fromkeys(articles, "B"), p_all).ready
    # N/A counts as an answer where the article allows it
    graded_std = validate_standard(graded(articles=[{**_article("1.1"), "naAllowed": True}, _article("1.2")]))
    assert submit_readiness(graded_std, {"1.1": "NA", "1.2": "C"}, ALL_PASS).ready
    assert submit_readiness(graded_std, {"1.2": "C"}, ALL_PASS).missing == ("1.1",)
