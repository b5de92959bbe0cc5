"""A facility's result at a round, returned to its clinic once the office signs a stage off: the final grade
per article, the tier, its place per article within the programme's rank scopes (各条指标评档在县区域内、市域
内、省域内的位次), and the articles where it ranked low, offered for its improvement plan. It carries nothing of
per-expert grades or inspectors' notes: the grades are the signed stage's registers, the places are ranks."""

from __future__ import annotations

from uuid import UUID

import msgspec

from backend.errors import NotFound
from backend.guards import AuthUser, ensure_role
from backend.inspections.scope import ensure_facility_visible
from backend.inspections.tables import Inspection
from backend.programme.analysis import facility_rankings
from backend.review.decision import statement, tier_label
from backend.review.flow import STAGES, carried_tier
from backend.review.tables import ConfirmedConclusion
from backend.standards.conclusion import Conclusion
from backend.standards.schemas import GradedScoring, Standard
from backend.standards.services import get_standard
from backend.verdict.lists import confirmations, state_of
from backend.verdict.schemas import ArticleResult, ClinicResultOut, Suggestion

LOW_PEERS = 3  # fewer peers than this rank nobody low


def low(rank: int, of: int) -> bool:
    """In the lower half of at least three peers (competition ranks: ties share the better rank)."""
    return of >= LOW_PEERS and rank > (of + 1) // 2


def top_grade(standard: Standard) -> str | None:
    scoring = standard.scoring
    if isinstance(scoring, GradedScoring):
        return max(scoring.grades, key=lambda g: g.rank).code
    return None


async def clinic_result(*, user: AuthUser, facility_id: UUID, round_id: UUID) -> ClinicResultOut:
    ensure_role(user, "admin", "office", "clinic")
    await ensure_facility_visible(user, facility_id)
    signed = (
        await ConfirmedConclusion.select(
            ConfirmedConclusion.stage,
            ConfirmedConclusion.tier,
            ConfirmedConclusion.tier_label,
            ConfirmedConclusion.decided_by,
            ConfirmedConclusion.decision_reason,
            ConfirmedConclusion.overridden,
            ConfirmedConclusion.computed_tier,
            ConfirmedConclusion.standard_version_id,
            ConfirmedConclusion.explanation,
            ConfirmedConclusion.confirmed_at,
            ConfirmedConclusion.threshold_setting.document_no.as_alias("document_no"),
            ConfirmedConclusion.threshold_setting.document_date.as_alias("document_date"),
        )
        .where((ConfirmedConclusion.facility == facility_id) & (ConfirmedConclusion.round == round_id))
        .order_by(ConfirmedConclusion.confirmed_at)
    )
    flow = await carried_tier(round_id, facility_id)
    if not signed:
        return ClinicResultOut(
            facility_id=facility_id,
            round_id=round_id,
            signed=False,
            stage=None,
            applied_tier=flow.applied if flow else None,
            tier=None,
            tier_label=None,
            state=None,
            decided_by=None,
            statement=[],
            rank_scopes=[],
            articles=[],
            suggestions=[],
            improvement_kinds=[],
        )
    latest = max(signed, key=lambda r: (STAGES.index(r["stage"]), r["confirmed_at"]))
    stage = latest["stage"]
    standard = await get_standard(standard_id=latest["standard_version_id"])
    if not await Inspection.exists().where(
        (Inspection.facility == facility_id) & (Inspection.round == round_id) & (Inspection.stage == stage)
    ):
        raise NotFound("the signed stage's inspection is gone", code="inspection_not_found")
    ranking = await facility_rankings(user=user, facility_id=facility_id, round_id=round_id, stage=stage)
    settings = standard.programme_settings
    scopes = list(settings.rank_scopes) or ["county", "city", "province"]
    best = top_grade(standard)
    articles, suggestions = [], []
    for a in ranking.articles:
        places = [p for p in a.places if p.scope in scopes]
        # the narrowest scope with peers enough to rank among (a county of two says nothing of "low")
        narrow = next((p for p in places if p.of >= LOW_PEERS), places[0] if places else None)
        ranked_low = narrow is not None and low(narrow.rank, narrow.of) and a.value != best
        articles.append(
            ArticleResult(
                item=a.item,
                title=a.title,
                section=a.section,
                value=a.value,
                places=places,
                ranked_low=ranked_low,
            )
        )
        if ranked_low and narrow is not None:
            suggestions.append(
                Suggestion(
                    item=a.item,
                    title=a.title,
                    value=a.value,
                    scope=narrow.scope,
                    rank=narrow.rank,
                    of=narrow.of,
                )
            )
    suggestions.sort(key=lambda s: (-s.rank / s.of, s.item))
    confirmed = any(
        e.facility_id == facility_id
        for c in await confirmations(round_id)
        if c.kind == "confirmation"
        for e in c.entries
    )
    tier = flow.carried if flow is not None and flow.carried is not None else latest["tier"]
    words = statement(
        standard,
        latest["tier"],
        latest["decided_by"],
        msgspec.json.decode(latest["explanation"], type=Conclusion),
        applied=flow.applied if flow else None,
        reason=latest["decision_reason"],
        overridden=bool(latest["overridden"]),
        computed_tier=latest["computed_tier"],
        document_no=latest["document_no"],
        document_date=str(latest["document_date"]) if latest["document_date"] else None,
    )
    return ClinicResultOut(
        facility_id=facility_id,
        round_id=round_id,
        signed=True,
        stage=stage,
        applied_tier=flow.applied if flow else None,
        tier=tier,
        tier_label=tier_label(standard, tier) if tier else None,
        state=state_of(flow, confirmed, False) if flow else None,
        decided_by=latest["decided_by"],
        statement=words,
        rank_scopes=scopes,
        articles=articles,
        suggestions=suggestions,
        improvement_kinds=list(settings.improvement_list_kinds),
    )
