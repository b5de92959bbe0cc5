"""The push batch as :mod:`sync.push` runs it: the decoded mutations applied in order (notes, photos and
submit here, register writes in :mod:`sync.registers`), a rejection answered per mutation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from sync import policy
from sync.batch import _Note, _Photo
from sync.protocol import (
    AddNote,
    AddPhoto,
    EditNote,
    Mutation,
    MutationResult,
    RemovePhoto,
    ResolveConflict,
    SetAnswer,
    SetPhotoCaption,
    SubmitInspection,
)
from sync.registers import _check_text, _RegisterWrites, _Rejected

SHA256 = re.compile(r"^[0-9a-f]{64}$")
PHOTO_MIMES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})


class _Batch(_RegisterWrites):
    async def run(self, decoded: Sequence[Mutation | MutationResult]) -> list[MutationResult]:
        mutations = [m for m in decoded if not isinstance(m, MutationResult)]
        await self._load(mutations)
        results: list[MutationResult] = []
        for item in decoded:
            if isinstance(item, MutationResult):
                results.append(item)
                self._audit_rejected(item, "", None)
                continue
            logged = len(self.audit)
            try:
                result = await self._apply(item)
                if len(self.audit) == logged:
                    # applied without a change (already in that state): still one audit entry per mutation
                    self._log(
                        item, f"mutation/{self.client_id}/{item.id}", {"unchanged": result.detail or True}
                    )
            except _Rejected as rejected:
                result = MutationResult(
                    id=item.id, status="rejected", reason=rejected.reason, detail=rejected.detail
                )
                self._audit_rejected(result, item.hlc, type(item).__struct_config__.tag)
            results.append(result)
        return results

    async def _apply(self, m: Mutation) -> MutationResult:
        if isinstance(m, SetAnswer):
            return self._set_answer(m)
        if isinstance(m, AddNote):
            return self._add_note(m)
        if isinstance(m, EditNote):
            return self._edit_note(m)
        if isinstance(m, AddPhoto):
            return self._add_photo(m)
        if isinstance(m, RemovePhoto):
            return self._remove_photo(m)
        if isinstance(m, SetPhotoCaption):
            return self._set_caption(m)
        if isinstance(m, ResolveConflict):
            return self._resolve(m)
        return await self._submit(m)

    def _add_note(self, m: AddNote) -> MutationResult:
        a = m.args
        inspection = self._inspection(m)
        self._item(inspection, a.item_code)
        _check_text(a.text)
        existing = self.notes.get(a.note_id)
        if existing is not None:
            if existing.author_id != self.caller.user_id or existing.inspection_id != inspection.id:
                raise _Rejected("note_exists", f"note {a.note_id} already exists")
            if existing.text == a.text:
                return MutationResult(id=m.id, status="applied", version=existing.version)
            raise _Rejected("note_exists", f"note {a.note_id} already exists; change it with editNote")
        version = self._bump(inspection)
        self.notes[a.note_id] = _Note(
            id=a.note_id,
            inspection_id=inspection.id,
            item_code=a.item_code,
            author_id=self.caller.user_id,
            text=a.text,
            version=version,
            client_id=self.client_id,
            hlc=m.hlc,
            mutation_id=m.id,
        )
        self.dirty_notes.add(a.note_id)
        self._log(m, f"note/{a.note_id}", {"item": a.item_code, "length": len(a.text)})
        return MutationResult(id=m.id, status="applied", version=version)

    def _edit_note(self, m: EditNote) -> MutationResult:
        inspection = self._inspection(m)
        note = self.notes.get(m.args.note_id)
        if note is None:
            raise _Rejected("unknown_note", f"note {m.args.note_id} does not exist")
        if note.author_id != self.caller.user_id:
            raise _Rejected("not_author", "only the author of a note may edit it")
        _check_text(m.args.text)
        if note.text == m.args.text:
            return MutationResult(id=m.id, status="applied", version=note.version)
        version = self._bump(inspection)
        note.text, note.version, note.client_id, note.hlc, note.mutation_id = (
            m.args.text,
            version,
            self.client_id,
            m.hlc,
            m.id,
        )
        self.dirty_notes.add(note.id)
        self._log(m, f"note/{note.id}", {"length": len(m.args.text)})
        return MutationResult(id=m.id, status="applied", version=version)

    def _add_photo(self, m: AddPhoto) -> MutationResult:
        a = m.args
        inspection = self._inspection(m)
        self._item(inspection, a.item_code)
        if not SHA256.match(a.sha256):
            raise _Rejected("invalid_args", "sha256 must be 64 lowercase hex digits")
        if a.size <= 0:
            raise _Rejected("invalid_args", "size must be positive")
        if a.mime not in PHOTO_MIMES:
            raise _Rejected("unsupported_mime", f"{a.mime!r} is not one of {sorted(PHOTO_MIMES)}")
        photo = self.photos.get(a.photo_id)
        if photo is not None and (photo.inspection_id != inspection.id or photo.sha256 != a.sha256):
            raise _Rejected("photo_exists", f"photo {a.photo_id} already exists with other content")
        upload = a.sha256 not in self.stored_blobs
        if photo is not None and not photo.deleted:
            return MutationResult(id=m.id, status="applied", version=photo.version, upload_required=upload)
        version = self._bump(inspection)
        if photo is None:
            photo = _Photo(
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
                created_by=self.caller.user_id,
                client_id=self.client_id,
                is_new=True,
            )
            self.photos[photo.id] = photo
        else:
            # Add-wins: a re-add revives a removed photo.
            photo.deleted, photo.version, photo.add_version = False, version, version
        self.dirty_photos.add(photo.id)
        self._log(m, f"photo/{a.photo_id}", {"item": a.item_code, "sha256": a.sha256, "size": a.size})
        return MutationResult(id=m.id, status="applied", version=version, upload_required=upload)

    def _remove_photo(self, m: RemovePhoto) -> MutationResult:
        inspection = self._inspection(m)
        photo = self.photos.get(m.args.photo_id)
        if photo is None:
            raise _Rejected("unknown_photo", f"photo {m.args.photo_id} does not exist")
        if photo.deleted:
            return MutationResult(id=m.id, status="applied", version=photo.version)
        if not policy.remove_wins(photo.add_version, m.args.base_version):
            return MutationResult(
                id=m.id, status="applied", version=photo.version, detail="a later add of this photo wins"
            )
        version = self._bump(inspection)
        photo.deleted, photo.version = True, version
        self.dirty_photos.add(photo.id)
        self._log(m, f"photo/{photo.id}", {"removed": True})
        return MutationResult(id=m.id, status="applied", version=version)

    async def _submit(self, m: SubmitInspection) -> MutationResult:
        inspection = self._inspection(m)
        rules = self._rules(inspection)
        # The counts must include this push's own earlier effects: write them first.
        await self.flush()
        iid = inspection.id
        open_rows = await self.sql.fetch(
            'SELECT COUNT(*) AS "n" FROM "sync_conflict" WHERE "inspection_id" = ? AND "status" = ?',
            [iid, "open"],
        )
        photo_rows = await self.sql.fetch(
            'SELECT "item_code", COUNT(*) AS "n" FROM "photo" WHERE "inspection_id" = ? AND "deleted" = ? '
            'GROUP BY "item_code"',
            [iid, False],
        )
        na_rows = await self.sql.fetch(
            'SELECT "item_code" FROM "answer_register" WHERE "inspection_id" = ? AND "field" = ? AND "value" = ?',
            [iid, "na", "true"],
        )
        refusal = policy.submit_refusal(
            inspection.status,
            int(open_rows[0]["n"]),
            rules.min_photos(),
            {r["item_code"]: int(r["n"]) for r in photo_rows},
            {r["item_code"] for r in na_rows},
        )
        if refusal is not None:
            raise _Rejected(*refusal)
        version = self._bump(inspection)
        inspection.status = "submitted"
        inspection.submitted_at = datetime.now(UTC)
        self._log(m, f"inspection/{iid}", {"status": "submitted"})
        return MutationResult(id=m.id, status="applied", version=version)
