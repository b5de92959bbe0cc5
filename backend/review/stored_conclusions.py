"""Signed-off conclusions as read back: each with its explanation, the words saying who decided and why, and
the province's setting it rests on. Office in scope and admin read them; the sign-off itself is
``review.services.confirm_conclusion``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from backend.db import as_utc
from backend.guards import AuthUser, ensure_role
from backend.inspections.scope import ensure_facility_visible
from backend.review.decision import statement, tier_label
from backend.review.flow import carried_tier
from backend.review.schemas import StoredConclusion
from backend.review.tables import ConfirmedConclusion, ProvinceThreshold
from backend.review.thresholds import ref
from backend.standards.conclusion import Conclusion
from backend.standards.services import get_standard

_STORED_COLUMNS = (
    ConfirmedConclusion.id,
    ConfirmedConclusion.inspection,
    ConfirmedConclusion.facility,
    ConfirmedConclusion.round,
    ConfirmedConclusion.stage,
    ConfirmedConclusion.standard_version_id,
    ConfirmedConclusion.status,
    ConfirmedConclusion.tier,
    ConfirmedConclusion.tier_label,
    ConfirmedConclusion.verification,
    ConfirmedConclusion.explanation,
    ConfirmedConclusion.computed_from_version,
    ConfirmedConclusion.signed_version,
    ConfirmedConclusion.answer_count,
    ConfirmedConclusion.confirmed_by,
    ConfirmedConclusion.confirmed_by.display_name.as_alias("confirmed_by_name"),
    ConfirmedConclusion.confirmed_by.username.as_alias("confirmed_by_username"),
    ConfirmedConclusion.confirmed_at,
    ConfirmedConclusion.decided_by,
    ConfirmedConclusion.decision_reason,
    ConfirmedConclusion.computed_tier,
    ConfirmedConclusion.overridden,
    ConfirmedConclusion.threshold_setting,
)


async def read_stored(where: Any) -> list[StoredConclusion]:
    rows = (
        await ConfirmedConclusion.select(*_STORED_COLUMNS)
        .where(where)
        .order_by(ConfirmedConclusion.confirmed_at)
    )
    setting_ids = [r["threshold_setting"] for r in rows if r["threshold_setting"] is not None]
    settings = (
        {s["id"]: s for s in await ProvinceThreshold.select().where(ProvinceThreshold.id.is_in(setting_ids))}
        if setting_ids
        else {}
    )
    out = []
    for r in rows:
        explanation = msgspec.json.decode(r["explanation"], type=Conclusion)
        setting = settings.get(r["threshold_setting"])
        words = []
        if r["decided_by"] is not None:
            standard = await get_standard(standard_id=r["standard_version_id"])
            flow = await carried_tier(r["round"], r["facility"])
            words = statement(
                standard,
                r["tier"],
                r["decided_by"],
                explanation,
                applied=flow.applied if flow else None,
                reason=r["decision_reason"],
                overridden=r["overridden"],
                computed_tier=r["computed_tier"],
                document_no=setting["document_no"] if setting else None,
                document_date=str(setting["document_date"]) if setting else None,
            )
            label = tier_label(standard, r["tier"]) if r["tier"] else r["tier_label"]
        else:
            label = r["tier_label"]
        out.append(
            StoredConclusion(
                id=r["id"],
                inspection_id=r["inspection"],
                facility_id=r["facility"],
                round_id=r["round"],
                stage=r["stage"],
                standard_id=r["standard_version_id"],
                status=r["status"],
                tier=r["tier"],
                tier_label=label,
                verification=r["verification"],
                computed_from_version=r["computed_from_version"],
                signed_version=r["signed_version"],
                answer_count=r["answer_count"],
                confirmed_by=r["confirmed_by"],
                confirmed_by_name=r["confirmed_by_name"] or r["confirmed_by_username"],
                confirmed_at=as_utc(r["confirmed_at"]),
                explanation=explanation,
                decided_by=r["decided_by"],
                decision_reason=r["decision_reason"],
                computed_tier=r["computed_tier"],
                overridden=bool(r["overridden"]),
                setting=ref(setting),
                statement=words,
            )
        )
    return out


async def list_conclusions(
    *, user: AuthUser, facility_id: UUID, round_id: UUID | None = None
) -> list[StoredConclusion]:
    ensure_role(user, "admin", "office")
    await ensure_facility_visible(user, facility_id)
    where: Any = ConfirmedConclusion.facility == facility_id
    if round_id is not None:
        where = where & (ConfirmedConclusion.round == round_id)
    return await read_stored(where)
