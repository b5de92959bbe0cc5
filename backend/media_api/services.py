"""Photos and their bytes: who may upload or read, the receipt, and linking blob facts to photos.

Decision (DESIGN §5 left it open): an upload can only be created for a photo that an ``addPhoto`` mutation
already created. The PWA pushes mutations before it uploads, so this costs nothing, and it means every
upload session is tied to an inspection the caller may write (no anonymous bytes parked on our disk). A
``photoId`` the server does not know yet gets 404 ``unknown_photo`` ("push the addPhoto mutation first").
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import msgspec
from piccolo.engine.base import Engine

from backend.db import current_engine, read_tx
from backend.errors import Conflict, NotFound, RuleRefused
from backend.guards import AuthUser
from backend.inspections.scope import (
    ensure_inspection_visible,
    ensure_inspection_writable,
    visible_inspection_ids,
)
from backend.inspections.tables import Inspection
from backend.media_api.schemas import (
    ArticleShortfall,
    Blocker,
    CreateUploadRequest,
    EvidenceFlag,
    EvidenceKind,
    NotCounted,
    PhotoState,
    Receipt,
    ReceiptPhoto,
)
from backend.settings import Settings
from backend.storage import build_storage
from backend.sync_api.rules import STANDARD_RULES, StandardItemRules, photo_requirements

# the blob facts hook lives with the sync wiring (a push may add a photo of bytes already stored)
from backend.sync_api.services import after_blob_derived as after_blob_derived
from backend.sync_api.services import after_blob_received as after_blob_received
from backend.sync_api.services import link_blob_facts as link_blob_facts
from backend.vocabulary import Message
from media import uploads
from media.documents import FORMAT_NAMES, has_page_image
from media.spool_s3 import S3Spool
from media.storage import S3Storage
from media.uploads import arrived_blobs_held
from sync.api import (
    EDITABLE,
    PhotoFacts,
    assess_submit,
    photo_not_counted,
    read_submit_state,
    submit_blockers,
    submit_shortfalls,
)
from sync.flags import visible_flags
from sync.policy import is_document
from sync.tables import Photo

log = logging.getLogger("fieldcheck.media")

SIGNED_URL_TTL_SECONDS = 120


def upload_config(settings: Settings) -> uploads.UploadConfig:
    return uploads.UploadConfig(
        spool_root=settings.data_path / "spool",
        max_upload_bytes=settings.max_upload_bytes,
        s3=s3_spool(settings) if settings.upload_spool == "s3" else None,
    )


@functools.cache
def s3_spool(settings: Settings) -> S3Spool:
    """One S3 spool (and boto3 client) per settings, made on first use."""
    storage = build_storage(settings)
    if not isinstance(storage, S3Storage):
        raise ValueError(
            "FIELDCHECK_UPLOAD_SPOOL=s3 needs FIELDCHECK_STORAGE=s3 (the spool lives in its bucket)"
        )
    return S3Spool(storage)


def validator(settings: Settings) -> uploads.Validator:
    return uploads.evidence_validator(
        max_pixels=settings.max_image_pixels, max_bytes=settings.max_upload_bytes
    )


def media_url_secret(secret_key: str) -> bytes:
    """A key of its own for media URLs, derived from the app secret (any length in, 32 bytes out)."""
    return hmac.new(secret_key.encode(), b"fieldcheck media urls v1", hashlib.sha256).digest()


# -- who may do what --
async def get_photo(photo_id: UUID) -> dict[str, Any]:
    photo: dict[str, Any] | None = await Photo.select().where(Photo.id == photo_id).first()
    if photo is None:
        raise NotFound(
            f"photo {photo_id} is unknown: push the addPhoto mutation first, then upload",
            code="unknown_photo",
        )
    return photo


# -- uploads --
async def start_upload(
    *, user: AuthUser, data: CreateUploadRequest, engine: Engine[Any], settings: Settings
) -> uploads.Created:
    photo = await get_photo(data.photo_id)
    await ensure_inspection_writable(user, photo["inspection_id"])
    if photo["deleted"]:
        raise Conflict("that photo was removed; nothing to upload", code="photo_removed")
    if data.sha256 != photo["sha256"] or data.size != photo["size"]:
        raise RuleRefused(
            "sha256 and size must be those of the addPhoto mutation for this photo",
            code="photo_mismatch",
            expected_sha256=photo["sha256"],
            expected_size=photo["size"],
        )
    # complete at once when the server has these bytes already: their photos took their facts when they
    # arrived (after_blob_received) or when the photo was pushed (push_and_refresh): nothing to do per holder
    return await uploads.create_upload(
        engine=engine,
        config=upload_config(settings),
        photo_id=data.photo_id,
        sha256_hex=data.sha256,
        size=data.size,
        mime=data.mime,
        user_id=user.id,
    )


# -- receipt --
async def receipt(*, user: AuthUser, inspection_id: UUID, config: uploads.UploadConfig) -> Receipt:
    await ensure_inspection_visible(user, inspection_id)
    inspection = (
        await Inspection.select(Inspection.standard_version_id).where(Inspection.id == inspection_id).first()
    )
    assert inspection is not None
    photos = (
        await Photo.select()
        .where((Photo.inspection_id == inspection_id) & (Photo.deleted == False))  # noqa: E712
        .order_by(Photo.created_at)
    )
    shas = sorted({p["sha256"] for p in photos})
    found = await uploads.blobs(shas)
    held = await _held_photos(photos)
    offsets = await uploads.uploaded_bytes(config, [p["id"] for p in photos])
    readable = await visible_inspection_ids(user)
    out: list[ReceiptPhoto] = []
    counts: dict[str, int] = {"awaiting_upload": 0, "received": 0, "stored": 0, "rejected": 0}
    requirements = await photo_requirements(inspection["standard_version_id"])
    for photo in photos:
        state, reason = photo_state(photo, found.get(photo["sha256"]) if photo["id"] in held else None)
        counts[state] += 1
        # its thumbnail and preview are made: every device may show it (GET /api/photos/{id}/thumb); a DOCX or
        # XLSX has none (its type icon stands for it), so it is never ready
        ready = (
            state == "stored"
            and has_page_image(photo["mime"])
            and bool((found.get(photo["sha256"]) or {}).get("derived"))
        )
        if is_document(photo["mime"]):
            out.append(
                receipt_photo(photo, state, reason, offsets, [], readable, kind="document", thumb_ready=ready)
            )
            continue
        # why it would not count toward its article's minimum, in this photo's words (its upload state)
        not_counted = photo_not_counted(
            PhotoFacts(
                item_code=photo["item_code"],
                received=state in ("received", "stored"),
                has_capture_time=photo["capture_time"] is not None,
                has_location=photo["gps_lat"] is not None,
            ),
            requirements.get(photo["item_code"]),
        )
        out.append(
            receipt_photo(
                photo, state, reason, offsets, not_counted, readable, kind="photo", thumb_ready=ready
            )
        )
    rules = await STANDARD_RULES.standard_rules(inspection["standard_version_id"])
    version, blockers, short = await _readiness(inspection_id, rules)
    return Receipt(
        inspection_id=inspection_id,
        standard_id=inspection["standard_version_id"],
        version=version,
        blockers=blockers,
        photos=out,
        short_articles=short,
        counts=counts,
        complete=counts["awaiting_upload"] == 0
        and counts["rejected"] == 0
        and not short
        and rules is not None,
        minimums_source="standard" if rules is not None else "unavailable",
    )


async def _readiness(
    inspection_id: UUID, rules: StandardItemRules | None
) -> tuple[int, list[Blocker], list[ArticleShortfall]]:
    """The inspection's version, what keeps it from being submitted (none once it is no longer editable) and
    the articles short of evidence, judged as the submit judges them (``sync.readiness``, one snapshot)."""
    async with read_tx():
        row = (
            await Inspection.select(Inspection.status, Inspection.version)
            .where(Inspection.id == inspection_id)
            .first()
        )
        assert row is not None
        if rules is None:
            return row["version"], [], []
        state = await read_submit_state(current_engine(), inspection_id, row["status"], arrived_blobs_held)
    judged = assess_submit(rules, state)
    short = [
        ArticleShortfall(
            item_code=s.item,
            title=rules.articles[s.item].title,
            required=s.need,
            have=s.have,
            evidence="document" if s.document else "photo",
        )
        for s in submit_shortfalls(rules, state, judged)
    ]
    if row["status"] not in EDITABLE:
        return row["version"], [], short
    blockers = [
        Blocker(code=b.code, params=b.params, links=b.links) for b in submit_blockers(rules, state, judged)
    ]
    return row["version"], blockers, short


def receipt_photo(
    photo: dict[str, Any],
    state: PhotoState,
    reason: str | None,
    offsets: dict[Any, int],
    not_counted: Sequence[str],
    readable: set[UUID] | None,
    *,
    kind: EvidenceKind,
    thumb_ready: bool = False,
) -> ReceiptPhoto:
    return ReceiptPhoto(
        photo_id=photo["id"],
        item_code=photo["item_code"],
        requirement_id=photo["requirement_id"],
        sha256=photo["sha256"],
        size=photo["size"],
        state=state,
        reason=reason,
        uploaded_bytes=offsets.get(photo["id"]) if state == "awaiting_upload" else None,
        capture_time=photo["capture_time"],
        reused_elsewhere=bool(photo["reused_elsewhere"]),
        not_counted=[cast(NotCounted, why) for why in not_counted],
        flags=evidence_flags(photo["flags"], readable),
        kind=kind,
        mime=photo["mime"],
        thumb_ready=thumb_ready,
        format=FORMAT_NAMES.get(photo["mime"]),
        page_image=has_page_image(photo["mime"]),
    )


def evidence_flags(raw: str | None, readable: set[UUID] | None) -> list[EvidenceFlag]:
    """The photo's flags with only the related photos this reader may see (DESIGN §7)."""
    ids = None if readable is None else {str(i) for i in readable}
    return [
        EvidenceFlag(
            code=f["code"],
            detail=f["detail"],
            related_photo_ids=f["relatedPhotoIds"],
            message=msgspec.convert(f["message"], Message) if f.get("message") else None,
        )
        for f in visible_flags(raw, lambda iid: ids is None or str(iid) in ids)
    ]


def photo_state(photo: dict[str, Any], blob: dict[str, Any] | None) -> tuple[PhotoState, str | None]:
    if blob is None:
        return "awaiting_upload", None
    if blob["state"] == "rejected":
        return "rejected", blob["reject_reason"]
    if blob["state"] == "stored":
        return "stored", None
    return "received", None


# -- reading photos --
async def readable_photo(*, user: AuthUser, photo_id: UUID) -> tuple[dict[str, Any], dict[str, Any] | None]:
    photo: dict[str, Any] | None = await Photo.select().where(Photo.id == photo_id).first()
    if photo is None or photo["deleted"]:
        raise NotFound(f"photo {photo_id} does not exist", code="unknown_photo")
    await ensure_inspection_visible(user, photo["inspection_id"])
    blob = await uploads.blob_state(photo["sha256"])
    if blob is not None and not await _author_holds(photo):
        return photo, None  # its author never sent these bytes: as if nothing had arrived
    return photo, blob


async def _author_holds(photo: dict[str, Any]) -> bool:
    author = photo["created_by"]
    # a photo without an author predates authors being recorded (every push records one): as before
    return author is None or bool(await uploads.held_blobs([photo["sha256"]], author))


async def _held_photos(photos: list[dict[str, Any]]) -> set[UUID]:
    """The photos whose author proved possession of their bytes (only those count as received)."""
    by_author: dict[UUID, set[str]] = {}
    for photo in photos:
        if photo["created_by"] is not None:
            by_author.setdefault(photo["created_by"], set()).add(photo["sha256"])
    held = {author: await uploads.held_blobs(shas, author) for author, shas in by_author.items()}
    return {
        photo["id"]
        for photo in photos
        if photo["created_by"] is None or photo["sha256"] in held[photo["created_by"]]
    }


def spool_file(blob: dict[str, Any]) -> Path | None:
    return Path(blob["spool_path"]) if blob.get("spool_path") else None


def expires_at(ttl: int = SIGNED_URL_TTL_SECONDS) -> int:
    return int(datetime.now(UTC).timestamp()) + ttl
