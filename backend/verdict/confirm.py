"""The province confirms a round's list by a document (发文确认), then files the recommended-tier list
nationally (备案). Admin or the province's office; audited. Once confirmed, the round takes no further sign-off
in that province (review/verdicts.py) and its confirmed facilities are public (verdict/public.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict
from backend.guards import AuthUser
from backend.inspections.rounds import round_by_id
from backend.inspections.tables import Inspection
from backend.programme.rules import concluded, selection
from backend.programme.samples import standard_of
from backend.registry.scope import region_subtree
from backend.registry.tables import Facility
from backend.review.tables import ListConfirmation
from backend.review.thresholds import acting_province
from backend.verdict.lists import confirmations, list_entries
from backend.verdict.schemas import ConfirmationOut, ConfirmListRequest


async def _pending(round_id: UUID, entries: list[Any]) -> list[str]:
    """Facilities whose verdict is not complete yet: awaiting the county, a sample or a stage's sign-off."""
    waiting = []
    standards = {
        r["facility"]: r["standard_version_id"]
        for r in await Inspection.select(Inspection.facility, Inspection.standard_version_id).where(
            (Inspection.round == round_id) & (Inspection.stage == "self")
        )
    }
    for entry in entries:
        if entry.state == "applied":
            waiting.append(f"{entry.facility_name} (county)")
            continue
        if entry.carried_tier is None:
            continue
        standard = await standard_of({"standard_id": standards.get(entry.facility_id)})
        if standard is None:
            continue
        for stage in ("city", "province"):
            chosen, _ = await selection(entry.facility_id, round_id, stage, entry.carried_tier, standard)
            if chosen == "not_drawn_yet" or (
                chosen in ("all", "drawn") and not await concluded(entry.facility_id, round_id, stage)
            ):
                waiting.append(f"{entry.facility_name} ({stage})")
                break
    return waiting


async def confirm_list(*, user: AuthUser, round_id: UUID, data: ConfirmListRequest) -> ConfirmationOut:
    province = await acting_province(user, data.region_id, what="confirms the list")
    await round_by_id(round_id)
    regions = await region_subtree(province["id"])
    visible = {
        r["id"] for r in await Facility.select(Facility.id).where(Facility.region.is_in(list(regions)))
    }
    entries = await list_entries(round_id, visible, self_results=False)
    earlier = (
        await ListConfirmation.select(ListConfirmation.kind, ListConfirmation.entries)
        .where((ListConfirmation.round == round_id) & (ListConfirmation.region == province["id"]))
        .output(load_json=True)
    )
    kinds = {e["kind"]: e for e in earlier}
    if data.kind in kinds:
        raise Conflict(f"this round's {data.kind} is already recorded", code="already_confirmed")
    if data.kind == "confirmation":
        waiting = await _pending(round_id, entries)
        if waiting:
            raise Conflict(
                f"{len(waiting)} facility(ies) still wait for a stage's verdict: " + "; ".join(waiting[:10]),
                code="verdicts_pending",
                waiting=waiting,
            )
        listed = [
            {"facilityId": str(e.facility_id), "name": e.facility_name, "tier": e.carried_tier}
            for e in entries
            if e.carried_tier is not None
        ]
    else:
        if "confirmation" not in kinds:
            raise Conflict(
                "the list is filed nationally after the province confirms it", code="not_confirmed"
            )
        listed = [e for e in kinds["confirmation"]["entries"] if e["tier"] == "recommended"]
    async with write_tx():
        saved = ListConfirmation(
            round=round_id,
            region=province["id"],
            kind=data.kind,
            document_no=data.document_no.strip(),
            document_date=data.document_date,
            entries=listed,
            confirmed_by=user.id,
            confirmed_at=datetime.now(UTC),
        )
        await saved.save()
        await record(
            user_id=str(user.id),
            action=f"list.{data.kind}",
            entity=f"round/{round_id}",
            details={
                "province": str(province["id"]),
                "documentNo": saved.document_no,
                "documentDate": data.document_date.isoformat(),
                "facilities": [e["facilityId"] for e in listed],
            },
        )
    return next(c for c in await confirmations(round_id) if c.id == saved.id)
