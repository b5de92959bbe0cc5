"""Review samples for the city and province stages: drawn, explained, audited; re-drawn only before use.

Who may do what (guards check the role; these functions check the scope again): an office draws over its own
region at its own level (a city office the city sample, a province office the province sample), admin over
any region it names; both read the samples of their scope.

The draw opens only once the stage before it has concluded over the region: every open applicant reviewed
there (county: all; city: recommended ones and those drawn) has a signed-off conclusion, and the earlier
samples are drawn. The pool is every facility of the region still on the list with that tier (reported by its
county with the tier found there, not removed since: review/flow.py), grouped by county; the share comes from
the facilities' standards (``programmeSettings.reviewChain[level].sampleRatios[tier]``), counted on that pool
(上报数).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import as_utc, write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.tables import Application, Inspection
from backend.programme.kinds import kind_of
from backend.programme.rules import OPEN_APPLICATION, STAGES, concluded, sample_ratio, selection
from backend.programme.sampling import draw
from backend.programme.schemas import DrawnFacility, DrawSampleRequest, SampleOut, StratumOut
from backend.programme.tables import ReviewSample
from backend.registry.scope import region_subtree, visible_region_ids
from backend.registry.tables import Region
from backend.review.flow import round_flows
from backend.standards.schemas import Standard
from backend.standards.services import get_standard
from backend.vocabulary import Message


async def _region(user: AuthUser, data: DrawSampleRequest) -> dict[str, Any]:
    if user.role == "office":
        if data.region_id is not None and data.region_id != user.region_id:
            raise Forbidden("an office draws over its own region", code="out_of_scope")
        region_id = user.region_id
    else:
        if data.region_id is None:
            raise RuleRefused("name the region drawn over (regionId)", code="region_required")
        region_id = data.region_id
    row: dict[str, Any] | None = (
        await Region.select(Region.id, Region.name, Region.level).where(Region.id == region_id).first()
    )
    if row is None:
        raise NotFound(f"region {region_id} does not exist", code="region_not_found")
    if row["level"] != data.level:
        raise Conflict(
            f"the {data.level} sample is drawn over a {data.level}; {row['name']} is a {row['level']}",
            code="wrong_region_level",
        )
    return row


async def applicants(round_id: UUID, regions: set[UUID]) -> list[dict[str, Any]]:
    """Open applications at the round of facilities in the regions, with facility name, county and standard."""
    rows = await Application.select(
        Application.id,
        Application.facility,
        Application.tier,
        Application.facility.name.as_alias("name"),
        Application.facility.region.as_alias("county"),
    ).where(
        (Application.round == round_id)
        & Application.status.is_in(list(OPEN_APPLICATION))
        & Application.facility.region.is_in(list(regions))
    )
    own = {
        r["facility"]: r["standard_version_id"]
        for r in await Inspection.select(Inspection.facility, Inspection.standard_version_id).where(
            (Inspection.round == round_id) & (Inspection.stage == "self")
        )
    }
    county_names = {r["id"]: r["name"] for r in await Region.select(Region.id, Region.name)}
    # a facility the county reported carries the tier found there (上报数 counts those), not the one applied for
    flows = await round_flows(round_id, [r["facility"] for r in rows])
    for row in rows:
        row["standard_id"] = own.get(row["facility"])
        row["county_name"] = county_names.get(row["county"], str(row["county"]))
        flow = flows.get(row["facility"])
        row["reported"] = flow is not None and flow.carried is not None
        if flow is not None and flow.carried is not None:
            row["tier"] = flow.carried
    return list(rows)


async def standard_of(row: dict[str, Any]) -> Standard | None:
    if row["standard_id"] is None:
        return None
    try:
        return await get_standard(standard_id=row["standard_id"])
    except NotFound:
        return None


async def pooled_whole(rows: list[dict[str, Any]]) -> bool:
    for row in rows:
        standard = await standard_of(row)
        kind = kind_of(standard) if standard is not None else None
        if kind is not None and kind.sample_strata == "whole":
            return True
    return False


async def _ensure_previous_stage_concluded(round_id: UUID, level: str, rows: list[dict[str, Any]]) -> None:
    waiting: list[str] = []
    for row in rows:
        standard = await standard_of(row)
        for earlier in STAGES[: STAGES.index(level)]:
            if standard is None:
                chosen = "all" if earlier == "county" else "not_reviewed"
            else:
                chosen, _ = await selection(row["facility"], round_id, earlier, row["tier"], standard)
            if chosen == "not_drawn_yet":
                waiting.append(f"{row['name']} (the {earlier} sample is not drawn)")
                break
            if chosen in ("all", "drawn") and not await concluded(row["facility"], round_id, earlier):
                waiting.append(f"{row['name']} (no signed-off {earlier} conclusion)")
                break
    if waiting:
        raise Conflict(
            f"the stage before the {level} review has not concluded for {len(waiting)} applicant(s): "
            + "; ".join(waiting[:10])
            + (" …" if len(waiting) > 10 else ""),
            code="stage_order",
            waiting=waiting,
        )


async def in_use(sample: dict[str, Any]) -> bool:
    drawn = [UUID(f) for stratum in sample["strata"] for f in stratum["drawn"]]
    if not drawn:
        return False
    used: bool = await Inspection.exists().where(
        (Inspection.round == sample["round"])
        & (Inspection.stage == sample["level"])
        & Inspection.facility.is_in(drawn)
    )
    return used


async def draw_sample(*, user: AuthUser, round_id: UUID, data: DrawSampleRequest) -> SampleOut:
    ensure_role(user, "admin", "office")
    round_row = await round_by_id(round_id)
    if not await round_visible(user, round_row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    region = await _region(user, data)
    regions = await region_subtree(region["id"])
    rows = await applicants(round_id, regions)
    await _ensure_previous_stage_concluded(round_id, data.level, rows)

    pool_rows = [r for r in rows if r["tier"] == data.tier and r["reported"]]
    if not pool_rows:
        raise Conflict(
            f"no open {data.tier}-tier application in {region['name']} at this round", code="empty_pool"
        )
    ratios = set()
    for row in pool_rows:
        standard = await standard_of(row)
        if standard is not None and (ratio := sample_ratio(standard, data.level, data.tier)) is not None:
            ratios.add(ratio)
    if not ratios:
        raise Conflict(
            f"the applicants' standards have no {data.level} review", code="stage_not_in_programme"
        )
    ratio = max(ratios)  # standards that differ: the larger share, so none is under-sampled
    if ratio >= 1.0:
        raise Conflict(
            f"every {data.tier}-tier applicant is reviewed at the {data.level} stage; there is nothing to draw",
            code="nothing_to_draw",
        )
    seed = data.seed or secrets.token_hex(8)
    # subjects that are counties are drawn from one pool over the region (kinds.py: sampleStrata)
    whole = await pooled_whole(pool_rows)
    pools: dict[str, list[str]] = defaultdict(list)
    county_names: dict[str, str] = {}
    names: dict[str, str] = {}
    for row in pool_rows:
        stratum = str(region["id"]) if whole else str(row["county"])
        pools[stratum].append(str(row["facility"]))
        county_names[stratum] = region["name"] if whole else row["county_name"]
        names[str(row["facility"])] = row["name"]
    strata = draw(pools, ratio, seed, county_names)
    stored = [
        {
            "county": s.county,
            "countyName": s.county_name,
            "pool": list(s.pool),
            "drawn": list(s.drawn),
            "names": {f: names[f] for f in s.pool},
            "why": s.why,
        }
        for s in strata
    ]
    async with write_tx():
        where = (
            (ReviewSample.round == round_id)
            & (ReviewSample.level == data.level)
            & (ReviewSample.region == region["id"])
            & (ReviewSample.tier == data.tier)
        )
        earlier = await ReviewSample.select().where(where).output(load_json=True).first()
        if earlier is not None:
            if await in_use(earlier):
                raise Conflict(
                    f"the {data.level} sample (seed {earlier['seed']}) is in use: a drawn facility's review "
                    "exists, so it cannot be drawn again",
                    code="sample_in_use",
                )
            await ReviewSample.delete().where(ReviewSample.id == earlier["id"])
        sample = ReviewSample(
            round=round_id,
            level=data.level,
            region=region["id"],
            tier=data.tier,
            ratio=ratio,
            seed=seed,
            strata=stored,
            drawn_by=user.id,
        )
        await sample.save()
        await record(
            user_id=str(user.id),
            action="sample.redraw" if earlier is not None else "sample.draw",
            entity=f"sample/{sample.id}",
            details={
                "round": str(round_id),
                "level": data.level,
                "region": str(region["id"]),
                "tier": data.tier,
                "ratio": ratio,
                "seed": seed,
                "drawn": [f for s in strata for f in s.drawn],
                "pool": sum(len(s.pool) for s in strata),
                **({"replaces": {"seed": earlier["seed"]}} if earlier is not None else {}),
            },
        )
    saved = await ReviewSample.select().where(ReviewSample.id == sample.id).output(load_json=True).first()
    assert saved is not None
    return await _sample_out(saved)


async def _sample_out(row: dict[str, Any]) -> SampleOut:
    strata = []
    for s in row["strata"]:
        drawn = set(s["drawn"])
        strata.append(
            StratumOut(
                county_id=UUID(s["county"]),
                county_name=s["countyName"],
                pool_size=len(s["pool"]),
                drawn_count=len(drawn),
                facilities=[
                    DrawnFacility(facility_id=UUID(f), name=s["names"].get(f, f), drawn=f in drawn)
                    for f in s["pool"]
                ],
                why=s["why"],
                message=Message(
                    code="sample_stratum",
                    params={
                        "county": s["countyName"],
                        "drawn": len(drawn),
                        "pool": len(s["pool"]),
                        "ratio": f"{row['ratio']:.0%}",
                        "seed": row["seed"],
                    },
                ),
            )
        )
    pool = sum(s.pool_size for s in strata)
    drawn_total = sum(s.drawn_count for s in strata)
    return SampleOut(
        id=row["id"],
        round_id=row["round"],
        level=row["level"],
        region_id=row["region"],
        tier=row["tier"],
        ratio=row["ratio"],
        seed=row["seed"],
        pool_size=pool,
        drawn_count=drawn_total,
        strata=strata,
        in_use=await in_use(row),
        drawn_by=row["drawn_by"],
        drawn_at=as_utc(row["drawn_at"]),
        explanation=(
            f"{drawn_total} of {pool} {row['tier']}-tier applicant(s) drawn for the {row['level']} review: at "
            f"least {row['ratio']:.0%} of each county's applicants (rounded up), seed {row['seed']}"
        ),
        explanation_message=Message(
            code="sample_explanation",
            params={
                "drawn": drawn_total,
                "pool": pool,
                "tier": Message(code=f"tier_{row['tier']}"),
                "stage": Message(code=f"stage_{row['level']}"),
                "ratio": f"{row['ratio']:.0%}",
                "seed": row["seed"],
            },
        ),
    )


async def list_samples(*, user: AuthUser, round_id: UUID) -> list[SampleOut]:
    ensure_role(user, "admin", "office")
    round_row = await round_by_id(round_id)
    if not await round_visible(user, round_row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    regions = await visible_region_ids(user)
    query = (
        ReviewSample.select()
        .where(ReviewSample.round == round_id)
        .order_by(ReviewSample.drawn_at)
        .output(load_json=True)
    )
    if regions is not None:
        if not regions:
            return []
        query = query.where(ReviewSample.region.is_in(list(regions)))
    return [await _sample_out(row) for row in await query]
