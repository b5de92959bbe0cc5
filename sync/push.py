"""Push (DESIGN §6): one transaction per push, inspections locked in sorted id order, the per-inspection
version bumped under that lock for every applied change, ``lastMutationId`` stored with the effects.

The batch is read with a handful of set-based queries, decided in memory by :mod:`sync.policy`, and
written back with ``executemany`` upserts; a push costs a fixed number of statements, not one per mutation.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import re
import uuid
import weakref
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

from sync import policy
from sync.context import (
    AuditEntry,
    AuditHook,
    BlobsStored,
    Caller,
    ItemRules,
    StandardRules,
    TransactionFactory,
)
from sync.policy import Candidate, ConflictState, Outcome, Register, Write
from sync.protocol import (
    AddNote,
    AddPhoto,
    EditNote,
    Mutation,
    MutationHead,
    MutationResult,
    PushRequest,
    PushResponse,
    RemovePhoto,
    ResolveConflict,
    SetAnswer,
    SetPhotoCaption,
    SubmitInspection,
    decode_mutation,
    decode_push,
)
from sync.sql import Sql

SHA256 = re.compile(r"^[0-9a-f]{64}$")
PHOTO_MIMES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})
MAX_TEXT = 20_000


class PushError(Exception):
    """A push refused as a whole (nothing changes): HTTP ``status`` with a problem ``code``."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


@dataclass(frozen=True, kw_only=True)
class PushContext:
    engine: Engine[Any]
    transaction: TransactionFactory
    rules: StandardRules
    audit: AuditHook
    blobs_stored: BlobsStored
    max_mutations: int = 500
    # how many recent results a client keeps, so a retried push gets the very same answer
    results_window: int = 1000


# The window is kept raw: a push only appends to it; results are decoded only for a replay.
_window_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_result_decoder = msgspec.json.Decoder(MutationResult)
_enc = msgspec.json.Encoder()


# The stored window is compressed ("z:" + base64 of zlib): 1000 results are ~50 KB of JSON rewritten by every
# push, but compress ~10x (they repeat the same few shapes). A plain JSON list (older rows) still reads.
_WINDOW_PREFIX = "z:"


def _load_window(stored: str) -> list[msgspec.Raw]:
    if stored.startswith(_WINDOW_PREFIX):
        return _window_decoder.decode(zlib.decompress(base64.b64decode(stored[len(_WINDOW_PREFIX) :])))
    return _window_decoder.decode(stored)


def _dump_window(window: list[msgspec.Raw]) -> str:
    return _WINDOW_PREFIX + base64.b64encode(zlib.compress(_enc.encode(window), 1)).decode()


def _json(value: Any) -> str:
    return _enc.encode(value).decode()


def answer_key(inspection_id: UUID, item_code: str, field: str) -> str:
    return f"{inspection_id}/{item_code}/{field}"


def caption_key(photo_id: UUID) -> str:
    return f"caption/{photo_id}"


CallerSource = Caller | Callable[[], Awaitable[Caller]]

# SQLite has one writer at a time. Pushes of this process queue here, in order, instead of polling SQLite's
# busy handler (which sleeps up to 100 ms between tries and collapses throughput under contention), and the
# pushes waiting in the queue are committed together: one transaction, one fsync, each push in its own
# savepoint so a refused or failing push rolls back alone. Every answer waits for the shared COMMIT.
MAX_GROUP_PUSHES = 64
MAX_GROUP_MUTATIONS = 5000


@dataclass(slots=True)
class _Pending:
    request: PushRequest
    heads: list[MutationHead]
    source: CallerSource
    ctx: PushContext
    future: asyncio.Future[PushResponse]


class _GroupCommitter:
    """The SQLite pushes of one event loop: a FIFO drained by one task, a group per transaction."""

    def __init__(self) -> None:
        self.queue: deque[_Pending] = deque()
        self.task: asyncio.Task[None] | None = None

    def submit(self, pending: _Pending) -> None:
        self.queue.append(pending)
        if self.task is None:
            # A task of its own (and an empty context, so no request's context variables leak into the
            # others' pushes): a cancelled request must not abort the shared transaction.
            self.task = asyncio.get_running_loop().create_task(self._drain(), context=contextvars.Context())

    async def _drain(self) -> None:
        try:
            while self.queue:
                group = self._next_group()
                if group:
                    await _run_group(group)
        finally:
            self.task = None
            for pending in self.queue:  # only when cancelled (loop shutdown)
                pending.future.cancel()

    def _next_group(self) -> list[_Pending]:
        first = self.queue.popleft()
        group = [first]
        size = len(first.heads)
        while self.queue and len(group) < MAX_GROUP_PUSHES:
            nxt = self.queue[0]
            if nxt.ctx.engine is not first.ctx.engine or nxt.ctx.transaction != first.ctx.transaction:
                break
            if size + len(nxt.heads) > MAX_GROUP_MUTATIONS:
                break
            group.append(self.queue.popleft())
            size += len(nxt.heads)
        return [p for p in group if not p.future.done()]  # a request cancelled while queued is not applied


_committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommitter] = (
    weakref.WeakKeyDictionary()
)


def _committer(engine: Engine[Any]) -> _GroupCommitter | None:
    if not isinstance(engine, SQLiteEngine):
        return None
    loop = asyncio.get_running_loop()
    committer = _committers.get(loop)
    if committer is None:
        committer = _committers[loop] = _GroupCommitter()
    return committer


async def _run_group(group: list[_Pending]) -> None:
    ctx = group[0].ctx
    outcomes: list[PushResponse | Exception] = []
    try:
        async with ctx.transaction():
            if len(group) == 1:
                p = group[0]
                outcomes.append(await _push_in_tx(p.request, p.heads, p.source, p.ctx))
            else:
                connection = _connection(ctx.engine)
                for p in group:
                    await connection.execute("SAVEPOINT push")
                    try:
                        outcome: PushResponse | Exception = await _push_in_tx(
                            p.request, p.heads, p.source, p.ctx
                        )
                    except Exception as exc:  # this push alone is undone; the others go on
                        await connection.execute("ROLLBACK TO SAVEPOINT push")
                        outcome = exc
                    await connection.execute("RELEASE SAVEPOINT push")
                    outcomes.append(outcome)
    except Exception as exc:  # the shared transaction failed: nobody's push is committed
        outcomes = [exc] * len(group)
    except BaseException:
        for p in group:
            p.future.cancel()
        raise
    # Only now, after COMMIT, does any push get its answer.
    for p, result in zip(group, outcomes, strict=True):
        if p.future.done():
            continue
        if isinstance(result, Exception):
            p.future.set_exception(result)
        else:
            p.future.set_result(result)


def _connection(engine: Engine[Any]) -> Any:
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("no open transaction")
    return transaction.connection


async def resolve_caller(caller: CallerSource) -> Caller:
    return caller if isinstance(caller, Caller) else await caller()


async def push(body: bytes, *, caller: CallerSource, ctx: PushContext) -> PushResponse:
    """Apply one push. Raises ``ProtocolError`` (400) or :class:`PushError` (403/409/413).

    ``caller`` may be a callable: it is then resolved inside the push transaction, so the scope is read
    under the same locks as the writes (and, on SQLite, on the transaction's connection)."""
    request, heads = decode_push(body)
    if len(heads) > ctx.max_mutations:
        raise PushError(
            413,
            "too_many_mutations",
            f"a push carries at most {ctx.max_mutations} mutations (maxMutations); this one has {len(heads)}",
            limit="maxMutations",
            max=ctx.max_mutations,
        )
    committer = _committer(ctx.engine)
    if committer is None:
        async with ctx.transaction():
            return await _push_in_tx(request, heads, caller, ctx)
    future: asyncio.Future[PushResponse] = asyncio.get_running_loop().create_future()
    committer.submit(_Pending(request, heads, caller, ctx, future))
    return await future


async def _push_in_tx(
    request: PushRequest, heads: list[MutationHead], source: CallerSource, ctx: PushContext
) -> PushResponse:
    sql = Sql(ctx.engine)
    caller = await resolve_caller(source)
    last, recent = await _lock_client(sql, request.client_id, request.client_group_id, caller)
    fresh = [(raw, head) for raw, head in zip(request.mutations, heads, strict=True) if head.id > last]
    if fresh and fresh[0][1].id != last + 1:
        raise PushError(
            409,
            "mutation_gap",
            f"the next mutation of client {request.client_id} must have id {last + 1}",
            expected=last + 1,
            last_mutation_id=last,
        )
    # One result per consumed mutation id, in order: the window holds ids (last - len, last].
    first_kept = last - len(recent) + 1
    replayed = [
        _result_decoder.decode(recent[h.id - first_kept]) for h in heads if first_kept <= h.id <= last
    ]
    if not fresh:
        return PushResponse(last_mutation_id=last, results=replayed)
    batch = _Batch(sql, caller, request.client_id, ctx)
    decoded = [decode_mutation(raw, head) for raw, head in fresh]
    results = await batch.run(decoded)
    await batch.flush()
    new_last = fresh[-1][1].id
    window = [*recent, *(msgspec.Raw(_enc.encode(r)) for r in results)][-ctx.results_window :]
    await sql.execute(
        'UPDATE "sync_client" SET "last_mutation_id" = ?, "recent_results" = ?, "updated_at" = ? '
        'WHERE "client_id" = ?',
        [new_last, _dump_window(window), datetime.now(UTC), request.client_id],
    )
    await ctx.audit(batch.audit)
    return PushResponse(last_mutation_id=new_last, results=replayed + results)


async def _lock_client(
    sql: Sql, client_id: str, group_id: str, caller: Caller
) -> tuple[int, list[msgspec.Raw]]:
    await sql.execute(
        'INSERT INTO "sync_client" ("client_id", "client_group_id", "user_id", "last_mutation_id", '
        '"recent_results", "updated_at") VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT ("client_id") DO NOTHING',
        [client_id, group_id, caller.user_id, "[]", datetime.now(UTC)],
    )
    lock = " FOR UPDATE" if sql.postgres else ""
    rows = await sql.fetch(
        'SELECT "client_group_id", "user_id", "last_mutation_id", "recent_results" FROM "sync_client" '  # noqa: S608
        f'WHERE "client_id" = ?{lock}',
        [client_id],
    )
    row = rows[0]
    if _uuid(row["user_id"]) != caller.user_id:
        raise PushError(403, "client_not_yours", f"client {client_id} belongs to another user")
    if row["client_group_id"] != group_id:
        raise PushError(400, "client_group_mismatch", f"client {client_id} belongs to another client group")
    return int(row["last_mutation_id"]), _load_window(row["recent_results"])


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


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class _Batch:
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

    # ------------------------------------------------------------------------------------ load

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
            answer_key(m.args.inspection_id, m.args.item_code, m.args.field)
            for m in mutations
            if isinstance(m, SetAnswer)
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

    # ------------------------------------------------------------------------------------ apply

    def _inspection(self, m: Mutation) -> _Inspection:
        target = self._target(m)
        if target is None:
            raise _Rejected("unknown_target", "the note, photo or conflict named does not exist")
        declared = getattr(m.args, "inspection_id", None)
        if declared is not None and declared != target:
            raise _Rejected("wrong_inspection", f"that belongs to inspection {target}, not {declared}")
        if not self.caller.can_write(target):
            raise _Rejected("out_of_scope", f"inspection {target} is outside what you may change")
        inspection = self.inspections.get(target)
        if inspection is None:
            raise _Rejected("unknown_inspection", f"inspection {target} does not exist")
        refusal = policy.edit_refusal(inspection.status)
        if refusal and not isinstance(m, SubmitInspection):
            raise _Rejected(refusal, f"inspection {target} is {inspection.status}; edits are closed")
        return inspection

    def _rules(self, inspection: _Inspection) -> ItemRules:
        rules = self.rules.get(inspection.standard_id)
        if rules is None:
            raise _Rejected(
                "unknown_standard", f"standard {inspection.standard_id} is not known to this server"
            )
        return rules

    def _item(self, inspection: _Inspection, item_code: str) -> ItemRules:
        rules = self._rules(inspection)
        if not rules.has_item(item_code):
            raise _Rejected("unknown_item", f"item {item_code!r} is not in standard {inspection.standard_id}")
        return rules

    @staticmethod
    def _bump(inspection: _Inspection) -> int:
        inspection.version += 1
        inspection.dirty = True
        return inspection.version

    def _write(self, m: Mutation, value: Any, base_version: int) -> Write:
        return Write(
            value=value,
            base_version=base_version,
            user_id=self.caller.user_id,
            client_id=self.client_id,
            hlc=m.hlc,
            mutation_id=m.id,
        )

    def _log(self, m: Mutation, entity: str, details: dict[str, Any]) -> None:
        self.audit.append(
            AuditEntry(
                user_id=str(self.caller.user_id),
                client_id=self.client_id,
                action=f"sync.{type(m).__struct_config__.tag}",
                entity=entity,
                details=details,
                hlc=m.hlc or None,
                mutation_id=m.id,
            )
        )

    def _audit_rejected(self, result: MutationResult, hlc: str, name: Any) -> None:
        self.audit.append(
            AuditEntry(
                user_id=str(self.caller.user_id),
                client_id=self.client_id,
                action="sync.rejected",
                entity=f"mutation/{self.client_id}/{result.id}",
                details={"name": name, "reason": result.reason},
                hlc=hlc or None,
                mutation_id=result.id,
            )
        )

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

    def _set_answer(self, m: SetAnswer) -> MutationResult:
        a = m.args
        inspection = self._inspection(m)
        rules = self._item(inspection, a.item_code)
        violation = rules.check_value(a.item_code, a.field, a.value)
        if violation is not None:
            raise _Rejected(violation.reason, violation.detail)
        key = answer_key(inspection.id, a.item_code, a.field)
        if key not in self.registers:
            self.registers[key] = _RegisterRow(key, inspection.id, a.item_code, a.field, state=_EMPTY)
        return self._write_register(m, inspection, key, self._write(m, a.value, a.base_version))

    def _write_register(self, m: Mutation, inspection: _Inspection, key: str, write: Write) -> MutationResult:
        row = self.registers[key]
        current = None if row.state is _EMPTY else row.state
        outcome = policy.decide(current, write)
        details = {
            "field": row.field,
            "item": row.item_code,
            "value": write.value,
            "base": write.base_version,
        }
        if outcome is Outcome.APPLY:
            version = self._bump(inspection)
            row.state = policy.applied(current, write, version)
            self._register_changed(row)
            self._log(m, key, details)
            return MutationResult(id=m.id, status="applied", version=version)
        assert current is not None
        if outcome is Outcome.SAME:
            conflict = self.conflicts.get(current.conflict_id) if current.conflict_id else None
            version = current.version
            if conflict is not None and any(
                c.client_id == write.client_id and not policy.same_value(c.value, write.value)
                for c in conflict.candidates
            ):
                # This device now agrees with the provisional value: its candidate follows.
                version = self._bump(inspection)
                conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
                conflict.version = version
                self.dirty_conflicts.add(conflict.id)
            self._log(m, key, details | {"merged": "same value"})
            return MutationResult(id=m.id, status="applied", version=version)
        version = self._bump(inspection)
        if outcome is Outcome.CONFLICT_NEW:
            conflict = ConflictState(
                id=uuid.uuid4(),
                inspection_id=inspection.id,
                register_key=key,
                item_code=row.item_code,
                field=row.field,
                base_version=write.base_version,
                candidates=[Candidate.of_register(current), Candidate.of_write(write)],
                status="open",
                version=version,
            )
            self.conflicts[conflict.id] = conflict
            current.conflict_id = conflict.id
            current.version = version
        else:
            assert current.conflict_id is not None
            conflict = self.conflicts[current.conflict_id]
            conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
            conflict.version = version
            if current.client_id == write.client_id:
                # The provisional value is this device's own: its sequential edit moves it.
                row.state = policy.applied(current, write, version)
            else:
                current.version = version
        self.dirty_conflicts.add(conflict.id)
        self._register_changed(row)
        self._log(m, key, details | {"conflict": str(conflict.id)})
        return MutationResult(id=m.id, status="conflict", conflict_id=conflict.id, version=version)

    def _register_changed(self, row: _RegisterRow) -> None:
        self.dirty_registers.add(row.key)
        if row.field == "caption":
            photo = self.photos[UUID(row.key.removeprefix("caption/"))]
            photo.caption = str(row.state.value or "")
            photo.caption_version = row.state.version
            photo.version = row.state.version
            self.dirty_photos.add(photo.id)

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

    def _set_caption(self, m: SetPhotoCaption) -> MutationResult:
        inspection = self._inspection(m)
        photo = self.photos.get(m.args.photo_id)
        if photo is None:
            raise _Rejected("unknown_photo", f"photo {m.args.photo_id} does not exist")
        _check_text(m.args.caption)
        key = caption_key(photo.id)
        if key not in self.registers:
            self.registers[key] = _RegisterRow(key, inspection.id, photo.item_code, "caption", state=_EMPTY)
        return self._write_register(m, inspection, key, self._write(m, m.args.caption, m.args.base_version))

    def _resolve(self, m: ResolveConflict) -> MutationResult:
        inspection = self._inspection(m)
        conflict = self.conflicts.get(m.args.conflict_id)
        if conflict is None:
            raise _Rejected("unknown_conflict", f"conflict {m.args.conflict_id} does not exist")
        row = self.registers[conflict.register_key]
        if row.field == "caption":
            if not isinstance(m.args.value, str):
                raise _Rejected("invalid_value", "a caption is text")
            _check_text(m.args.value)
        else:
            violation = self._item(inspection, row.item_code).check_value(
                row.item_code, row.field, m.args.value
            )
            if violation is not None:
                raise _Rejected(violation.reason, violation.detail)
        write = self._write(m, m.args.value, m.args.base_version)
        if conflict.status != "open":
            # Already resolved: this is a plain write on the register, judged by the same policy.
            return self._write_register(m, inspection, row.key, write)
        version = self._bump(inspection)
        details = {"conflict": str(conflict.id), "value": write.value, "base": write.base_version}
        if policy.conflict_is_stale(conflict, write.base_version):
            # The conflict changed after the resolver saw it: their choice joins it, never overwrites.
            conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
            conflict.version = version
            self.dirty_conflicts.add(conflict.id)
            row.state.version = version
            self._register_changed(row)
            self._log(m, row.key, details | {"stale": True})
            return MutationResult(id=m.id, status="conflict", conflict_id=conflict.id, version=version)
        row.state = policy.resolved(write, version)
        conflict.status, conflict.resolution, conflict.resolved_by, conflict.version = (
            "resolved",
            write.value,
            self.caller.user_id,
            version,
        )
        self.dirty_conflicts.add(conflict.id)
        self._register_changed(row)
        self._log(m, row.key, details)
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

    # ------------------------------------------------------------------------------------ write

    async def flush(self) -> None:
        sql = self.sql
        await sql.executemany(
            'INSERT INTO "answer_register" ("key", "inspection_id", "item_code", "field", "value", "version", '
            '"run_start", "user_id", "client_id", "hlc", "mutation_id", "conflict_id") '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            'ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "version" = excluded."version", '
            '"run_start" = excluded."run_start", "user_id" = excluded."user_id", '
            '"client_id" = excluded."client_id", "hlc" = excluded."hlc", "mutation_id" = excluded."mutation_id", '
            '"conflict_id" = excluded."conflict_id"',
            [
                (
                    r.key,
                    r.inspection_id,
                    r.item_code,
                    r.field,
                    _json(r.state.value),
                    r.state.version,
                    r.state.run_start,
                    r.state.user_id,
                    r.state.client_id,
                    r.state.hlc,
                    r.state.mutation_id,
                    r.state.conflict_id,
                )
                for r in (self.registers[k] for k in sorted(self.dirty_registers))
            ],
        )
        now = datetime.now(UTC)
        await sql.executemany(
            'INSERT INTO "sync_conflict" ("id", "inspection_id", "register_key", "item_code", "field", '
            '"base_version", "candidates", "status", "resolution", "resolved_by", "version", "created_at") '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            'ON CONFLICT ("id") DO UPDATE SET "candidates" = excluded."candidates", "status" = excluded."status", '
            '"resolution" = excluded."resolution", "resolved_by" = excluded."resolved_by", '
            '"version" = excluded."version"',
            [
                (
                    c.id,
                    c.inspection_id,
                    c.register_key,
                    c.item_code,
                    c.field,
                    c.base_version,
                    _json([x.to_wire() for x in c.candidates]),
                    c.status,
                    None if c.status == "open" else _json(c.resolution),
                    c.resolved_by,
                    c.version,
                    now,
                )
                for c in (self.conflicts[i] for i in sorted(self.dirty_conflicts))
            ],
        )
        await sql.executemany(
            'INSERT INTO "note_entry" ("id", "inspection_id", "item_code", "author_id", "text", "version", '
            '"client_id", "hlc", "mutation_id", "created_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) '
            'ON CONFLICT ("id") DO UPDATE SET "text" = excluded."text", "version" = excluded."version", '
            '"client_id" = excluded."client_id", "hlc" = excluded."hlc", "mutation_id" = excluded."mutation_id"',
            [
                (
                    n.id,
                    n.inspection_id,
                    n.item_code,
                    n.author_id,
                    n.text,
                    n.version,
                    n.client_id,
                    n.hlc,
                    n.mutation_id,
                    now,
                )
                for n in (self.notes[i] for i in sorted(self.dirty_notes))
            ],
        )
        await sql.executemany(
            'INSERT INTO "photo" ("id", "inspection_id", "item_code", "requirement_id", "sha256", "size", "mime", '
            '"taken_at", "caption", "caption_version", "deleted", "version", "add_version", "created_by", '
            '"client_id", "created_at", "reused_elsewhere") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) '
            'ON CONFLICT ("id") DO UPDATE SET "caption" = excluded."caption", '
            '"caption_version" = excluded."caption_version", "deleted" = excluded."deleted", '
            '"version" = excluded."version", "add_version" = excluded."add_version"',
            [
                (
                    p.id,
                    p.inspection_id,
                    p.item_code,
                    p.requirement_id,
                    p.sha256,
                    p.size,
                    p.mime,
                    p.taken_at,
                    p.caption,
                    p.caption_version,
                    p.deleted,
                    p.version,
                    p.add_version,
                    p.created_by,
                    p.client_id,
                    now,
                    False,
                )
                for p in (self.photos[i] for i in sorted(self.dirty_photos))
            ],
        )
        dirty = [i for i in self.inspections.values() if i.dirty]
        await sql.executemany(
            'UPDATE "inspection" SET "version" = ? WHERE "id" = ?', [(i.version, i.id) for i in dirty]
        )
        for inspection in dirty:
            if inspection.submitted_at is not None:
                await sql.execute(
                    'UPDATE "inspection" SET "status" = ?, "submitted_at" = ? WHERE "id" = ?',
                    [inspection.status, inspection.submitted_at, inspection.id],
                )
            inspection.dirty = False
        self.dirty_registers.clear()
        self.dirty_conflicts.clear()
        self.dirty_notes.clear()
        self.dirty_photos.clear()


# A register that does not exist yet (distinct object, compared by identity).
_EMPTY = Register(value=None, version=0, run_start=0, user_id=None, client_id="", hlc="", mutation_id=0)


def _check_text(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise _Rejected("too_long", f"text is limited to {MAX_TEXT} characters")
