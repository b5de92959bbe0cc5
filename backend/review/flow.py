"""The list that flows upward, gated by the signed verdicts (the rule is pure; one read per round).

- County (县级初审): a facility whose signed county conclusion found a tier is reported upward (上报) with the
  tier found, never above the tier it applied for; one found reaching no tier is not reported. A programme
  whose review chain starts higher (MCH: the city checks every county) reports from its first stage instead.
- City and province: a facility on the list whose signed conclusion there finds it below the tier it carries
  is removed (剔除); one found at or above it stays with the tier it carries.
The city's and the province's pools, and their shares (≥ 50 % / ≥ 20 % of basic-tier facilities), count the
facilities on the list when that stage opens (上报数), not the applications.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from backend.db import as_utc
from backend.errors import NotFound
from backend.inspections.schemas import REVIEW_STAGES
from backend.inspections.tables import Application, Inspection
from backend.review.decision import NOT_EVALUATED, NOT_REACHED
from backend.review.tables import ConfirmedConclusion
from backend.standards.services import get_standard

STAGES = REVIEW_STAGES
# the tiers a facility applies for (inspections.schemas.Tier), lowest first
TIER_RANK = {"qualified": 1, "basic": 2, "recommended": 3, "demonstration": 1}  # MCH's title: its only tier


def rank(tier: str | None) -> int:
    if tier is None or tier in (NOT_REACHED, NOT_EVALUATED):
        return 0
    return TIER_RANK.get(tier, 0)


@dataclass(slots=True)
class Flow:
    """Where a facility stands on a round's list."""

    applied: str | None
    # stage → tier found by its latest sign-off there
    found: dict[str, str] = field(default_factory=dict)
    # the tier it carries upward after the last stage signed (None: not on the list)
    carried: str | None = None
    reported: bool = False  # reported upward by the county
    removed_at: str | None = None  # the stage that removed it (its first stage: not reported)
    first: str = "county"  # the stage that reports upward


def walk(applied: str | None, found: Mapping[str, str], first: str = "county") -> Flow:
    """``first``: the stage that reports upward (the first level of the standard's review chain)."""
    flow = Flow(applied=applied, found=dict(found), first=first)
    for stage in STAGES[STAGES.index(first) :]:
        tier = found.get(stage)
        if tier is None:
            continue
        if stage == first:
            if rank(tier) == 0:
                flow.removed_at = stage
                return flow
            # reported with the tier found, never above the one applied for
            flow.carried = tier if applied is None or rank(tier) <= rank(applied) else applied
            flow.reported = True
        elif flow.carried is not None and rank(tier) < rank(flow.carried):
            flow.carried = None
            flow.removed_at = stage
            return flow
    return flow


def latest_found(rows: Iterable[Mapping[str, Any]]) -> dict[UUID, dict[str, str]]:
    """facility → stage → the tier of its latest sign-off there (rows of ConfirmedConclusion)."""
    latest: dict[tuple[UUID, str], tuple[Any, str]] = {}
    for r in rows:
        tier = r["tier"] or r["status"]
        key = (r["facility"], r["stage"])
        at = as_utc(r["confirmed_at"])
        if key not in latest or at >= latest[key][0]:
            latest[key] = (at, tier)
    out: dict[UUID, dict[str, str]] = {}
    for (facility, stage), (_, tier) in latest.items():
        out.setdefault(facility, {})[stage] = tier
    return out


async def round_flows(round_id: UUID, facilities: Sequence[UUID] | None = None) -> dict[UUID, Flow]:
    """Every applicant's place on the round's list (``facilities`` limits it), from the applications (the
    latest of each facility) and the signed conclusions."""
    if facilities is not None and not facilities:
        return {}
    apps = Application.select(
        Application.facility, Application.tier, Application.status, Application.created_at
    ).where(Application.round == round_id)
    signed = ConfirmedConclusion.select(
        ConfirmedConclusion.facility,
        ConfirmedConclusion.stage,
        ConfirmedConclusion.tier,
        ConfirmedConclusion.status,
        ConfirmedConclusion.confirmed_at,
    ).where(ConfirmedConclusion.round == round_id)
    if facilities is not None:
        apps = apps.where(Application.facility.is_in(list(facilities)))
        signed = signed.where(ConfirmedConclusion.facility.is_in(list(facilities)))
    applied: dict[UUID, str] = {}
    for a in sorted(await apps, key=lambda r: as_utc(r["created_at"])):
        if a["status"] != "withdrawn":
            applied[a["facility"]] = a["tier"]
    found = latest_found(await signed)
    everyone = set(applied) | set(found)
    first = await _first_stages(round_id, everyone)
    return {f: walk(applied.get(f), found.get(f, {}), first.get(f, "county")) for f in everyone}


async def _first_stages(round_id: UUID, facilities: set[UUID]) -> dict[UUID, str]:
    """facility → the first review stage of its self-assessment's standard (county where it names none)."""
    if not facilities:
        return {}
    # a few facilities by id; many in one plain read of the round's self-assessments, kept for the facilities
    # asked about (an IN list of thousands of ids costs more than the rows it saves)
    where = (Inspection.round == round_id) & (Inspection.stage == "self")
    if len(facilities) <= 100:
        where = where & Inspection.facility.is_in(list(facilities))
    rows = await Inspection.select(Inspection.facility, Inspection.standard_version_id).where(where)
    chains: dict[str, str] = {}
    out: dict[UUID, str] = {}
    for row in rows:
        if row["facility"] not in facilities:
            continue
        standard_id = row["standard_version_id"]
        if standard_id not in chains:
            try:
                chain = (await get_standard(standard_id=standard_id)).programme_settings.review_chain
            except NotFound:
                chain = ()
            levels = [step.level for step in chain if step.level in STAGES]
            chains[standard_id] = levels[0] if levels else "county"
        out[row["facility"]] = chains[standard_id]
    return out


async def carried_tier(round_id: UUID, facility_id: UUID) -> Flow | None:
    return (await round_flows(round_id, [facility_id])).get(facility_id)
