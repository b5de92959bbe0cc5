"""The standards shipped in backend/standards/data/: each validates and says what is verified."""

from __future__ import annotations

import msgspec
import pytest

from backend.standards import (
    FacilityFigures,
    conclude,
    load_shipped,
    shipped_bytes,
    shipped_names,
    validate_standard,
)
from backend.standards.schemas import GradedScoring, PointsScoring, WeightedScoring
from backend.standards.validation import walk_articles

P_ALL = {"P1": True, "P2": True, "P3": True}


def test_the_four_standards_are_shipped() -> None:
    assert shipped_names() == (
        "community-2018",
        "mch-1000",
        "school-canteen-checklist",
        "school-canteen-routine",
        "township-2018",
    )


@pytest.mark.parametrize("name", shipped_names())
def test_every_shipped_file_passes_validation(name: str) -> None:
    raw = msgspec.json.decode(shipped_bytes(name))
    standard = validate_standard(raw)
    assert "\u4e00" <= standard.name[0] <= "\u9fff"  # Chinese title first
    assert standard.verification_notes


def test_township_rules_as_verified() -> None:
    std = load_shipped("township-2018")
    assert isinstance(std.scoring, GradedScoring)
    assert [(p.id, p.verification) for p in std.prerequisites] == [
        ("P1", "verified"),
        ("P2", "verified"),
        ("P3", "verified"),
    ]
    tiers = {t.code: t for t in std.determination.tiers}
    assert list(tiers) == ["recommended", "basic", "qualified"]
    assert all(c.min_ratio is None for code in ("recommended", "basic") for c in tiers[code].conditions)
    qualified = tiers["qualified"]
    assert qualified.verification == "verified"
    assert [(c.scope, c.grade_at_least, c.min_ratio) for c in qualified.conditions] == [
        ("basic", "C", 0.8),
        ("basic", "B", 0.2),
        ("basic", "A", 0.05),
    ]
    assert qualified.eligibility is not None
    assert [(r.figure, r.op, r.value) for r in qualified.eligibility.rules] == [
        ("medicalStaffCount", "<", 10),
        ("servicePopulation", "<", 10000),
    ]
    articles = [a for _, a, _ in walk_articles(std)]
    assert len(articles) == 43
    assert all(a.verification == "illustrative" for a in articles)
    settings = std.programme_settings
    assert settings.expert_team is not None
    assert (settings.expert_team.min_size, settings.expert_team.odd_size) == (5, True)
    assert [s.sample_ratios.get("basic") for s in settings.review_chain[:3]] == [1.0, 0.5, 0.2]
    assert (settings.self_assessment_min_months, settings.reapply_min_interval_months) == (6, 6)


def test_township_conclusion_is_undetermined_until_thresholds_are_transcribed() -> None:
    std = load_shipped("township-2018")
    answers = {a.number: "A" for _, a, _ in walk_articles(std)}
    small = FacilityFigures(medical_staff_count=8, service_population=9000)
    result = conclude(std, answers, small, P_ALL)
    assert result.status == "undetermined"
    assert result.tier is None
    assert "tier recommended (推荐标准) cannot be decided" in result.reasons[0]
    assert {t.code: t.outcome for t in result.tiers}["qualified"] == "reached"
    assert result.verification == "illustrative"
    assert conclude(std, answers, small, {**P_ALL, "P3": False}).status == "not_evaluated"


def test_mch_points_scale_floor_and_veto() -> None:
    std = load_shipped("mch-1000")
    assert isinstance(std.scoring, PointsScoring)
    assert std.scoring.total == 1000
    assert sum(s.max_points or 0 for s in std.sections) == 1000
    indicator = next(a for _, a, _ in walk_articles(std) if a.title == "孕产妇系统管理率").indicator
    assert indicator is not None
    assert (indicator.op, indicator.value, indicator.floor) == (">=", 0.9, 0.9)
    assert [v.id for v in std.veto_items] == ["V1"]
    answers: dict[str, float | bool] = {a.number: 0 for _, a, _ in walk_articles(std)}
    answers["V1"] = False
    assert conclude(std, answers).tier == "not_awarded"


def test_school_appraisal_weights_from_the_seed() -> None:
    std = load_shipped("school-canteen-checklist")
    assert isinstance(std.scoring, WeightedScoring)
    weights = {(g.code, g.weight): [(r.label, r.weight) for r in g.raters] for g in std.scoring.groups}
    assert weights == {
        ("routine", 0.7): [("值日行政", 0.4), ("学生（各班生活委员）", 0.15), ("班主任", 0.15)],
        ("end_of_term", 0.3): [("各班学生代表", 0.3)],
    }
    assert any(a.critical for _, a, _ in walk_articles(std))


def test_the_shop_ledger_of_seed_004_is_asked_for_as_a_document() -> None:
    """Seed 004 (小卖部工作 七) asks the shop to keep its ledger (认真做好台帐，接受上级检查): the routine checklist's
    2.7 needs one document; it is the only article of the shipped standards the seeds ask a document for."""
    asked: dict[str, list[str]] = {}
    for name in shipped_names():
        standard = load_shipped(name)
        for _, article, _ in walk_articles(standard):
            if article.evidence is not None and article.evidence.min_documents > 0:
                asked.setdefault(name, []).append(article.number)
    assert asked == {"school-canteen-routine": ["2.7"]}
