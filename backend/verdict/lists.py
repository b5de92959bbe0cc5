"""A round's lists (达标名单): every applicant in the caller's region with where it stands, in every state
(applied, reported, sampled, confirmed, removed), from the signed verdicts (review/flow.py), the samples, the
removals' opinions and the province's confirmation.

Who may see them (guards check the role; this checks the scope again): admin, and an office for its region.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from backend.db import as_utc
from backend.errors import Forbidden
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.schemas import REVIEW_STAGES
from backend.inspections.scope import visible_facility_ids
from backend.inspections.tables import Inspection
from backend.programme.analysis import region_chains
from backend.programme.round_results import round_results
from backend.programme.tables import ReturnedOpinion, ReviewSample
from backend.registry.tables import Facility
from backend.review.decision import with_province
from backend.review.flow import Flow, round_flows
from backend.review.tables import ListConfirmation
from backend.review.thresholds import province_of, setting_for
from backend.standards.schemas import Standard
from backend.verdict.schemas import ConfirmationOut, ConfirmedEntry, ListEntry, ListState, RoundListsOut
from backend.vocabulary import say


def state_of(flow: Flow, confirmed: bool, drawn: bool) -> ListState:
    if flow.removed_at is not None:
        return "removed"
    if flow.carried is not None and confirmed:
        return "confirmed"
    if flow.carried is not None and (drawn or "city" in flow.found or "province" in flow.found):
        return "sampled"
    if flow.carried is not None:
        return "reported"
    return "applied"


async def confirmations(round_id: UUID) -> list[ConfirmationOut]:
    rows = (
        await ListConfirmation.select(
            *ListConfirmation.all_columns(),
            ListConfirmation.region.name.as_alias("region_name"),
            ListConfirmation.confirmed_by.display_name.as_alias("by_name"),
            ListConfirmation.confirmed_by.username.as_alias("by_username"),
        )
        .where(ListConfirmation.round == round_id)
        .order_by(ListConfirmation.confirmed_at)
        .output(load_json=True)
    )
    return [
        ConfirmationOut(
            id=r["id"],
            round_id=r["round"],
            region_id=r["region"],
            region_name=r["region_name"],
            kind=r["kind"],
            document_no=r["document_no"],
            document_date=r["document_date"],
            entries=[
                ConfirmedEntry(facility_id=UUID(e["facilityId"]), facility_name=e["name"], tier=e["tier"])
                for e in r["entries"]
            ],
            confirmed_by_name=r["by_name"] or r["by_username"],
            confirmed_at=as_utc(r["confirmed_at"]),
        )
        for r in rows
    ]


async def list_entries(
    round_id: UUID, visible: set[UUID] | None, *, self_results: bool = True
) -> list[ListEntry]:
    """Every facility of the round on its list, in the visible region (None: everywhere)."""
    flows = await round_flows(round_id)
    if visible is not None:
        flows = {f: flow for f, flow in flows.items() if f in visible}
    if not flows:
        return []
    # every facility in one plain read (an IN list of thousands of ids costs more than the rows it saves)
    facilities = {
        r["id"]: r
        for r in await Facility.select(Facility.id, Facility.name, Facility.licence_number, Facility.region)
        if r["id"] in flows
    }
    chains, names = await region_chains()
    drawn: set[str] = set()
    for sample in (
        await ReviewSample.select(ReviewSample.strata)
        .where(ReviewSample.round == round_id)
        .output(load_json=True)
    ):
        for stratum in sample["strata"]:
            drawn.update(stratum["drawn"])
    opinions: dict[UUID, str] = {}
    for o in (
        await ReturnedOpinion.select(ReturnedOpinion.facility, ReturnedOpinion.opinion)
        .where(
            (ReturnedOpinion.round == round_id)
            & ReturnedOpinion.application.is_not_null()
            & ReturnedOpinion.inspection.is_not_null()
        )
        .order_by(ReturnedOpinion.returned_at)
    ):
        opinions[o["facility"]] = o["opinion"]
    confirmed: dict[str, str] = {}
    for c in await confirmations(round_id):
        if c.kind == "confirmation":
            for e in c.entries:
                confirmed[str(e.facility_id)] = c.document_no
    own: dict[str, str] = {}
    if self_results:
        # the self-assessment's own result, under the province's thresholds where it has set them
        settings: dict[str, Any] = {}
        round_row = await round_by_id(round_id)
        round_province = await province_of(round_row["region"])

        def adjust(standard: Standard) -> Standard:
            setting = settings.get(standard.id)
            return with_province(standard, setting["thresholds"]) if setting else standard

        standard_ids = (
            await Inspection.select(Inspection.standard_version_id)
            .where((Inspection.round == round_id) & (Inspection.stage == "self"))
            .distinct()
        )
        for used in standard_ids:
            found = await setting_for(round_province, used["standard_version_id"])
            if found is not None:
                settings[used["standard_version_id"]] = found
        results = await round_results(round_id, ("self",), adjust, rank=False)
        for iid, conclusion in results.conclusions.items():
            facility, _ = results.where[iid]
            own[facility] = (
                conclusion.tier
                if conclusion.status == "determined" and conclusion.tier
                else conclusion.highest_certain or conclusion.status
            )
    entries = []
    for facility_id, flow in flows.items():
        row: dict[str, Any] | None = facilities.get(facility_id)
        if row is None:
            continue
        county, city, province = chains.get(row["region"], (row["region"], row["region"], row["region"]))
        key = str(facility_id)
        entries.append(
            ListEntry(
                facility_id=facility_id,
                facility_name=row["name"],
                licence_number=row["licence_number"],
                county_name=names.get(county, ""),
                city_name=names.get(city, ""),
                province_name=names.get(province, ""),
                applied_tier=flow.applied,
                self_result=own.get(key),
                found=flow.found,
                carried_tier=flow.carried,
                state=state_of(flow, key in confirmed, key in drawn),
                removed_at=flow.removed_at,
                removal_opinion=opinions.get(facility_id) if flow.removed_at else None,
                reviewed_at=[s for s in REVIEW_STAGES if s in flow.found],
                confirmation_document=confirmed.get(key) if flow.carried else None,
            )
        )
    entries.sort(key=lambda e: (e.province_name, e.city_name, e.county_name, e.facility_name))
    return entries


async def round_lists(*, user: AuthUser, round_id: UUID, state: str | None = None) -> RoundListsOut:
    ensure_role(user, "admin", "office")
    round_row = await round_by_id(round_id)
    if not await round_visible(user, round_row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    entries = await list_entries(round_id, await visible_facility_ids(user))
    counts: Counter[str] = Counter(str(e.state) for e in entries)
    if state is not None:
        entries = [e for e in entries if e.state == state]
    return RoundListsOut(
        round_id=round_id,
        round_name=round_row["name"],
        entries=entries,
        counts=dict(counts),
        confirmations=await confirmations(round_id),
    )


LIST_COLUMNS = (
    "verdict.col.province",
    "verdict.col.city",
    "verdict.col.county",
    "verdict.col.facility",
    "verdict.col.licence",
    "verdict.col.applied",
    "verdict.col.self",
    "verdict.col.county_found",
    "verdict.col.city_found",
    "verdict.col.province_found",
    "verdict.col.tier",
    "verdict.col.state",
    "verdict.col.removed_at",
    "verdict.col.opinion",
    "verdict.col.document",
)


def tier_words(tier: str | None, lang: str) -> str:
    return say(f"verdict.tier.{tier}", lang) if tier else ""


def list_table(entries: list[ListEntry], lang: str = "zh") -> tuple[list[str], list[list[str]]]:
    """The lists as a table with the reader's headers (Chinese by default): names and codes, no bare ids."""
    header = [say(code, lang) for code in LIST_COLUMNS]
    rows = [
        [
            e.province_name,
            e.city_name,
            e.county_name,
            e.facility_name,
            e.licence_number,
            tier_words(e.applied_tier, lang),
            tier_words(e.self_result, lang),
            tier_words(e.found.get("county"), lang),
            tier_words(e.found.get("city"), lang),
            tier_words(e.found.get("province"), lang),
            tier_words(e.carried_tier, lang),
            say(f"verdict.state.{e.state}", lang),
            say(f"verdict.stage.{e.removed_at}", lang) if e.removed_at else "",
            e.removal_opinion or "",
            e.confirmation_document or "",
        ]
        for e in entries
    ]
    return header, rows
