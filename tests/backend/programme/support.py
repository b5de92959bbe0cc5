"""Seeding helpers for programme tests: signed-off stages and a second published township standard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.inspections.tables import Inspection
from backend.review.tables import ConfirmedConclusion
from backend.standards import load_shipped
from backend.standards.services import save_standard

TOWNSHIP = "cn-thc-capacity-2018"
TOWNSHIP_B = "cn-thc-capacity-2018-b"


async def sign_off(
    facility: Any,
    round_id: Any,
    stage: str,
    by: Any,
    standard: str = TOWNSHIP,
    tier: str | None = "qualified",
    decided_by: str | None = None,
    reason: str | None = None,
) -> UUID:
    """A signed-off conclusion of ``stage`` for the facility (its inspection made, or reused, as accepted);
    ``decided_by``/``reason`` record who decided the tier, as the verdict's sign-off does (null: an older row)."""
    row = (
        await Inspection.select(Inspection.id)
        .where(
            (Inspection.facility == facility) & (Inspection.round == round_id) & (Inspection.stage == stage)
        )
        .first()
    )
    if row is None:
        inspection = Inspection(
            facility=facility, round=round_id, stage=stage, standard_version_id=standard, status="accepted"
        )
        await inspection.save()
        inspection_id = inspection.id
    else:
        inspection_id = row["id"]
    await ConfirmedConclusion(
        inspection=inspection_id,
        facility=facility,
        round=round_id,
        stage=stage,
        standard_version_id=standard,
        status="determined" if tier else "undetermined",
        tier=tier,
        tier_label=tier,
        verification="illustrative",
        explanation=msgspec.json.encode(
            {"standardId": standard, "status": "determined", "tier": tier, "tierLabel": tier, "reasons": []}
        ).decode(),
        computed_from_version=0,
        answer_count=0,
        confirmed_by=by,
        confirmed_at=datetime.now(UTC),
        decided_by=decided_by,
        decision_reason=reason,
        computed_tier=None if decided_by == "group" else tier,
    ).save()
    return inspection_id


async def second_township_standard() -> str:
    """A second published standard for 乡镇卫生院 (the shipped one under another id)."""
    standard = msgspec.structs.replace(load_shipped("township-2018"), id=TOWNSHIP_B)
    await save_standard(standard=standard, actor_id=None, publish=True, source="test")
    return TOWNSHIP_B


async def finish_self_assessment(facility: Any, round_id: Any) -> None:
    """The facility's self-assessment at the round submitted (an application needs it finished)."""
    await Inspection.update({Inspection.status: "submitted"}).where(
        (Inspection.facility == facility) & (Inspection.round == round_id) & (Inspection.stage == "self")
    )
