"""Reading a push batch: what its mutations name (each mutator's ``needs``), with one set-based query per
table. The inspections changed are locked first (sorted ids, ``FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already holds the one write lock); everything after them is read under those locks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import msgspec

from sync import lifecycle
from sync.mutations import Mutation
from sync.policy import Candidate, ConflictState, Register
from sync.push.batch import (
    ROW_KINDS,
    ImprovementRow,
    InspectionRow,
    NoteRow,
    PhotoRow,
    PlanInspection,
    PushBatch,
    RegisterRow,
    Wanted,
    caption_key,
    improvement_register_key,
)
from sync.push.mutators import REGISTRY
from sync.sql import Sql, as_uuid, opt_uuid


def wanted_of(mutations: Sequence[Mutation]) -> Wanted:
    """What the mutations name (each mutator's ``needs``)."""
    wanted = Wanted()
    for m in mutations:
        REGISTRY[type(m)].needs(m, wanted)
    return wanted


def targets_of(mutations: Sequence[Mutation], owners: Mapping[UUID, UUID]) -> set[UUID]:
    """The inspections the mutations change (before the caller's scope is asked)."""
    found = (REGISTRY[type(m)].target(m, owners) for m in mutations)
    return {target for target in found if target is not None}


async def owners_of(sql: Sql, wanted: Wanted) -> dict[UUID, UUID]:
    """Which inspection each note, photo, improvement item or conflict the mutations (:func:`wanted_of`) name
    is in (nothing to read for a push of answers). It never changes, so it may be read before the locks."""
    owners: dict[UUID, UUID] = {}
    await _owners(sql, wanted, owners)
    return owners


async def load(
    batch: PushBatch,
    mutations: list[Mutation],
    locked: Mapping[UUID, Mapping[str, Any]] | None = None,
    *,
    named: tuple[Wanted, set[UUID]] | None = None,
) -> None:
    """Lock the inspections the mutations change and read what they need under those locks. ``locked``: the
    inspections' rows the caller already locked (PostgreSQL, in the statement of its client row; it read
    ``batch.owners`` before them with :func:`owners_of`), a superset of the targets that the caller may write.
    ``named``: what these very mutations name and the inspections they change, when the caller has them
    already (:func:`wanted_of`, :func:`targets_of`: made once per push, not twice)."""
    wanted, found = (wanted_of(mutations), None) if named is None else named
    if locked is None:
        await _owners(batch.sql, wanted, batch.owners)
    if found is None:
        found = targets_of(mutations, batch.owners)
    targets = sorted(t for t in found if batch.caller.can_write(t))
    if targets:
        if locked is None:
            _take_inspections(batch, await lifecycle.lock(batch.sql, targets))
        else:
            _take_inspections(batch, [locked[t] for t in targets if t in locked])
    for standard_id in {i.standard_id for i in batch.inspections.values()}:
        batch.rules[standard_id] = await batch.ctx.rules.for_standard(standard_id)
    if not batch.inspections:
        return
    # Everything below is read under the inspection locks.
    if wanted.conflicts:
        await _conflicts(batch, list(wanted.conflicts))
    # a resolution of a conflict on a register a row carries moves that row too: read it (its kind says which)
    for c in batch.conflicts.values():
        kind = batch.register_kind(c.register_key)
        if kind is not None:
            getattr(wanted, kind.rows).add(kind.row_id(c.register_key))
    if wanted.improvements:
        await _improvements(batch, list(wanted.improvements))
    if wanted.plans:
        await _plan_inspections(batch, [i for i in wanted.plans if i in batch.inspections])
    keys = {
        batch.inspections[iid].answer_key(item_code, field)
        for iid, item_code, field in wanted.answers
        if iid in batch.inspections
    }
    keys |= {caption_key(photo_id) for photo_id in wanted.captions}
    keys |= {improvement_register_key(iid, f) for iid, f in wanted.improvement_fields}
    # an improvement item follows its article's self-assessed answer (the grade before, 已改进 C→B)
    keys |= {
        batch.inspections[imp.inspection_id].answer_key(imp.item_code, "value")
        for imp in batch.improvements.values()
        if imp.inspection_id in batch.inspections
    }
    keys |= {c.register_key for c in batch.conflicts.values()}
    if keys:
        await _registers(batch, list(keys))
    open_ids = [
        r.state.conflict_id
        for r in batch.registers.values()
        if r.state.conflict_id is not None and r.state.conflict_id not in batch.conflicts
    ]
    if open_ids:
        await _conflicts(batch, open_ids)
    if wanted.notes:
        await _notes(batch, list(wanted.notes))
    if wanted.photos:
        await _photos(batch, list(wanted.photos))
    shas = wanted.shas | {p.sha256 for p in batch.photos.values()}
    if shas:
        batch.stored_blobs = await batch.ctx.blobs_stored(shas, batch.caller.user_id)


async def _owners(sql: Sql, wanted: Wanted, owners: dict[UUID, UUID]) -> None:
    for kind in ROW_KINDS:
        table, ids = kind.table, getattr(wanted, kind.rows)
        if ids:
            select = f'SELECT "id", "inspection_id" FROM "{table}"'  # noqa: S608
            for row in await sql.fetch_in(select, '"id"', list(ids)):
                owners[as_uuid(row["id"])] = as_uuid(row["inspection_id"])


def _take_inspections(batch: PushBatch, rows: Sequence[Mapping[str, Any]]) -> None:
    for row in rows:
        iid = as_uuid(row["id"])
        batch.inspections[iid] = InspectionRow(
            id=iid, version=int(row["version"]), status=row["status"], standard_id=row["standard_version_id"]
        )


async def _registers(batch: PushBatch, keys: list[str]) -> None:
    select = (
        'SELECT "key", "inspection_id", "item_code", "field", "value", "version", "run_start", "user_id", '
        '"client_id", "hlc", "mutation_id", "conflict_id" FROM "answer_register"'
    )
    for row in await batch.sql.fetch_in(select, '"key"', keys):
        batch.registers[row["key"]] = RegisterRow(
            key=row["key"],
            inspection_id=as_uuid(row["inspection_id"]),
            item_code=row["item_code"],
            field=row["field"],
            state=Register(
                value=msgspec.json.decode(row["value"]),
                version=int(row["version"]),
                run_start=int(row["run_start"]),
                user_id=opt_uuid(row["user_id"]),
                client_id=row["client_id"],
                hlc=row["hlc"],
                mutation_id=int(row["mutation_id"]),
                conflict_id=opt_uuid(row["conflict_id"]),
            ),
        )


async def _conflicts(batch: PushBatch, ids: list[UUID]) -> None:
    select = (
        'SELECT "id", "inspection_id", "register_key", "item_code", "field", "base_version", "candidates", '
        '"status", "resolution", "resolved_by", "version" FROM "sync_conflict"'
    )
    for row in await batch.sql.fetch_in(select, '"id"', ids):
        conflict = ConflictState(
            id=as_uuid(row["id"]),
            inspection_id=as_uuid(row["inspection_id"]),
            register_key=row["register_key"],
            item_code=row["item_code"],
            field=row["field"],
            base_version=int(row["base_version"]),
            candidates=[Candidate.from_wire(c) for c in msgspec.json.decode(row["candidates"])],
            status=row["status"],
            version=int(row["version"]),
            resolution=None if row["resolution"] is None else msgspec.json.decode(row["resolution"]),
            resolved_by=opt_uuid(row["resolved_by"]),
        )
        batch.conflicts[conflict.id] = conflict


async def _notes(batch: PushBatch, ids: list[UUID]) -> None:
    select = (
        'SELECT "id", "inspection_id", "item_code", "author_id", "text", "version", "client_id", "hlc", '
        '"mutation_id", "deleted" FROM "note_entry"'
    )
    for row in await batch.sql.fetch_in(select, '"id"', ids):
        note = NoteRow(
            id=as_uuid(row["id"]),
            inspection_id=as_uuid(row["inspection_id"]),
            item_code=row["item_code"],
            author_id=as_uuid(row["author_id"]),
            text=row["text"],
            version=int(row["version"]),
            client_id=row["client_id"],
            hlc=row["hlc"],
            mutation_id=int(row["mutation_id"]),
            deleted=bool(row["deleted"]),
        )
        batch.notes[note.id] = note


async def _photos(batch: PushBatch, ids: list[UUID]) -> None:
    select = (
        'SELECT "id", "inspection_id", "item_code", "requirement_id", "sha256", "size", "mime", "taken_at", '
        '"caption", "caption_version", "deleted", "version", "add_version", "created_by", "client_id" '
        'FROM "photo"'
    )
    for row in await batch.sql.fetch_in(select, '"id"', ids):
        photo = PhotoRow(
            id=as_uuid(row["id"]),
            inspection_id=as_uuid(row["inspection_id"]),
            item_code=row["item_code"],
            requirement_id=row["requirement_id"],
            sha256=row["sha256"],
            size=int(row["size"]),
            mime=row["mime"],
            taken_at=row["taken_at"],
            caption=row["caption"],
            caption_version=int(row["caption_version"]),
            deleted=bool(row["deleted"]),
            version=int(row["version"]),
            add_version=int(row["add_version"]),
            created_by=opt_uuid(row["created_by"]),
            client_id=row["client_id"],
        )
        batch.photos[photo.id] = photo


async def _improvements(batch: PushBatch, ids: list[UUID]) -> None:
    select = (
        'SELECT "id", "inspection_id", "facility_id", "round_id", "item_code", "requirement_id", "gap", "kind", '
        '"owner", "due_date", "status", "photo_ids", "grade_before", "done_version", "field_versions", '
        '"version", "created_by", "client_id", "status_changed_at" FROM "improvement_item"'
    )
    for row in await batch.sql.fetch_in(select, '"id"', ids):
        item = ImprovementRow(
            id=as_uuid(row["id"]),
            inspection_id=as_uuid(row["inspection_id"]),
            facility_id=as_uuid(row["facility_id"]),
            round_id=as_uuid(row["round_id"]),
            item_code=row["item_code"],
            requirement_id=row["requirement_id"],
            gap=row["gap"],
            kind=row["kind"],
            owner=row["owner"],
            due_date=row["due_date"],
            status=row["status"],
            photo_ids=list(msgspec.json.decode(row["photo_ids"])),
            grade_before=msgspec.json.decode(row["grade_before"]),
            done_version=int(row["done_version"]),
            field_versions=dict(msgspec.json.decode(row["field_versions"])),
            version=int(row["version"]),
            created_by=opt_uuid(row["created_by"]),
            client_id=row["client_id"],
            status_changed_at=row["status_changed_at"],
        )
        batch.improvements[item.id] = item


async def _plan_inspections(batch: PushBatch, ids: list[UUID]) -> None:
    if not ids:
        return
    select = 'SELECT "id", "stage", "facility", "round" FROM "inspection"'
    for row in await batch.sql.fetch_in(select, '"id"', ids):
        batch.plan_inspections[as_uuid(row["id"])] = PlanInspection(
            stage=row["stage"], facility_id=as_uuid(row["facility"]), round_id=as_uuid(row["round"])
        )
