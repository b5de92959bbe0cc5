"""``addNote``, ``editNote`` and ``deleteNote``: notes have one author each, so they never conflict. A deletion
is a tombstone: an edit or a re-add of a deleted note is refused (``unknown_note`` / ``note_exists``)."""

from __future__ import annotations

from uuid import UUID

from sync.mutations import AddNote, DeleteNote, EditNote, MutationResult
from sync.push import checks
from sync.push.batch import NoteRow, PushBatch, Wanted
from sync.push.checks import Rejected
from sync.push.mutators.base import Mutator, Owners, View, mark_pending, named_inspection


def needs(m: AddNote | EditNote | DeleteNote, wanted: Wanted) -> None:
    wanted.notes.add(m.args.note_id)


async def add_note(batch: PushBatch, m: AddNote) -> MutationResult:
    a = m.args
    inspection = checks.target_inspection(batch, m, a.inspection_id)
    checks.item_rules(batch, inspection, a.item_code)
    checks.check_text(a.text)
    existing = batch.notes.get(a.note_id)
    if existing is not None:
        if (
            existing.deleted
            or existing.author_id != batch.caller.user_id
            or existing.inspection_id != inspection.id
        ):
            raise Rejected("note_exists", f"note {a.note_id} already exists")
        if existing.text == a.text:
            return MutationResult(id=m.id, status="applied", version=existing.version)
        raise Rejected("note_exists", f"note {a.note_id} already exists; change it with editNote")
    version = batch.bump(inspection)
    batch.notes[a.note_id] = NoteRow(
        id=a.note_id,
        inspection_id=inspection.id,
        item_code=a.item_code,
        author_id=batch.caller.user_id,
        text=a.text,
        version=version,
        client_id=batch.client_id,
        hlc=m.hlc,
        mutation_id=m.id,
    )
    batch.dirty_notes.add(a.note_id)
    # an edit later in this push may name the note without its inspection
    batch.owners[a.note_id] = inspection.id
    batch.log(m, f"note/{a.note_id}", {"item": a.item_code, "length": len(a.text)})
    return MutationResult(id=m.id, status="applied", version=version)


def edit_target(m: EditNote | DeleteNote, owners: Owners) -> UUID | None:
    return owners.get(m.args.note_id, m.args.inspection_id)


async def edit_note(batch: PushBatch, m: EditNote) -> MutationResult:
    inspection = checks.target_inspection(batch, m, edit_target(m, batch.owners))
    note = batch.notes.get(m.args.note_id)
    if note is None or note.deleted:
        raise Rejected("unknown_note", f"note {m.args.note_id} does not exist")
    if note.author_id != batch.caller.user_id:
        raise Rejected("not_author", "only the author of a note may edit it")
    checks.check_text(m.args.text)
    if note.text == m.args.text:
        return MutationResult(id=m.id, status="applied", version=note.version)
    version = batch.bump(inspection)
    note.text, note.version, note.client_id, note.hlc, note.mutation_id = (
        m.args.text,
        version,
        batch.client_id,
        m.hlc,
        m.id,
    )
    batch.dirty_notes.add(note.id)
    batch.log(m, f"note/{note.id}", {"length": len(m.args.text)})
    return MutationResult(id=m.id, status="applied", version=version)


async def delete_note(batch: PushBatch, m: DeleteNote) -> MutationResult:
    inspection = checks.target_inspection(batch, m, edit_target(m, batch.owners))
    note = batch.notes.get(m.args.note_id)
    if note is None:
        raise Rejected("unknown_note", f"note {m.args.note_id} does not exist")
    if note.author_id != batch.caller.user_id:
        raise Rejected("not_author", "only the author of a note may delete it")
    if note.deleted:  # deleted already (by this author's other device): nothing to do
        return MutationResult(id=m.id, status="applied", version=note.version)
    version = batch.bump(inspection)
    note.deleted, note.version, note.client_id, note.hlc, note.mutation_id = (
        True,
        version,
        batch.client_id,
        m.hlc,
        m.id,
    )
    batch.dirty_notes.add(note.id)
    batch.log(m, f"note/{note.id}", {"deleted": True})
    return MutationResult(id=m.id, status="applied", version=version)


def replay_add(view: View, m: AddNote) -> None:
    n = m.args
    view[f"note/{n.note_id}"] = {
        "id": str(n.note_id),
        "inspectionId": str(n.inspection_id),
        "itemCode": n.item_code,
        "text": n.text,
        "pending": True,
    }


def replay_edit(view: View, m: EditNote) -> None:
    mark_pending(view, f"note/{m.args.note_id}", {"text": m.args.text})


def replay_delete(view: View, m: DeleteNote) -> None:
    view.pop(f"note/{m.args.note_id}", None)


ADD_NOTE = Mutator(target=named_inspection, needs=needs, apply=add_note, replay=replay_add)
EDIT_NOTE = Mutator(target=edit_target, needs=needs, apply=edit_note, replay=replay_edit)
DELETE_NOTE = Mutator(target=edit_target, needs=needs, apply=delete_note, replay=replay_delete)
