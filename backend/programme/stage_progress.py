"""What is due and overdue at each stage of a round, and the programme's targets (seed 000 篇一: each county's
applicants for 合格 or above at least 20% of its 乡镇卫生院 and 10% of its 社区卫生服务中心; 篇五: 30% reaching the
province's 推荐标准), over the caller's region. Read in a few set queries; no per-facility round trips.

A facility is expected at a review stage when it has an open application and the programme reviews its tier
there: in full (county always), or drawn in that stage's sample (an undrawn sample is counted apart as
``awaitingSample``). Above its first stage only the facilities on the list count, with the tier they carry
(reported up with a tier found, not removed since: review/flow.py). It is done once the stage has a signed-off
conclusion. A stage past its date with facilities still pending is overdue. "Reaching" a tier counts the tier
a facility carries on the list after its signed verdicts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from backend.errors import NotFound
from backend.guards import AuthUser
from backend.inspections.scope import visible_facility_ids
from backend.inspections.tables import Application, Inspection
from backend.programme.analysis import region_chains
from backend.programme.calendar import DEADLINE_STAGES, calendar_base, closes_at, round_deadlines
from backend.programme.rules import KIND_NAMES, OPEN_APPLICATION, STAGES, sample_ratio
from backend.programme.stage_schemas import (
    CalendarOut,
    CountyShare,
    PendingFacility,
    StageDeadlineOut,
    TargetOut,
    TargetsOut,
)
from backend.programme.tables import LateApplication, ReviewSample
from backend.registry.scope import region_subtree
from backend.registry.tables import Facility
from backend.review.flow import round_flows
from backend.review.tables import ConfirmedConclusion
from backend.standards.schemas import Standard
from backend.standards.services import get_standard
from backend.standards.tables import StandardVersion

DUE_SOON = timedelta(days=7)
PENDING_LISTED = 50


def _now() -> datetime:
    return datetime.now(UTC)


async def _facilities(round_row: dict[str, Any], visible: set[UUID] | None) -> dict[UUID, dict[str, Any]]:
    """The active facilities the round covers, in the caller's scope."""
    query = Facility.select(Facility.id, Facility.name, Facility.kind, Facility.region).where(
        Facility.active == True  # noqa: E712 - a Piccolo column comparison
    )
    if round_row["region"] is not None:
        query = query.where(Facility.region.is_in(list(await region_subtree(round_row["region"]))))
    return {r["id"]: r for r in await query if visible is None or r["id"] in visible}


async def _standards(ids: set[str]) -> dict[str, Standard]:
    out = {}
    for standard_id in ids:
        try:
            out[standard_id] = await get_standard(standard_id=standard_id)
        except NotFound:  # a standard removed since: nothing to read its rules from
            continue
    return out


async def calendar(*, user: AuthUser, round_id: UUID) -> CalendarOut:
    round_row, out = await calendar_base(user, round_id)
    facilities = await _facilities(round_row, await visible_facility_ids(user))
    own = await round_deadlines(round_id)
    proposed = {p.stage: p.due_on for p in out.programme}
    _, names = await region_chains()
    now = _now()

    applications = [
        a
        for a in await Application.select(Application.facility, Application.tier, Application.status).where(
            Application.round == round_id
        )
        if a["facility"] in facilities
    ]
    open_tier = {a["facility"]: a["tier"] for a in applications if a["status"] in OPEN_APPLICATION}
    standard_of = {
        r["facility"]: r["standard_version_id"]
        for r in await Inspection.select(Inspection.facility, Inspection.standard_version_id).where(
            (Inspection.round == round_id) & (Inspection.stage == "self")
        )
    }
    standards = await _standards({standard_of[f] for f in open_tier if f in standard_of})
    drawn: dict[tuple[str, str], set[str]] = defaultdict(set)
    sampled: dict[tuple[str, str], set[str]] = defaultdict(set)
    for sample in (
        await ReviewSample.select(ReviewSample.level, ReviewSample.tier, ReviewSample.strata)
        .where(ReviewSample.round == round_id)
        .output(load_json=True)
    ):
        for stratum in sample["strata"]:
            sampled[(sample["level"], sample["tier"])].update(stratum["pool"])
            drawn[(sample["level"], sample["tier"])].update(stratum["drawn"])
    concluded = {
        (r["facility"], r["stage"])
        for r in await ConfirmedConclusion.select(
            ConfirmedConclusion.facility, ConfirmedConclusion.stage
        ).where(ConfirmedConclusion.round == round_id)
    }
    late = {
        r["facility"]
        for r in await LateApplication.select(LateApplication.facility).where(
            LateApplication.round == round_id
        )
    }
    flows = await round_flows(round_id, list(open_tier))

    stages = []
    for stage in DEADLINE_STAGES:
        due_on = own[stage]["due_on"] if stage in own else proposed.get(stage)  # type: ignore[call-overload]
        source = "round" if stage in own else "programme" if due_on else "none"
        expected = done = awaiting = 0
        pending: list[UUID] = []
        if stage == "application":
            filed = [a for a in applications if a["status"] != "withdrawn"]
            expected = done = len(filed)
            late_count = len({a["facility"] for a in filed} & late)
        else:
            late_count = 0
            for facility, tier in open_tier.items():
                flow = flows.get(facility)
                if flow is not None and STAGES.index(stage) > STAGES.index(flow.first):
                    if flow.carried is None:
                        continue  # not reported up (yet), or removed: not in this stage's pool
                    tier = flow.carried
                standard = standards.get(standard_of.get(facility, ""))
                ratio = (
                    sample_ratio(standard, stage, tier) if standard else (1.0 if stage == "county" else None)
                )
                if ratio is None:
                    continue
                if stage != "county" and ratio < 1.0:
                    key = str(facility)
                    if key not in sampled[(stage, tier)]:
                        awaiting += 1
                        continue
                    if key not in drawn[(stage, tier)]:
                        continue
                expected += 1
                if (facility, stage) in concluded:
                    done += 1
                else:
                    pending.append(facility)
        closing = closes_at(due_on) if due_on else None
        if stage not in own:
            state = "not_set"
        elif closing is not None and now >= closing:
            state = "overdue" if pending or awaiting else "closed"
        elif closing is not None and closing - now <= DUE_SOON:
            state = "due_soon"
        else:
            state = "open"
        listed = sorted(
            pending, key=lambda f: (names.get(facilities[f]["region"], ""), facilities[f]["name"])
        )
        stages.append(
            StageDeadlineOut(
                stage=stage,  # type: ignore[arg-type]
                due_on=due_on,
                closes_at=closing,
                source=source,  # type: ignore[arg-type]
                state=state,  # type: ignore[arg-type]
                expected=expected,
                done=done,
                pending=len(pending),
                awaiting_sample=awaiting,
                late=late_count,
                pending_facilities=[
                    PendingFacility(
                        facility_id=f,
                        name=facilities[f]["name"],
                        county_name=names.get(facilities[f]["region"], ""),
                    )
                    for f in listed[:PENDING_LISTED]
                ],
            )
        )
    out.stages = stages
    return out


async def targets(*, user: AuthUser, round_id: UUID) -> TargetsOut:
    round_row, _ = await calendar_base(user, round_id)
    facilities = await _facilities(round_row, await visible_facility_ids(user))
    _, names = await region_chains()
    applying = {
        r["facility"]
        for r in await Application.select(Application.facility).where(
            (Application.round == round_id) & (Application.status != "withdrawn")
        )
    }
    tiers = {f: flow.carried for f, flow in (await round_flows(round_id)).items()}
    published = await StandardVersion.select(StandardVersion.id).where(StandardVersion.status == "published")
    standards = await _standards({r["id"] for r in published})
    kind_order = list(KIND_NAMES)
    shown = []
    for standard_id in sorted(standards):
        standard = standards[standard_id]
        kinds = [k for k, kind_names in KIND_NAMES.items() if kind_names[0] in standard.facility_kinds]
        if kinds and standard.programme_settings.targets:
            shown.append((min(kind_order.index(k) for k in kinds), standard_id, standard, kinds))
    out = []
    for _, standard_id, standard, kinds in sorted(shown, key=lambda item: item[:2]):
        subjects = [f for f in facilities.values() if f["kind"] in kinds]
        for target in standard.programme_settings.targets:
            hits = {
                f["id"]
                for f in subjects
                if (
                    f["id"] in applying if target.measure == "applying" else tiers.get(f["id"]) == target.tier
                )
            }
            by_county: dict[UUID, list[UUID]] = defaultdict(list)
            for f in subjects:
                by_county[f["region"]].append(f["id"])
            counties = []
            for county, members in sorted(by_county.items(), key=lambda item: names.get(item[0], "")):
                count = len(hits & set(members))
                share = count / len(members)
                counties.append(
                    CountyShare(
                        county_id=county,
                        county_name=names.get(county, ""),
                        total=len(members),
                        count=count,
                        share=share,
                        met=share >= target.min_share - 1e-9,
                    )
                )
            total = len(subjects)
            share_all = len(hits) / total if total else None
            out.append(
                TargetOut(
                    standard_id=standard_id,
                    facility_kinds=kinds,
                    measure=target.measure,
                    tier=target.tier,
                    min_share=target.min_share,
                    source=target.source,
                    total=total,
                    count=len(hits),
                    share=share_all,
                    met=None if share_all is None else all(c.met for c in counties),
                    counties=counties,
                    counties_below=sum(1 for c in counties if not c.met),
                )
            )
    return TargetsOut(round_id=round_id, targets=out)
