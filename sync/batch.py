"""The in-memory state of one push batch (:mod:`sync.push`): read with a handful of set-based queries under
the inspection locks, written back with ``executemany`` upserts by :meth:`_BatchState.flush`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from sync.context import AuditEntry, Caller, ItemRules
from sync.policy import Candidate, ConflictState, Register
from sync.protocol import (
    AddNote,
    AddPhoto,
    EditNote,
    Mutation,
    RemovePhoto,
    ResolveConflict,
    SetAnswer,
    SetPhotoCaption,
    SubmitInspection,
)
from sync.sql import Sql

if TYPE_CHECKING:
    from sync.push import PushContext

_enc = msgspec.json.Encoder()


def _json(value: Any) -> str:
    return _enc.encode(value).decode()


def caption_key(photo_id: UUID) -> str:
    return f"caption/{photo_id}"


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _opt_uuid(value: Any) -> UUID | None:
    return None if value is None else _uuid(value)


@dataclass(slots=True)
class _Inspection:
    id: UUID
    version: int
    status: str
    standard_id: str
    submitted_at: datetime | None = None
    dirty: bool = False
    # the start of its answer register keys (formatting a UUID is slow, and a push makes one key per mutation)
    key_prefix: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.key_prefix = f"{self.id}/"

    def answer_key(self, item_code: str, field: str) -> str:
        return f"{self.key_prefix}{item_code}/{field}"


@dataclass(slots=True)
class _RegisterRow:
    key: str
    inspection_id: UUID
    item_code: str
    field: str
    state: Register


@dataclass(slots=True)
class _Note:
    id: UUID
    inspection_id: UUID
    item_code: str
    author_id: UUID
    text: str
    version: int
    client_id: str
    hlc: str
    mutation_id: int


@dataclass(slots=True)
class _Photo:
    id: UUID
    inspection_id: UUID
    item_code: str
    requirement_id: str | None
    sha256: str
    size: int
    mime: str
    taken_at: str | None
    caption: str
    caption_version: int
    deleted: bool
    version: int
    add_version: int
    created_by: UUID | None
    client_id: str
    is_new: bool = False


@dataclass
class _BatchState:
    sql: Sql
    caller: Caller
    client_id: str
    ctx: PushContext
    inspections: dict[UUID, _Inspection] = field(default_factory=dict)
    rules: dict[str, ItemRules | None] = field(default_factory=dict)
    registers: dict[str, _RegisterRow] = field(default_factory=dict)
    conflicts: dict[UUID, ConflictState] = field(default_factory=dict)
    notes: dict[UUID, _Note] = field(default_factory=dict)
    photos: dict[UUID, _Photo] = field(default_factory=dict)
    stored_blobs: set[str] = field(default_factory=set)
    dirty_registers: set[str] = field(default_factory=set)
    dirty_conflicts: set[UUID] = field(default_factory=set)
    dirty_notes: set[UUID] = field(default_factory=set)
    dirty_photos: set[UUID] = field(default_factory=set)
    audit: list[AuditEntry] = field(default_factory=list)
    # inspection of each note/photo/conflict named without its inspection id
    owners: dict[UUID, UUID] = field(default_factory=dict)
    # the caller's id as the audit log writes it (once per push, not once per mutation)
    user_text: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.user_text = str(self.caller.user_id)

    # ------------------------------------------------------------------------------------ load

    async def _load(self, mutations: list[Mutation]) -> None:
        note_ids = {m.args.note_id for m in mutations if isinstance(m, AddNote | EditNote)}
        photo_ids = {
            m.args.photo_id for m in mutations if isinstance(m, AddPhoto | RemovePhoto | SetPhotoCaption)
        }
        conflict_ids = {m.args.conflict_id for m in mutations if isinstance(m, ResolveConflict)}
        # Which inspection a named note/photo/conflict is in never changes, so it may be read before the lock.
        for table, ids in (("note_entry", note_ids), ("photo", photo_ids), ("sync_conflict", conflict_ids)):
            if ids:
                cond, args = self.sql.in_list('"id"', list(ids))
                for row in await self.sql.fetch(
                    f'SELECT "id", "inspection_id" FROM "{table}" WHERE {cond}',  # noqa: S608
                    args,
                ):
                    self.owners[_uuid(row["id"])] = _uuid(row["inspection_id"])
        wanted: set[UUID] = set()
        for m in mutations:
            target = self._target(m)
            if target is not None and self.caller.can_write(target):
                wanted.add(target)
        if wanted:
            ordered = sorted(wanted)
            cond, args = self.sql.in_list('"id"', ordered)
            lock = " FOR UPDATE" if self.sql.postgres else ""
            rows = await self.sql.fetch(
                'SELECT "id", "version", "status", "standard_version_id" FROM "inspection" '  # noqa: S608
                f'WHERE {cond} ORDER BY "id"{lock}',
                args,
            )
            for row in rows:
                iid = _uuid(row["id"])
                self.inspections[iid] = _Inspection(
                    id=iid,
                    version=int(row["version"]),
                    status=row["status"],
                    standard_id=row["standard_version_id"],
                )
        for standard_id in {i.standard_id for i in self.inspections.values()}:
            self.rules[standard_id] = await self.ctx.rules.for_standard(standard_id)
        locked = list(self.inspections)
        if not locked:
            return
        # Everything below is read under the inspection locks.
        if conflict_ids:
            await self._load_conflicts(list(conflict_ids))
        keys = {
            self.inspections[m.args.inspection_id].answer_key(m.args.item_code, m.args.field)
            for m in mutations
            if isinstance(m, SetAnswer) and m.args.inspection_id in self.inspections
        }
        keys |= {caption_key(m.args.photo_id) for m in mutations if isinstance(m, SetPhotoCaption)}
        keys |= {c.register_key for c in self.conflicts.values()}
        if keys:
            cond, args = self.sql.in_list('"key"', list(keys))
            for row in await self.sql.fetch(
                'SELECT "key", "inspection_id", "item_code", "field", "value", "version", "run_start", "user_id", '  # noqa: S608
                f'"client_id", "hlc", "mutation_id", "conflict_id" FROM "answer_register" WHERE {cond}',
                args,
            ):
                self.registers[row["key"]] = _RegisterRow(
                    key=row["key"],
                    inspection_id=_uuid(row["inspection_id"]),
                    item_code=row["item_code"],
                    field=row["field"],
                    state=Register(
                        value=msgspec.json.decode(row["value"]),
                        version=int(row["version"]),
                        run_start=int(row["run_start"]),
                        user_id=_opt_uuid(row["user_id"]),
                        client_id=row["client_id"],
                        hlc=row["hlc"],
                        mutation_id=int(row["mutation_id"]),
                        conflict_id=_opt_uuid(row["conflict_id"]),
                    ),
                )
        open_ids = [
            r.state.conflict_id
            for r in self.registers.values()
            if r.state.conflict_id is not None and r.state.conflict_id not in self.conflicts
        ]
        if open_ids:
            await self._load_conflicts(open_ids)
        if note_ids:
            cond, args = self.sql.in_list('"id"', list(note_ids))
            for row in await self.sql.fetch(
                'SELECT "id", "inspection_id", "item_code", "author_id", "text", "version", "client_id", "hlc", '  # noqa: S608
                f'"mutation_id" FROM "note_entry" WHERE {cond}',
                args,
            ):
                note = _Note(
                    id=_uuid(row["id"]),
                    inspection_id=_uuid(row["inspection_id"]),
                    item_code=row["item_code"],
                    author_id=_uuid(row["author_id"]),
                    text=row["text"],
                    version=int(row["version"]),
                    client_id=row["client_id"],
                    hlc=row["hlc"],
                    mutation_id=int(row["mutation_id"]),
                )
                self.notes[note.id] = note
        if photo_ids:
            cond, args = self.sql.in_list('"id"', list(photo_ids))
            for row in await self.sql.fetch(
                'SELECT "id", "inspection_id", "item_code", "requirement_id", "sha256", "size", "mime", "taken_at", '  # noqa: S608
                '"caption", "caption_version", "deleted", "version", "add_version", "created_by", "client_id" '
                f'FROM "photo" WHERE {cond}',
                args,
            ):
                photo = _Photo(
                    id=_uuid(row["id"]),
                    inspection_id=_uuid(row["inspection_id"]),
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
                    created_by=_opt_uuid(row["created_by"]),
                    client_id=row["client_id"],
                )
                self.photos[photo.id] = photo
        shas = {m.args.sha256 for m in mutations if isinstance(m, AddPhoto)}
        shas |= {p.sha256 for p in self.photos.values()}
        if shas:
            self.stored_blobs = await self.ctx.blobs_stored(shas)

    async def _load_conflicts(self, ids: list[UUID]) -> None:
        cond, args = self.sql.in_list('"id"', ids)
        for row in await self.sql.fetch(
            'SELECT "id", "inspection_id", "register_key", "item_code", "field", "base_version", "candidates", '  # noqa: S608
            f'"status", "resolution", "resolved_by", "version" FROM "sync_conflict" WHERE {cond}',
            args,
        ):
            conflict = ConflictState(
                id=_uuid(row["id"]),
                inspection_id=_uuid(row["inspection_id"]),
                register_key=row["register_key"],
                item_code=row["item_code"],
                field=row["field"],
                base_version=int(row["base_version"]),
                candidates=[Candidate.from_wire(c) for c in msgspec.json.decode(row["candidates"])],
                status=row["status"],
                version=int(row["version"]),
                resolution=None if row["resolution"] is None else msgspec.json.decode(row["resolution"]),
                resolved_by=_opt_uuid(row["resolved_by"]),
            )
            self.conflicts[conflict.id] = conflict

    def _target(self, m: Mutation) -> UUID | None:
        args = m.args
        if isinstance(m, SetAnswer | AddNote | AddPhoto | SubmitInspection):
            return args.inspection_id
        if isinstance(m, EditNote):
            return self.owners.get(m.args.note_id, m.args.inspection_id)
        if isinstance(m, RemovePhoto | SetPhotoCaption):
            return self.owners.get(m.args.photo_id, m.args.inspection_id)
        if isinstance(m, ResolveConflict):
            return self.owners.get(m.args.conflict_id, m.args.inspection_id)
        return None

    # ------------------------------------------------------------------------------------ write

    async def flush(self) -> None:
        """Write the changed rows back (sync/flush.py)."""
        from sync.flush import flush_batch

        await flush_batch(self)
