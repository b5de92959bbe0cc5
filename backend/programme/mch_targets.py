"""A title programme's indicators (seed 001, ``mch.py``): the subject's own targets, each never below the
national value ("不得低于该目标值"), and the veto items and indicator floors beside a points-scored conclusion."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.scope import ensure_facility_visible
from backend.inspections.services import self_assessment
from backend.inspections.tables import Inspection
from backend.programme.kinds import kind_of
from backend.programme.title_schemas import FloorOut, PointsSummaryOut, SetTargetsRequest, TargetOut, VetoOut
from backend.programme.title_tables import SubjectTarget
from backend.review.answers import own_targets
from backend.review.services import compute_conclusion
from backend.standards.conclusion import Conclusion
from backend.standards.schemas import Article, Section, Standard
from backend.standards.services import get_standard


def _articles(sections: tuple[Section, ...]) -> list[Article]:
    found: list[Article] = []
    for section in sections:
        found.extend(section.articles)
        found.extend(_articles(section.sections))
    return found


def indicator_articles(standard: Standard) -> dict[str, Article]:
    return {a.number: a for a in _articles(standard.sections) if a.indicator is not None}


def lowest_own_target(article: Article) -> float:
    """The national value a subject's own target may not undercut (for ``<=``: may not exceed)."""
    assert article.indicator is not None
    floor = article.indicator.floor
    return floor if floor is not None else article.indicator.value


def target_allowed(article: Article, target: float) -> bool:
    assert article.indicator is not None
    bound = lowest_own_target(article)
    return target >= bound if article.indicator.op == ">=" else target <= bound


async def self_standard(facility_id: UUID, round_id: UUID) -> Standard:
    row = await self_assessment(facility_id, round_id, Inspection.standard_version_id)
    if row is None:
        raise Conflict("the subject has no self-evaluation (自评) at this round", code="no_self_assessment")
    return await get_standard(standard_id=row["standard_version_id"])


async def list_targets(*, user: AuthUser, facility_id: UUID, round_id: UUID) -> list[TargetOut]:
    await ensure_facility_visible(user, facility_id)
    standard = await self_standard(facility_id, round_id)
    own = await own_targets(facility_id, round_id, standard.id)
    out = []
    for number, article in indicator_articles(standard).items():
        assert article.indicator is not None
        out.append(
            TargetOut(
                article=number,
                title=article.title,
                op=article.indicator.op,
                national=article.indicator.value,
                floor=lowest_own_target(article),
                target=own.get(number),
                unit=article.indicator.unit,
            )
        )
    return out


async def set_targets(
    *, user: AuthUser, facility_id: UUID, round_id: UUID, data: SetTargetsRequest
) -> list[TargetOut]:
    """The subject's own targets (all or none): each on an indicator article, never below the national value."""
    ensure_role(user, "admin", "office", "clinic")
    await ensure_facility_visible(user, facility_id)
    standard = await self_standard(facility_id, round_id)
    kind = kind_of(standard)
    if kind is None or not kind.adapts_indicators:
        raise Conflict(
            f"the programme of {standard.id} does not let a subject set its own targets",
            code="targets_not_in_programme",
        )
    articles = indicator_articles(standard)
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in data.targets:
        article = articles.get(item.article)
        if item.article in seen:
            problems.append({"code": "duplicate_target", "params": {"article": item.article}})
        elif article is None:
            problems.append({"code": "not_an_indicator", "params": {"article": item.article}})
        elif not target_allowed(article, item.target):
            assert article.indicator is not None
            problems.append(
                {
                    "code": "below_national_target",
                    "params": {
                        "article": item.article,
                        "title": article.title,
                        "target": item.target,
                        "national": lowest_own_target(article),
                        "op": article.indicator.op,
                    },
                }
            )
        seen.add(item.article)
    if problems:
        raise RuleRefused(
            "; ".join(f"{p['code']} {p['params']['article']}" for p in problems),
            code=problems[0]["code"],
            problems=problems,
        )
    async with write_tx():
        for item in data.targets:
            await SubjectTarget.delete().where(
                (SubjectTarget.facility == facility_id)
                & (SubjectTarget.round == round_id)
                & (SubjectTarget.article == item.article)
            )
            await SubjectTarget(
                facility=facility_id,
                round=round_id,
                standard_version_id=standard.id,
                article=item.article,
                target=item.target,
                set_by=user.id,
            ).save()
        await record(
            user_id=str(user.id),
            action="targets.set",
            entity=f"facility/{facility_id}",
            details={"round": str(round_id), "targets": {t.article: t.target for t in data.targets}},
        )
    return await list_targets(user=user, facility_id=facility_id, round_id=round_id)


async def points_summary(*, user: AuthUser, inspection_id: UUID) -> PointsSummaryOut:
    """The veto items and the indicator floors of a points-scored inspection (its conclusion computed now)."""
    view = await compute_conclusion(user=user, inspection_id=inspection_id)
    conclusion: Conclusion = view.conclusion
    if conclusion.score is None or conclusion.score.mode != "points":
        raise Conflict("the inspection's standard is not scored in points", code="not_points_scored")
    standard = await get_standard(standard_id=view.standard_id)
    articles = indicator_articles(standard)
    own = await own_targets(view.facility_id, view.round_id, standard.id)
    floors = []
    for result in conclusion.score.indicators:
        article = articles[result.number]
        assert article.indicator is not None
        target = own.get(result.number)
        national = article.indicator.value
        met_national = (
            result.measured >= national - 1e-9 if result.op == ">=" else result.measured <= national + 1e-9
        )
        floors.append(
            FloorOut(
                article=result.number,
                title=result.title,
                op=result.op,
                measured=result.measured,
                national=article.indicator.value,
                floor=lowest_own_target(article),
                own_target=target,
                met_national=met_national,
                scored_against=result.target_source,
                met_own=(
                    None
                    if target is None
                    else (result.measured >= target if result.op == ">=" else result.measured <= target)
                ),
                points=result.points,
                max_points=result.max_points,
                mandatory=article.indicator.mandatory,
            )
        )
    return PointsSummaryOut(
        inspection_id=inspection_id,
        standard_id=standard.id,
        status=conclusion.status,
        tier=conclusion.tier,
        tier_label=conclusion.tier_label,
        points=conclusion.score.points,
        max_points=conclusion.score.max_points,
        reasons=list(conclusion.reasons),
        vetoes=[VetoOut(id=v.id, text=v.text, outcome=v.outcome) for v in conclusion.score.vetoes],
        floors=floors,
    )
