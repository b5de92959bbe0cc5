"""The review office's view of evidence flags: the list per round, and a person's review of one flag.

Scope: an office sees the flagged photos of facilities in its region and below, and of the related photos
only those it may read (the others are counted, not shown); an admin sees everything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import as_utc, fetch, write_tx
from backend.errors import BadRequest, Conflict, Forbidden, NotFound, RuleRefused
from backend.evidence.rules import FLAG_CODES, FlagCode, decode_flags
from backend.evidence.schemas import (
    FlaggedPhotoRef,
    FlagReview,
    OfficeFlag,
    OfficeFlagList,
    RelatedPhoto,
    ReviewFlagRequest,
)
from backend.evidence.tables import EvidenceReview
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.scope import ensure_inspection_visible, visible_inspection_ids
from backend.registry.scope import region_subtree
from sync.tables import Photo

_PHOTOS = (
    'SELECT p."id", p."inspection_id", p."item_code", p."flags", i."stage", i."facility", f."name" AS "facility_name", '
    'f."region" FROM "photo" p JOIN "inspection" i ON i."id" = p."inspection_id" '
    'JOIN "facility" f ON f."id" = i."facility" WHERE p."deleted" = {} '
)


def _in(column: str, values: list[Any]) -> str:
    return f"{column} IN ({', '.join('{}' for _ in values)})"


def _ref(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "photo_id": row["id"],
        "thumb_url": f"/api/photos/{row['id']}/thumb",
        "preview_url": f"/api/photos/{row['id']}/preview",
        "inspection_id": row["inspection_id"],
        "stage": row["stage"],
        "facility_id": row["facility"],
        "facility_name": row["facility_name"],
        "region_id": row["region"],
        "item_code": row["item_code"],
    }


async def _regions_in_scope(user: AuthUser, region_id: UUID | None) -> list[UUID] | None:
    """Regions to filter facilities by (None: no filter, admin without regionId)."""
    if user.role == "office":
        if user.region_id is None:
            return []
        own = await region_subtree(user.region_id)
        if region_id is None:
            return sorted(own, key=str)
        if region_id not in own:
            raise Forbidden("that region is outside your scope", code="out_of_scope")
    if region_id is None:
        return None
    return sorted(await region_subtree(region_id), key=str)


async def list_round_flags(
    *,
    user: AuthUser,
    round_id: UUID,
    region_id: UUID | None = None,
    facility_id: UUID | None = None,
    item_code: str | None = None,
    code: FlagCode | None = None,
) -> OfficeFlagList:
    ensure_role(user, "admin", "office")
    if code is not None and code not in FLAG_CODES:
        raise BadRequest(f"code must be one of {', '.join(FLAG_CODES)}", code="bad_flag_code")
    # an out-of-scope round is refused as the other round endpoints refuse it (not an empty list)
    if not await round_visible(user, await round_by_id(round_id)):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    regions = await _regions_in_scope(user, region_id)
    sql = _PHOTOS + 'AND i."round" = {} AND p."flags" IS NOT NULL AND p."flags" <> {} '
    args: list[Any] = [False, round_id, "[]"]
    if regions is not None:
        if not regions:
            return OfficeFlagList(round_id=round_id, flags=[], counts={})
        sql += "AND " + _in('f."region"', regions) + " "
        args += regions
    if facility_id is not None:
        sql += 'AND f."id" = {} '
        args.append(facility_id)
    if item_code is not None:
        sql += 'AND p."item_code" = {} '
        args.append(item_code)
    rows = await fetch(sql + 'ORDER BY f."region", f."name", p."item_code", p."created_at"', args)

    stored = {row["id"]: decode_flags(row["flags"]) for row in rows}
    visible = await visible_inspection_ids(user)
    readable = None if visible is None else {str(i) for i in visible}
    related_ids = sorted(
        {
            UUID(r.photo_id)
            for flags in stored.values()
            for flag in flags
            for r in flag.related
            if readable is None or r.inspection_id in readable
        },
        key=str,
    )
    related_rows = (
        {
            str(row["id"]): row
            for row in await fetch(_PHOTOS + "AND " + _in('p."id"', related_ids), [False, *related_ids])
        }
        if related_ids
        else {}
    )
    photo_ids = [row["id"] for row in rows]
    reviews = (
        {
            (r["photo_id"], r["code"]): r
            for r in await EvidenceReview.select().where(EvidenceReview.photo_id.is_in(photo_ids))
        }
        if photo_ids
        else {}
    )
    out: list[OfficeFlag] = []
    counts: dict[str, int] = {}
    for row in rows:
        for flag in stored[row["id"]]:
            if code is not None and flag.code != code:
                continue
            shown = [
                RelatedPhoto(**_ref(related_rows[r.photo_id]), distance=r.distance)
                for r in flag.related
                if r.photo_id in related_rows
            ]
            review = reviews.get((row["id"], flag.code))
            out.append(
                OfficeFlag(
                    code=flag.code,
                    detail=flag.detail,
                    message=flag.message,
                    photo=FlaggedPhotoRef(**_ref(row)),
                    related=shown,
                    related_hidden=len(flag.related) - len(shown),
                    review=_review_out(review) if review else None,
                )
            )
            counts[flag.code] = counts.get(flag.code, 0) + 1
    return OfficeFlagList(round_id=round_id, flags=out, counts=counts)


def _review_out(row: dict[str, Any]) -> FlagReview:
    return FlagReview(
        status=row["status"],
        reason=row["reason"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=as_utc(row["reviewed_at"]),
    )


async def review_flag(*, user: AuthUser, photo_id: UUID, code: str, data: ReviewFlagRequest) -> FlagReview:
    """A person marks a flag reviewed: accepted (the evidence is not trusted) or disputed, with a reason.
    The latest review is kept per flag; every review is in the audit log."""
    ensure_role(user, "admin", "office")
    photo = (
        await Photo.select(Photo.inspection_id, Photo.flags, Photo.deleted)
        .where(Photo.id == photo_id)
        .first()
    )
    if photo is None or photo["deleted"]:
        raise NotFound(f"photo {photo_id} does not exist", code="unknown_photo")
    await ensure_inspection_visible(user, photo["inspection_id"])
    if code not in {flag.code for flag in decode_flags(photo["flags"])}:
        raise Conflict(f"photo {photo_id} has no {code} flag (any more)", code="flag_not_present")
    now = datetime.now(UTC)
    reason = data.reason.strip()
    if not reason:
        raise RuleRefused("a review needs a reason", code="reason_required")
    async with write_tx():
        existing = await EvidenceReview.select(EvidenceReview.id).where(
            (EvidenceReview.photo_id == photo_id) & (EvidenceReview.code == code)
        )
        values: dict[Any, Any] = {
            EvidenceReview.status: data.status,
            EvidenceReview.reason: reason,
            EvidenceReview.reviewed_by: user.id,
            EvidenceReview.reviewed_at: now,
        }
        if existing:
            await EvidenceReview.update(values).where(EvidenceReview.id == existing[0]["id"])
        else:
            await EvidenceReview(
                photo_id=photo_id,
                code=code,
                status=data.status,
                reason=reason,
                reviewed_by=user.id,
                reviewed_at=now,
            ).save()
        await record(
            user_id=str(user.id),
            action="evidence.review",
            entity=f"photo/{photo_id}",
            details={"code": code, "status": data.status, "reason": reason},
        )
    return FlagReview(status=data.status, reason=reason, reviewed_by=user.id, reviewed_at=now)
