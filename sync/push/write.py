"""Writing a push batch back: the changed registers, conflicts, notes, photos and inspection versions,
one ``executemany`` upsert per table, in this order (referenced rows first)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from sync import lifecycle
from sync.push.batch import ROW_KINDS, PushBatch, RegisterRow
from sync.sql import Sql, Statement, rows_json, select_json_rows

_enc = msgspec.json.Encoder()


def _json(value: Any) -> str:
    return _enc.encode(value).decode()


async def write(
    batch: PushBatch, then: Sequence[Statement] = (), last: Statement | None = None
) -> dict[str, Any] | None:
    """Write a push batch's changed rows back and mark them clean (a batch may be written more than once:
    submit writes what came before it, so its counts include this push). ``then``, statements of the caller's
    on other tables (the client row), run last: on PostgreSQL in one statement with the registers and the
    inspection versions, which a push of answers changes and nothing else (one round trip, not four).
    ``last``: PostgreSQL, one more statement of the caller's on another table (the host's ``with_writes``) as
    the last part of that statement; its row is answered (else ``None``)."""
    sql = batch.sql
    now = datetime.now(UTC)
    if not sql.postgres:
        await _registers(sql, batch)
    await _conflicts(sql, batch, now)
    await _notes(sql, batch, now)
    await _photos(sql, batch, now)
    await _improvements(sql, batch, now)
    found = None
    if sql.postgres:
        found = await _registers_and_versions(sql, batch, then, last)
    else:
        if last is not None:
            raise RuntimeError("a last statement with the writes is PostgreSQL's")
        await _inspections(sql, batch)
        for statement in then:
            await sql.execute(*statement)
    batch.dirty_registers.clear()
    for kind in ROW_KINDS:
        getattr(batch, kind.dirty).clear()
    return found


_REGISTER_COLUMNS = (
    '"key", "inspection_id", "item_code", "field", "value", "version", "run_start", "user_id", "client_id", '
    '"hlc", "mutation_id", "conflict_id"'
)
_REGISTER_UPSERT = (
    'ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "version" = excluded."version", '
    '"run_start" = excluded."run_start", "user_id" = excluded."user_id", '
    '"client_id" = excluded."client_id", "hlc" = excluded."hlc", "mutation_id" = excluded."mutation_id", '
    '"conflict_id" = excluded."conflict_id"'
)
# PostgreSQL: the rows as one JSON parameter (one statement text whatever the row count, so one prepared
# statement)
_REGISTER_SELECT = select_json_rows(
    [
        "varchar",
        "uuid",
        "varchar",
        "varchar",
        "text",
        "integer",
        "integer",
        "uuid",
        "varchar",
        "varchar",
        "bigint",
        "uuid",
    ]
)


def _register_rows(batch: PushBatch) -> list[tuple[Any, ...]]:
    return [_register_row(batch.registers[k]) for k in sorted(batch.dirty_registers)]


def _register_row(r: RegisterRow) -> tuple[Any, ...]:
    return (
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


async def _registers(sql: Sql, batch: PushBatch) -> None:
    await sql.executemany(
        f'INSERT INTO "answer_register" ({_REGISTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) '  # noqa: S608
        + _REGISTER_UPSERT,
        _register_rows(batch),
    )


async def _registers_and_versions(
    sql: Sql, batch: PushBatch, then: Sequence[Statement], last: Statement | None
) -> dict[str, Any] | None:
    """PostgreSQL: the registers, the inspections' versions, ``then`` and ``last`` in one statement (answering
    ``last``'s row); a submit's status on its own (rare)."""
    statements: list[Statement] = []
    rows = _register_rows(batch)
    if rows:
        statements.append(
            (
                f'INSERT INTO "answer_register" ({_REGISTER_COLUMNS}) {_REGISTER_SELECT} ' + _REGISTER_UPSERT,
                [rows_json(rows)],
            )
        )
    dirty = [i for i in batch.inspections.values() if i.dirty]
    if dirty:
        statements.append(lifecycle.versions_statement([(i.version, i.id) for i in dirty]))
    statements.extend(then)
    found = None
    if last is None:
        await sql.execute_together(statements)
    else:
        [found] = await sql.fetch_together([*statements, last])
    for inspection in dirty:
        if inspection.submitted_at is not None:
            await lifecycle.write_submitted(sql, inspection.id, inspection.submitted_at)
        inspection.dirty = False
    return found


async def _conflicts(sql: Sql, batch: PushBatch, now: datetime) -> None:
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
            for c in (batch.conflicts[i] for i in sorted(batch.dirty_conflicts))
        ],
    )


async def _notes(sql: Sql, batch: PushBatch, now: datetime) -> None:
    await sql.executemany(
        'INSERT INTO "note_entry" ("id", "inspection_id", "item_code", "author_id", "text", "version", '
        '"client_id", "hlc", "mutation_id", "created_at", "deleted") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) '
        'ON CONFLICT ("id") DO UPDATE SET "text" = excluded."text", "version" = excluded."version", '
        '"client_id" = excluded."client_id", "hlc" = excluded."hlc", "mutation_id" = excluded."mutation_id", '
        '"deleted" = excluded."deleted"',
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
                n.deleted,
            )
            for n in (batch.notes[i] for i in sorted(batch.dirty_notes))
        ],
    )


async def _photos(sql: Sql, batch: PushBatch, now: datetime) -> None:
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
            for p in (batch.photos[i] for i in sorted(batch.dirty_photos))
        ],
    )


async def _improvements(sql: Sql, batch: PushBatch, now: datetime) -> None:
    await sql.executemany(
        'INSERT INTO "improvement_item" ("id", "inspection_id", "facility_id", "round_id", "item_code", '
        '"requirement_id", "gap", "kind", "owner", "due_date", "status", "photo_ids", "grade_before", '
        '"done_version", "field_versions", "version", "created_by", "client_id", "created_at", '
        '"status_changed_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) '
        'ON CONFLICT ("id") DO UPDATE SET "gap" = excluded."gap", "kind" = excluded."kind", '
        '"owner" = excluded."owner", "due_date" = excluded."due_date", "status" = excluded."status", '
        '"photo_ids" = excluded."photo_ids", "done_version" = excluded."done_version", '
        '"field_versions" = excluded."field_versions", "version" = excluded."version", '
        '"status_changed_at" = excluded."status_changed_at"',
        [
            (
                i.id,
                i.inspection_id,
                i.facility_id,
                i.round_id,
                i.item_code,
                i.requirement_id,
                i.gap,
                i.kind,
                i.owner,
                i.due_date,
                i.status,
                _json(i.photo_ids),
                _json(i.grade_before),
                i.done_version,
                _json(i.field_versions),
                i.version,
                i.created_by,
                i.client_id,
                now,
                i.status_changed_at,
            )
            for i in (batch.improvements[k] for k in sorted(batch.dirty_improvements))
        ],
    )


async def _inspections(sql: Sql, batch: PushBatch) -> None:
    dirty = [i for i in batch.inspections.values() if i.dirty]
    await lifecycle.write_versions(sql, [(i.version, i.id) for i in dirty])
    for inspection in dirty:
        if inspection.submitted_at is not None:
            await lifecycle.write_submitted(sql, inspection.id, inspection.submitted_at)
        inspection.dirty = False
