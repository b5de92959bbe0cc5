"""Rankings of a facility's article grades and per-section discrepancy rates, read from the answer registers.

Who may see what (guards check the role; these functions check the scope again): rankings — admin, an office
of the facility's region, and the facility's clinic (its self-assessment; a review stage once that review is
returned to it or accepted); discrepancy rates — admin and offices, over the facilities of their region.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from backend.errors import Forbidden, NotFound
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.scope import ensure_facility_visible, visible_facility_ids
from backend.inspections.tables import Inspection, Round
from backend.programme.rankings import explain, explain_message, rank_round, value_of
from backend.programme.schemas import (
    ArticleRankOut,
    DiscrepancyRatesOut,
    FacilityRankingOut,
    PlaceOut,
    SectionRate,
)
from backend.registry.tables import Region
from backend.review.discrepancies import compare, grade_gap, is_wide
from backend.standards.schemas import Answer, Standard
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles
from sync.api import answers_by_inspection
from sync.tables import AnswerRegister

RULE = (
    "competition ranking: rank = 1 + the number of peers with a better grade; peers with the same grade share "
    "the rank and the next rank skips (1, 2, 2, 4); unanswered and N/A articles are not ranked; peers are the "
    "facilities assessed under the same standard at the same stage of this round in the same region"
)


async def register_values(inspection_ids: list[UUID]) -> dict[UUID, dict[str, Answer]]:
    """inspection → item → current value (``na`` wins), for many inspections in one query."""
    out: dict[UUID, dict[str, Answer]] = defaultdict(dict)
    if not inspection_ids:
        return out
    rows = await AnswerRegister.select(
        AnswerRegister.inspection_id, AnswerRegister.item_code, AnswerRegister.field, AnswerRegister.value
    ).where(AnswerRegister.inspection_id.is_in(inspection_ids) & AnswerRegister.field.is_in(["value", "na"]))
    # the one reading of the registers (sync.api.answers_by_inspection)
    out.update(answers_by_inspection(rows))
    return out


async def region_chains() -> tuple[dict[UUID, tuple[UUID, UUID, UUID]], dict[UUID, str]]:
    """county → (county, city, province), and every region's name."""
    rows = await Region.select(Region.id, Region.parent, Region.level, Region.name)
    parent = {r["id"]: r["parent"] for r in rows}
    chains = {}
    for r in rows:
        if r["level"] == "county":
            city = parent.get(r["id"])
            province = parent.get(city) if city else None
            chains[r["id"]] = (r["id"], city or r["id"], province or city or r["id"])
    return chains, {r["id"]: r["name"] for r in rows}


async def _round_exists(round_id: UUID) -> None:
    if not await Round.exists().where(Round.id == round_id):
        raise NotFound(f"round {round_id} does not exist", code="round_not_found")


async def facility_rankings(
    *, user: AuthUser, facility_id: UUID, round_id: UUID, stage: str
) -> FacilityRankingOut:
    ensure_role(user, "admin", "office", "clinic")
    await ensure_facility_visible(user, facility_id)
    await _round_exists(round_id)
    columns = (
        Inspection.id,
        Inspection.facility,
        Inspection.status,
        Inspection.standard_version_id,
        Inspection.facility.region.as_alias("county"),
    )
    own = (
        await Inspection.select(*columns)
        .where(
            (Inspection.facility == facility_id)
            & (Inspection.round == round_id)
            & (Inspection.stage == stage)
        )
        .first()
    )
    if own is None:
        raise NotFound(f"the facility has no {stage} inspection at this round", code="inspection_not_found")
    if user.role == "clinic" and stage != "self" and own["status"] not in ("returned", "accepted"):
        raise Forbidden(
            "a clinic sees a review's grades once it is returned to it or accepted", code="out_of_scope"
        )
    standard = await get_standard(standard_id=own["standard_version_id"])
    chains, names = await region_chains()
    province = chains[own["county"]][2]
    peers = [
        r
        for r in await Inspection.select(*columns).where(
            (Inspection.round == round_id)
            & (Inspection.stage == stage)
            & (Inspection.standard_version_id == standard.id)
        )
        if r["county"] in chains and chains[r["county"]][2] == province
    ]
    answers = await register_values([r["id"] for r in peers])
    values: dict[str, dict[str, float]] = {}
    regions: dict[str, tuple[str, str, str, str]] = {}
    for r in peers:
        key = str(r["facility"])
        county, city, prov = chains[r["county"]]
        regions[key] = (standard.id, str(county), str(city), str(prov))
        values[key] = {
            item: number
            for item, value in answers.get(r["id"], {}).items()
            if (number := value_of(standard, value)) is not None
        }
    me = str(facility_id)
    scopes = set(standard.programme_settings.rank_scopes or ("county", "city", "province"))
    ranked = rank_round(regions, values, [me])
    mine = answers.get(own["id"], {})
    chain = chains[own["county"]]
    articles = []
    for _, article, sections in walk_articles(standard):
        value = mine.get(article.number)
        shown = str(value) if value is not None else ""
        places = []
        for scope, region in zip(("county", "city", "province"), chain, strict=True):
            if scope not in scopes:
                continue  # the programme ranks only within its rankScopes
            place = ranked.get((me, article.number, scope))
            if place is not None:
                places.append(
                    PlaceOut(
                        scope=scope,
                        region_id=region,
                        region_name=names.get(region, ""),
                        rank=place.rank,
                        tied=place.tied,
                        of=place.of,
                        explanation=explain(place, names.get(region, ""), shown),
                        explanation_message=explain_message(place, names.get(region, ""), shown),
                    )
                )
        articles.append(
            ArticleRankOut(
                item=article.number,
                title=article.title,
                section=sections[0].code,
                value=value,
                places=places,
            )
        )
    return FacilityRankingOut(
        facility_id=facility_id,
        round_id=round_id,
        stage=stage,
        standard_id=standard.id,
        rule=RULE,
        articles=articles,
    )


async def discrepancy_rates(*, user: AuthUser, round_id: UUID, stage: str) -> DiscrepancyRatesOut:
    """Per top-level section of each standard: how often the ``stage`` review differs from the self-assessment."""
    ensure_role(user, "admin", "office")
    if not await round_visible(user, await round_by_id(round_id)):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    visible = await visible_facility_ids(user)
    query = Inspection.select(
        Inspection.id, Inspection.facility, Inspection.stage, Inspection.standard_version_id
    ).where((Inspection.round == round_id) & Inspection.stage.is_in(["self", stage]))
    rows = [r for r in await query if visible is None or r["facility"] in visible]
    by_facility: dict[UUID, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        by_facility[r["facility"]][r["stage"]] = r
    pairs = [(s["self"], s[stage]) for s in by_facility.values() if "self" in s and stage in s]
    answers = await register_values([r["id"] for pair in pairs for r in pair])
    counts: dict[tuple[str, str], dict[str, int]] = {}
    titles: dict[tuple[str, str], str] = {}
    standards: dict[str, Standard] = {}
    for own, review in pairs:
        sid = review["standard_version_id"]
        if sid not in standards:
            try:
                standards[sid] = await get_standard(standard_id=sid)
            except NotFound:
                continue
        standard = standards[sid]
        mine, theirs = answers.get(own["id"], {}), answers.get(review["id"], {})
        for _, article, sections in walk_articles(standard):
            key = (sid, sections[0].code)
            titles[key] = sections[0].title
            c = counts.setdefault(key, dict.fromkeys(("compared", "differing", "higher", "lower", "wide"), 0))
            difference = compare(standard, mine.get(article.number), theirs.get(article.number))
            if difference in ("missing", "not_comparable"):
                continue
            c["compared"] += 1
            if difference != "same":
                c["differing"] += 1
                c[difference] += 1
                if is_wide(
                    standard, grade_gap(standard, mine.get(article.number), theirs.get(article.number))
                ):
                    c["wide"] += 1
    rates = [
        SectionRate(
            standard_id=sid,
            section=code,
            title=titles[(sid, code)],
            compared=c["compared"],
            differing=c["differing"],
            higher=c["higher"],
            lower=c["lower"],
            wide_gaps=c["wide"],
            rate=c["differing"] / c["compared"] if c["compared"] else None,
        )
        for (sid, code), c in counts.items()
    ]
    return DiscrepancyRatesOut(round_id=round_id, stage=stage, facilities=len(pairs), sections=rates)
