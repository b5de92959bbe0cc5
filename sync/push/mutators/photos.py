"""``addPhoto``, ``removePhoto`` and ``setPhotoCaption``: photos are an add-wins set keyed by the device's
photo id (a removal is a tombstone); the caption is a register like an answer."""

from __future__ import annotations

import re
from uuid import UUID

from sync import policy
from sync.mutations import AddPhoto, MutationResult, RemovePhoto, SetPhotoCaption
from sync.push import checks
from sync.push.batch import PhotoRow, PushBatch, RegisterKind, RegisterRow, Wanted, caption_key
from sync.push.checks import Rejected
from sync.push.mutators.base import Mutator, Owners, View, mark_pending, named_inspection
from sync.push.registers import register_row, write_register

SHA256 = re.compile(r"[0-9a-f]{64}")
PHOTO_MIMES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})
# ledgers attach through the same mutation: the mime says the kind (the upload sniffs the bytes)
EVIDENCE_MIMES = PHOTO_MIMES | policy.DOCUMENT_MIMES


def add_needs(m: AddPhoto, wanted: Wanted) -> None:
    wanted.photos.add(m.args.photo_id)
    wanted.shas.add(m.args.sha256)


def remove_needs(m: RemovePhoto, wanted: Wanted) -> None:
    wanted.photos.add(m.args.photo_id)


def caption_needs(m: SetPhotoCaption, wanted: Wanted) -> None:
    wanted.photos.add(m.args.photo_id)
    wanted.captions.add(m.args.photo_id)


def photo_target(m: RemovePhoto | SetPhotoCaption, owners: Owners) -> UUID | None:
    return owners.get(m.args.photo_id, m.args.inspection_id)


async def add_photo(batch: PushBatch, m: AddPhoto) -> MutationResult:
    a = m.args
    inspection = checks.target_inspection(batch, m, a.inspection_id)
    checks.item_rules(batch, inspection, a.item_code)
    if not SHA256.fullmatch(a.sha256):
        raise Rejected("invalid_args", "sha256 must be 64 lowercase hex digits")
    if a.size <= 0:
        raise Rejected("invalid_args", "size must be positive")
    if a.mime not in EVIDENCE_MIMES:
        raise Rejected("unsupported_mime", f"{a.mime!r} is not one of {sorted(EVIDENCE_MIMES)}")
    photo = batch.photos.get(a.photo_id)
    if photo is not None and (photo.inspection_id != inspection.id or photo.sha256 != a.sha256):
        raise Rejected("photo_exists", f"photo {a.photo_id} already exists with other content")
    upload = a.sha256 not in batch.stored_blobs
    if photo is not None and not photo.deleted:
        return MutationResult(id=m.id, status="applied", version=photo.version, upload_required=upload)
    version = batch.bump(inspection)
    if photo is None:
        photo = PhotoRow(
            id=a.photo_id,
            inspection_id=inspection.id,
            item_code=a.item_code,
            requirement_id=a.requirement_id,
            sha256=a.sha256,
            size=a.size,
            mime=a.mime,
            taken_at=a.taken_at,
            caption="",
            caption_version=0,
            deleted=False,
            version=version,
            add_version=version,
            created_by=batch.caller.user_id,
            client_id=batch.client_id,
            is_new=True,
        )
        batch.photos[photo.id] = photo
        # a caption or removal later in this push may name the photo without its inspection
        batch.owners[photo.id] = inspection.id
    else:
        # Add-wins: a re-add revives a removed photo.
        photo.deleted, photo.version, photo.add_version = False, version, version
    batch.dirty_photos.add(photo.id)
    batch.log(m, f"photo/{a.photo_id}", {"item": a.item_code, "sha256": a.sha256, "size": a.size})
    return MutationResult(id=m.id, status="applied", version=version, upload_required=upload)


async def remove_photo(batch: PushBatch, m: RemovePhoto) -> MutationResult:
    inspection = checks.target_inspection(batch, m, photo_target(m, batch.owners))
    photo = batch.photos.get(m.args.photo_id)
    if photo is None:
        raise Rejected("unknown_photo", f"photo {m.args.photo_id} does not exist")
    if photo.deleted:
        return MutationResult(id=m.id, status="applied", version=photo.version)
    if not policy.remove_wins(photo.add_version, m.args.base_version):
        return MutationResult(
            id=m.id, status="applied", version=photo.version, detail="a later add of this photo wins"
        )
    version = batch.bump(inspection)
    photo.deleted, photo.version = True, version
    batch.dirty_photos.add(photo.id)
    batch.log(m, f"photo/{photo.id}", {"removed": True})
    return MutationResult(id=m.id, status="applied", version=version)


async def set_caption(batch: PushBatch, m: SetPhotoCaption) -> MutationResult:
    inspection = checks.target_inspection(batch, m, photo_target(m, batch.owners))
    photo = batch.photos.get(m.args.photo_id)
    if photo is None:
        raise Rejected("unknown_photo", f"photo {m.args.photo_id} does not exist")
    checks.check_text(m.args.caption)
    row = register_row(batch, caption_key(photo.id), inspection.id, photo.item_code, "caption")
    return write_register(batch, m, inspection, row, batch.write(m, m.args.caption, m.args.base_version))


def replay_add(view: View, m: AddPhoto) -> None:
    p = m.args
    view[f"photo/{p.photo_id}"] = {
        "id": str(p.photo_id),
        "inspectionId": str(p.inspection_id),
        "itemCode": p.item_code,
        "sha256": p.sha256,
        "size": p.size,
        "mime": p.mime,
        "pending": True,
    }


def replay_remove(view: View, m: RemovePhoto) -> None:
    view.pop(f"photo/{m.args.photo_id}", None)


def replay_caption(view: View, m: SetPhotoCaption) -> None:
    mark_pending(view, f"photo/{m.args.photo_id}", {"caption": m.args.caption})


def caption_follows(batch: PushBatch, row: RegisterRow) -> None:
    """A caption register changed: its photo row carries the caption (and its version)."""
    photo = batch.photos[UUID(row.key.removeprefix("caption/"))]
    photo.caption = str(row.state.value or "")
    photo.caption_version = row.state.version
    photo.version = row.state.version
    batch.dirty_photos.add(photo.id)


CAPTIONS = RegisterKind(prefix="caption/", rows="photos", follow=caption_follows)

ADD_PHOTO = Mutator(target=named_inspection, needs=add_needs, apply=add_photo, replay=replay_add)
REMOVE_PHOTO = Mutator(target=photo_target, needs=remove_needs, apply=remove_photo, replay=replay_remove)
SET_PHOTO_CAPTION = Mutator(
    target=photo_target, needs=caption_needs, apply=set_caption, replay=replay_caption
)
