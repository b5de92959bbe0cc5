"""The province's thresholds (省确定的服务能力推荐标准): set per standard by a province office or admin, with the
document they come from, audited, append-only.

A setting fills only thresholds the standard leaves open (``minRatio`` null); a sign-off uses the province's
latest setting for the inspection's standard, and the signed conclusion keeps which one (never recomputed, so
a later setting never reaches conclusions already signed). A round whose list the province has confirmed takes
no sign-off at all (review.services), so a new setting never applies to a concluded round.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import as_utc, write_tx
from backend.errors import Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.registry.tables import Region
from backend.review.decision import check_thresholds
from backend.review.schemas import SetThresholdsRequest, ThresholdRef, ThresholdSettingOut
from backend.review.tables import ProvinceThreshold
from backend.standards.schemas import Standard
from backend.standards.services import get_standard


async def province_of(region_id: UUID | None) -> UUID | None:
    """The province above (or at) a region."""
    seen = 0
    while region_id is not None and seen < 5:
        row = await Region.select(Region.level, Region.parent).where(Region.id == region_id).first()
        if row is None:
            return None
        if row["level"] == "province":
            return region_id
        region_id, seen = row["parent"], seen + 1
    return None


async def acting_province(user: AuthUser, region_id: UUID | None, *, what: str) -> dict[str, Any]:
    """The province an office or admin acts for: an office its own (403 ``out_of_scope`` for another), an
    admin the one it names; a region that is not a province is refused (403 ``not_a_province``). ``what``
    says the act in the refusals' English detail ("sets the thresholds", "confirms the list")."""
    ensure_role(user, "admin", "office")
    if user.role == "office":
        if region_id is not None and region_id != user.region_id:
            raise Forbidden(f"an office {what} of its own province", code="out_of_scope")
        region_id = user.region_id
    elif region_id is None:
        raise RuleRefused("name the province (regionId)", code="region_required")
    row: dict[str, Any] | None = (
        await Region.select(Region.id, Region.name, Region.level).where(Region.id == region_id).first()
    )
    if row is None:
        raise NotFound(f"region {region_id} does not exist", code="region_not_found")
    if row["level"] != "province":
        raise Forbidden(f"only a province {what}; {row['name']} is a {row['level']}", code="not_a_province")
    return row


def conditions_of(standard: Standard) -> dict[str, list[dict[str, object]]]:
    return {
        t.code: [
            {
                "scope": c.scope,
                "gradeAtLeast": c.grade_at_least,
                "standardRatio": c.min_ratio,
                "label": t.label,
            }
            for c in t.conditions
        ]
        for t in standard.determination.tiers
    }


async def set_thresholds(*, user: AuthUser, data: SetThresholdsRequest) -> ThresholdSettingOut:
    region = await acting_province(user, data.region_id, what="sets the thresholds")
    standard = await get_standard(standard_id=data.standard_id)
    problems = check_thresholds(standard, data.thresholds)
    if problems:
        raise RuleRefused(
            "these thresholds cannot be set: " + "; ".join(problems),
            code="thresholds_invalid",
            problems=problems,
        )
    async with write_tx():
        saved = ProvinceThreshold(
            region=region["id"],
            standard_version_id=standard.id,
            thresholds=data.thresholds,
            document_no=data.document_no.strip(),
            document_date=data.document_date,
            note=data.note.strip(),
            set_by=user.id,
            set_at=datetime.now(UTC),
        )
        await saved.save()
        await record(
            user_id=str(user.id),
            action="thresholds.set",
            entity=f"thresholds/{saved.id}",
            details={
                "province": str(region["id"]),
                "standard": standard.id,
                "thresholds": data.thresholds,
                "documentNo": saved.document_no,
                "documentDate": data.document_date.isoformat(),
            },
        )
    return (await _settings(ProvinceThreshold.id == saved.id))[0]


async def _settings(where: Any) -> list[ThresholdSettingOut]:
    rows = (
        await ProvinceThreshold.select(
            *ProvinceThreshold.all_columns(),
            ProvinceThreshold.region.name.as_alias("region_name"),
            ProvinceThreshold.set_by.display_name.as_alias("by_name"),
            ProvinceThreshold.set_by.username.as_alias("by_username"),
        )
        .where(where)
        .order_by(ProvinceThreshold.set_at, ascending=False)
        .output(load_json=True)
    )
    out = []
    standards: dict[str, Standard] = {}
    for r in rows:
        sid = r["standard_version_id"]
        if sid not in standards:
            standards[sid] = await get_standard(standard_id=sid)
        out.append(
            ThresholdSettingOut(
                id=r["id"],
                region_id=r["region"],
                region_name=r["region_name"],
                standard_id=sid,
                thresholds=r["thresholds"],
                document_no=r["document_no"],
                document_date=r["document_date"],
                note=r["note"],
                set_by=r["set_by"],
                set_by_name=r["by_name"] or r["by_username"],
                set_at=as_utc(r["set_at"]),
                conditions=conditions_of(standards[sid]),
            )
        )
    return out


async def list_thresholds(*, user: AuthUser, region_id: UUID | None = None) -> list[ThresholdSettingOut]:
    """Every setting of a province, newest first (the first of each standard is in force)."""
    ensure_role(user, "admin", "office")
    if user.role == "office":
        province = await province_of(user.region_id)
        if province is None or (region_id is not None and region_id != province):
            raise Forbidden("an office reads the thresholds of its own province", code="out_of_scope")
        region_id = province
    if region_id is None:
        return await _settings(ProvinceThreshold.id.is_not_null())
    return await _settings(ProvinceThreshold.region == region_id)


async def setting_for(province: UUID | None, standard_id: str) -> dict[str, Any] | None:
    """The province's setting in force for a standard (its latest), or None."""
    if province is None:
        return None
    row: dict[str, Any] | None = (
        await ProvinceThreshold.select()
        .where(
            (ProvinceThreshold.region == province) & (ProvinceThreshold.standard_version_id == standard_id)
        )
        .order_by(ProvinceThreshold.set_at, ascending=False)
        .output(load_json=True)
        .first()
    )
    return row


def ref(row: dict[str, Any] | None) -> ThresholdRef | None:
    if row is None:
        return None
    return ThresholdRef(id=row["id"], document_no=row["document_no"], document_date=row["document_date"])
