"""The rows of the synced tables as pull's patch operations (DESIGN §6), read a version range at a time.

Answers, notes and photos, nearly all of a first pull, come *encoded*: the database builds each row's value
as JSON (SQLite ``json_object``, PostgreSQL ``json_build_object``) and hands the whole range over as one JSON
array, which is cut into rows by msgspec without decoding the values (``msgspec.Raw``) and sent as it is
(:class:`~sync.protocol.EncodedPutOp`): no row dict, no value dict, no second encoding. Improvement items
and conflicts (few, and a conflict's record is also listed and named) come as a JSON object per row and are
built here; all kinds of an inspection in one statement. With ``encoded`` off every kind is read as columns
and built here, a statement per kind: the reference the encoded answers are held to (the same bytes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from sync.flags import visible_flags
from sync.protocol import DelOp, EncodedPutOp, PatchOp, PutOp
from sync.sql import Sql


def text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def iso(value: Any) -> str:
    # PostgreSQL gives a datetime, SQLite the stored text
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _text(*columns: str) -> str:
    """UUID columns read as text: the pull sends them as strings, so the drivers need not build UUID objects
    (SQLite's declared-type converters, asyncpg's codec) only for them to be turned back into text."""
    return ", ".join(f'CAST("{c}" AS TEXT) AS "{c}"' for c in columns)


# Per kind: its UUID columns (read as text), its other columns, and its rows of one inspection (``?``), to
# which a version range (and order, limit) is appended.
_KINDS: dict[str, tuple[str, str, str]] = {
    "answer": (
        "inspection_id user_id conflict_id",
        "item_code field value version client_id hlc",
        'FROM "answer_register" WHERE "inspection_id" = ? AND "field" <> \'caption\' '
        # improvement fields are registers too; their item row carries them (kind "improvement")
        "AND \"key\" NOT LIKE 'improvement/%' ",
    ),
    "note": (
        "id inspection_id author_id",
        "item_code text version hlc deleted",
        'FROM "note_entry" WHERE "inspection_id" = ? ',
    ),
    "photo": (
        "id inspection_id created_by",
        "item_code requirement_id sha256 size mime taken_at caption caption_version deleted version flags",
        'FROM "photo" WHERE "inspection_id" = ? ',
    ),
    "improvement": (
        "id inspection_id facility_id round_id created_by",
        "item_code requirement_id gap kind owner due_date status photo_ids grade_before done_version "
        "field_versions version created_at status_changed_at",
        'FROM "improvement_item" WHERE "inspection_id" = ? ',
    ),
    "conflict": (
        "id inspection_id resolved_by",
        "register_key item_code field base_version candidates status resolution version",
        'FROM "sync_conflict" WHERE "inspection_id" = ? ',
    ),
}


def _columns(kind: str) -> tuple[list[str], list[str]]:
    """A kind's UUID columns and its others."""
    uuids, others, _ = _KINDS[kind]
    return uuids.split(), others.split()


def _row_query(kind: str) -> str:
    uuids, others = _columns(kind)
    return f"SELECT {_text(*uuids)}, {', '.join(map(_quoted, others))} {_KINDS[kind][2]}"


def _quoted(column: str) -> str:
    return f'"{column}"'


ROW_QUERIES = {kind: _row_query(kind) for kind in _KINDS}
# timestamps, which a row read as JSON gives as text (the drivers give datetimes)
_TIMESTAMPS = {"improvement": ("created_at", "status_changed_at")}
IN_RANGE = 'AND "version" > ? AND "version" <= ? ORDER BY "version"'


class EncodedRow(msgspec.Struct, array_like=True):
    """A row as the encoded queries give it: ``[version, deleted, flags, op]``, ``op`` the whole ``put`` as
    JSON (msgspec makes the struct, the value left encoded); ``flags``: the photo's stored flags when it has
    any (its value then holds ``[]`` in their place: what a reader sees of them depends on the reader)."""

    version: int
    deleted: int
    flags: str | None
    op: EncodedPutOp


_encoded_rows = msgspec.json.Decoder(list[EncodedRow] | None)


# Per encoded kind: the key, whether removed, and the value's fields (JSON name, column of the row query ``r``;
# ``value`` holds JSON text, ``'[]'`` is JSON itself), in the order pull has always sent them (DESIGN §6).
_ENCODED: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "answer": (
        "'answer/' || r.\"inspection_id\" || '/' || r.\"item_code\" || '/' || r.\"field\"",
        "0",
        [
            ("inspectionId", "inspection_id"),
            ("itemCode", "item_code"),
            ("field", "field"),
            ("value", "value"),
            ("version", "version"),
            ("userId", "user_id"),
            ("clientId", "client_id"),
            ("hlc", "hlc"),
            ("conflictId", "conflict_id"),
        ],
    ),
    "note": (
        "'note/' || r.\"id\"",
        'CAST(r."deleted" AS INTEGER)',
        [
            ("id", "id"),
            ("inspectionId", "inspection_id"),
            ("itemCode", "item_code"),
            ("authorId", "author_id"),
            ("text", "text"),
            ("version", "version"),
            ("hlc", "hlc"),
        ],
    ),
    "photo": (
        "'photo/' || r.\"id\"",
        'CAST(r."deleted" AS INTEGER)',
        [
            ("id", "id"),
            ("inspectionId", "inspection_id"),
            ("itemCode", "item_code"),
            ("requirementId", "requirement_id"),
            ("sha256", "sha256"),
            ("size", "size"),
            ("mime", "mime"),
            ("takenAt", "taken_at"),
            ("caption", "caption"),
            ("captionVersion", "caption_version"),
            ("version", "version"),
            ("createdBy", "created_by"),
            ("flags", "'[]'"),
        ],
    ),
}
ENCODED_KINDS = frozenset(_ENCODED)


def _field(column: str, js: str) -> str:
    if column == "value":  # an answer's value: JSON text, sent as JSON
        return js.format('r."value"')
    if column.startswith("'"):  # JSON written here
        return js.format(column)
    return f'r."{column}"'


def _encoded_sql(kind: str, *, postgres: bool, limit: bool) -> str:
    """One statement: the rows of ``kind`` of one inspection in a version range, oldest first (at most a
    limit of them), as one JSON array of :class:`EncodedRow` (NULL for none)."""
    key, deleted, fields = _ENCODED[kind]
    obj, arr, agg, js = (
        ("json_build_object", "json_build_array", "json_agg", "CAST({} AS json)")
        if postgres
        else ("json_object", "json_array", "json_group_array", "json({})")
    )
    values = ", ".join(f"'{name}', {_field(column, js)}" for name, column in fields)
    flags = 'CASE WHEN r."flags" = \'[]\' THEN NULL ELSE r."flags" END' if kind == "photo" else "NULL"
    inner = ROW_QUERIES[kind] + IN_RANGE + (" LIMIT ?" if limit else "")
    # the aggregate reads the subquery's rows in its order (PostgreSQL and SQLite do): the order of the
    # column path's ORDER BY "version"
    op = f"{obj}('op', 'put', 'key', {key}, 'value', {obj}({values}))"
    return f'SELECT {agg}({arr}(r."version", {deleted}, {flags}, {op})) AS "rows" FROM ({inner}) r'  # noqa: S608


def exists_sql(kind: str) -> str:
    """Whether ``kind`` has rows of one inspection in a version range (``?``: the inspection, since, upto)."""
    query = ROW_QUERIES[kind]
    return f'EXISTS(SELECT 1 {query[query.index(" FROM ") + 1 :]}AND "version" > ? AND "version" <= ?)'  # noqa: S608


def encoded_answers_sql(postgres: bool) -> str:
    """The encoded answers statement (with a limit), for a caller that embeds it (``?`` placeholders)."""
    return _encoded_sql("answer", postgres=postgres, limit=True)


def _rows_sql(kind: str, *, postgres: bool, limit: bool) -> str:
    """A kind that is not encoded: its rows in a version range as one JSON array of objects, a key per column
    (NULL for none)."""
    uuids, columns = _columns(kind)
    inner = ROW_QUERIES[kind] + IN_RANGE + (" LIMIT ?" if limit else "")
    if postgres:
        return f"SELECT json_agg(r) FROM ({inner}) r"  # noqa: S608
    fields = ", ".join(f"'{c}', r.\"{c}\"" for c in (*uuids, *columns))
    return f"SELECT json_group_array(json_object({fields})) FROM ({inner}) r"  # noqa: S608


@functools.lru_cache(maxsize=64)
def _together_sql(kinds: tuple[str, ...], postgres: bool, limit: bool) -> str:
    """One statement, a column per kind of ``kinds``: its rows in a version range as one JSON array, encoded or
    a JSON object per row: one round trip for all an inspection's rows, not one per table."""
    return "SELECT " + ", ".join(
        f'({(_encoded_sql if kind in _ENCODED else _rows_sql)(kind, postgres=postgres, limit=limit)}) AS "{kind}"'
        for kind in kinds
    )


_json_rows = msgspec.json.Decoder(list[dict[str, Any]] | None)


def _decode_rows(kind: str, value: str | None, *, postgres: bool) -> list[dict[str, Any]]:
    """The rows of a kind read as JSON objects, as the drivers would give its columns: a timestamp as a datetime
    in UTC (asyncpg's; piccolo's SQLite converter takes the stored text as UTC)."""
    rows = (_json_rows.decode(value) if value is not None else None) or []
    for name in _TIMESTAMPS.get(kind, ()):
        for r in rows:
            if r[name] is not None:
                stamp = datetime.fromisoformat(r[name])
                r[name] = stamp.astimezone(UTC) if postgres else stamp.replace(tzinfo=UTC)
    return rows


def decode_encoded(value: str | bytes | None, *, postgres: bool) -> list[EncodedRow]:
    """The rows of an encoded statement's one column (PostgreSQL's JSON has blanks between items: taken
    out once, so the values are the bytes SQLite and msgspec write)."""
    if value is None:
        return []
    return _encoded_rows.decode(msgspec.json.format(value, indent=-1) if postgres else value) or []


Row = dict[str, Any] | EncodedRow


async def fetch_rows(
    sql: Sql,
    kinds: list[str],
    inspection_id: UUID,
    since: int,
    upto: int,
    limit: int | None,
    *,
    encoded: bool,
) -> dict[str, list[Row]]:
    """The rows of each of ``kinds`` of one inspection changed in (since, upto], oldest first, at most ``limit``
    of each, by kind in the order of ``kinds``: encoded in one statement, else a statement per kind."""
    args: list[Any] = [inspection_id, since, upto] if limit is None else [inspection_id, since, upto, limit]
    if not encoded:
        query = IN_RANGE + ("" if limit is None else " LIMIT ?")
        return {kind: list(await sql.fetch(ROW_QUERIES[kind] + query, args)) for kind in kinds}
    [row] = await sql.fetch(_together_sql(tuple(kinds), sql.postgres, limit is not None), args * len(kinds))
    return {
        kind: list(decode_encoded(row[kind], postgres=sql.postgres))
        if kind in ENCODED_KINDS
        else list(_decode_rows(kind, row[kind], postgres=sql.postgres))
        for kind in kinds
    }


def version_of(row: Row) -> int:
    return row.version if isinstance(row, EncodedRow) else int(row["version"])


def row_op(
    kind: str, r: Row, *, full: bool, can_read: Callable[[UUID], bool]
) -> tuple[PatchOp, dict[str, Any] | None] | None:
    """The patch operation of a row (``None``: nothing to send, a removed row in a full snapshot), with the
    conflict's record when it is one (listed in the answer's ``conflicts`` too)."""
    if isinstance(r, EncodedRow):
        if r.deleted:
            return None if full else (DelOp(r.op.key), None)
        if r.flags is not None:  # what this reader may see of them
            value = msgspec.json.decode(r.op.value)
            value["flags"] = visible_flags(r.flags, can_read)
            return PutOp(r.op.key, value), None
        return r.op, None
    if kind == "answer":
        key = f"answer/{r['inspection_id']}/{r['item_code']}/{r['field']}"
        value = {
            "inspectionId": str(r["inspection_id"]),
            "itemCode": r["item_code"],
            "field": r["field"],
            "value": msgspec.json.decode(r["value"]),
            "version": int(r["version"]),
            "userId": text_or_none(r["user_id"]),
            "clientId": r["client_id"],
            "hlc": r["hlc"],
            "conflictId": text_or_none(r["conflict_id"]),
        }
        return PutOp(key, value), None
    if kind == "note":
        if r["deleted"]:
            return None if full else (DelOp(f"note/{r['id']}"), None)
        return PutOp(
            f"note/{r['id']}",
            {
                "id": str(r["id"]),
                "inspectionId": str(r["inspection_id"]),
                "itemCode": r["item_code"],
                "authorId": str(r["author_id"]),
                "text": r["text"],
                "version": int(r["version"]),
                "hlc": r["hlc"],
            },
        ), None
    if kind == "photo":
        if r["deleted"]:
            return None if full else (DelOp(f"photo/{r['id']}"), None)
        return PutOp(
            f"photo/{r['id']}",
            {
                "id": str(r["id"]),
                "inspectionId": str(r["inspection_id"]),
                "itemCode": r["item_code"],
                "requirementId": r["requirement_id"],
                "sha256": r["sha256"],
                "size": int(r["size"]),
                "mime": r["mime"],
                "takenAt": r["taken_at"],
                "caption": r["caption"],
                "captionVersion": int(r["caption_version"]),
                "version": int(r["version"]),
                "createdBy": text_or_none(r["created_by"]),
                "flags": visible_flags(r["flags"], can_read),
            },
        ), None
    if kind == "improvement":
        return PutOp(f"improvement/{r['id']}", improvement_value(r)), None
    record = conflict_record(r)
    return PutOp(f"conflict/{r['id']}", record), record


def improvement_value(r: dict[str, Any]) -> dict[str, Any]:
    """An improvement plan item as pull sends it (docs/improvement.md)."""
    return {
        "id": str(r["id"]),
        "inspectionId": str(r["inspection_id"]),
        "facilityId": str(r["facility_id"]),
        "roundId": str(r["round_id"]),
        "itemCode": r["item_code"],
        "requirementId": r["requirement_id"],
        "gap": r["gap"],
        "kind": r["kind"],
        "owner": r["owner"],
        "dueDate": r["due_date"],
        "status": r["status"],
        "photoIds": msgspec.json.decode(r["photo_ids"]),
        "gradeBefore": msgspec.json.decode(r["grade_before"]),
        "doneVersion": int(r["done_version"]),
        "fieldVersions": msgspec.json.decode(r["field_versions"]),
        "version": int(r["version"]),
        "createdBy": text_or_none(r["created_by"]),
        "createdAt": iso(r["created_at"]),
        "statusChangedAt": None if r["status_changed_at"] is None else iso(r["status_changed_at"]),
    }


def conflict_record(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "inspectionId": str(r["inspection_id"]),
        "registerKey": r["register_key"],
        "itemCode": r["item_code"],
        "field": r["field"],
        "baseVersion": int(r["base_version"]),
        "candidates": msgspec.json.decode(r["candidates"]),
        "status": r["status"],
        "resolution": None if r["resolution"] is None else msgspec.json.decode(r["resolution"]),
        "resolvedBy": text_or_none(r["resolved_by"]),
        "version": int(r["version"]),
    }
