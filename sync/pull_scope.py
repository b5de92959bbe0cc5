"""Pull's first reads (DESIGN §6): the caller, the inspections it may see and the last mutation ids of its client
group, read before any row so that every later read is bounded by the inspections' versions read here.

SQLite reads them one statement after another in the read transaction's one snapshot. PostgreSQL reads them in
one statement (one round trip, one snapshot under READ COMMITTED), with the caller's scope in it when the host
hands a :class:`~sync.context.ScopeQuery`, per inspection the probe of which kinds of rows changed since the
cookie, and the answers of the first inspection the probe found answers in (a grading cycle's pull is that one
statement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from sync.context import Caller, CallerCheck, CallerSource, ScopeQuery, resolve_caller
from sync.pull_rows import ROW_QUERIES, Row, decode_encoded, encoded_answers_sql
from sync.sql import Sql, is_uuid


def _probe_json() -> str:
    """PostgreSQL: the probe as a column of the first statement's inspections (``i``), for the version range of
    the cookie's row ``k`` up to the version read in that very statement (NULL when nothing is new)."""
    tests = []
    for kind, query in ROW_QUERIES.items():
        where = query[query.index(" FROM ") + 1 :].replace('"inspection_id" = ?', '"inspection_id" = i."id"')
        in_range = 'AND "version" > k."since" AND "version" <= i."version"'
        tests.append(f"'{kind}', EXISTS(SELECT 1 {where}{in_range})")
    return f'CASE WHEN k."since" < i."version" THEN json_build_object({", ".join(tests)}) END'


_PROBE_JSON = _probe_json()
# the cookie's (inspection, version) pairs that SQL can hold: others match no inspection or get no probe
_INT32 = 2**31


_INSPECTION_COLUMNS = '"id", "version", "status", "stage", "facility", "standard_version_id", "round"'
_CLIENTS = (
    'SELECT "client_id", "last_mutation_id" FROM "sync_client" WHERE "client_group_id" = ? AND "user_id" = ?'
)


@dataclass(frozen=True, slots=True)
class FirstReads:
    caller: Caller
    # the inspections the caller may read, by id (text); on PostgreSQL each with its "probe": which kinds of rows
    # changed since the cookie's version (None: not asked)
    inspections: dict[str, dict[str, Any]]
    clients: list[dict[str, Any]]  # the client group's clients of the caller: client_id, last_mutation_id
    # PostgreSQL: the answers changed since the cookie of the first inspection the probe found answers in
    # (``answers_of``, by id), as its own query would read them with the whole page as its budget
    # (``sync.pull_page.changes`` takes its budget's)
    answers: list[Row] = field(default_factory=list)
    answers_of: str | None = None


def _agg(select: str) -> str:
    """A query's rows as one JSON array (NULL for none), a column of a statement that reads several things."""
    return f"(SELECT json_agg(r) FROM ({select}) r)"  # noqa: S608  (constant SQL of this module)


def _rows(value: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [] if value is None else msgspec.json.decode(value)
    return rows


async def first_reads(
    sql: Sql,
    source: CallerSource,
    group_id: str,
    known: dict[str, tuple[int, str]],
    page_size: int,
    *,
    encoded: bool,
    check: CallerCheck | None = None,
) -> FirstReads:
    """The caller, the inspections it may read and the last mutation ids of its client group.

    PostgreSQL: one statement (one round trip, not four), with the caller's scope in it when the host hands a
    :class:`ScopeQuery`, and per inspection the probe of which kinds of rows changed since the cookie's version
    (``known``), and the answers of the first inspection it found answers in (a grading cycle: the pull's only
    rows). Safe under READ COMMITTED because one statement is one snapshot: the scope, the inspections'
    versions, the probe and the answers (bounded by those versions, as their own statements were) and the client
    ids are read together, and every later read of rows is bounded by those versions (``version <= current``),
    as it was when each was its own statement. The client ids now
    come from the versions' snapshot rather than after the rows: a push committed in between is in neither
    (before, its mutation id could come without its rows). SQLite: one statement after another in the read
    transaction's one snapshot, the host's ``check`` first."""
    if not sql.postgres:
        if check is not None:
            [checked] = await sql.fetch(f"SELECT {check.column}", check.args)
            check.settle(checked["check"])
        caller = await resolve_caller(source, sql.fetch)
        inspections = await _readable_inspections(sql, caller)
        clients = await sql.fetch(_CLIENTS, [group_id, caller.user_id])
        return FirstReads(caller, inspections, clients)
    # an id as the server writes it (another spelling is no inspection of the caller's: a reset) in range
    pairs = [
        (i, v) for i, (v, _) in known.items() if is_uuid(i) and str(UUID(i)) == i and -_INT32 <= v < _INT32
    ]
    cookie = [[UUID(i) for i, _ in pairs], [v for _, v in pairs]]
    withs, scope = "", "NULL"
    scope_args: list[Any] = []
    where_args: list[Any] = []
    if isinstance(source, ScopeQuery):
        user_id, where = source.user_id, ' WHERE i."id" IN (SELECT "id" FROM "scope")'
        withs, scope = f'"scope" AS ({source.sql}), ', '(SELECT json_agg(s) FROM "scope" s)'
        scope_args = source.args
    else:
        resolved = await resolve_caller(source, sql.fetch)
        user_id = resolved.user_id
        if resolved.readable is None:
            where = ""
        elif resolved.readable:
            cond, where_args = sql.in_list('i."id"', sorted(resolved.readable))
            where = f" WHERE {cond}"
        else:
            where = " WHERE FALSE"
    answers = _PRE_ENCODED if encoded else _agg(_PRE_ANSWERS)
    check_column, check_args = ("", []) if check is None else (f", {check.column}", check.args)
    [row] = await sql.fetch(
        f'WITH {withs}{_SEEN}{where}), {_PRE} SELECT {scope} AS "scope", {_agg(_SEEN_COLUMNS)} AS "inspections", '  # noqa: S608  (constant SQL, the host's scope statement)
        f'({answers}) AS "answers", (SELECT CAST("pre_id" AS TEXT) FROM "pre") AS "answers_of", '
        f'{_agg(_CLIENTS)} AS "clients"{check_column}',
        [*scope_args, *cookie, *where_args, page_size + 1, group_id, user_id, *check_args],
    )
    if check is not None:
        check.settle(row["check"])
    readable = _rows(row["inspections"])
    if isinstance(source, ScopeQuery):
        caller = source.finish(_rows(row["scope"]))
        # the scope's statement may name more than the caller reads (an inspector's recused facilities)
        readable = [r for r in readable if caller.can_read(UUID(r["id"]))]
    else:
        caller = resolved
    pre: list[Row] = []
    pre.extend(decode_encoded(row["answers"], postgres=True) if encoded else _rows(row["answers"]))
    inspections = {str(r["id"]): r for r in readable}
    return FirstReads(caller, inspections, _rows(row["clients"]), pre, row["answers_of"])


# PostgreSQL, the parts of the first statement: "seen", the inspections in scope (its WHERE appended, then a
# closing parenthesis) with the cookie's version and the probe; "pre", the first of them whose probe found
# answers; its answers, up to the page size + 1 (a parameter).
_SEEN = (
    f'"seen" AS (SELECT {", ".join("i." + c for c in _INSPECTION_COLUMNS.split(", "))}, k."since", '  # noqa: S608
    f'{_PROBE_JSON} AS "probe" '
    'FROM "inspection" i LEFT JOIN unnest(?::uuid[], ?::integer[]) AS k("id", "since") ON k."id" = i."id"'
)
_SEEN_COLUMNS = f'SELECT {_INSPECTION_COLUMNS}, "probe" FROM "seen"'  # noqa: S608
_PRE = (
    '"pre" AS (SELECT "id" AS "pre_id", "since" AS "pre_since", "version" AS "pre_upto" FROM "seen" '
    'WHERE ("probe" ->> \'answer\')::boolean ORDER BY CAST("id" AS TEXT) LIMIT 1)'
)
_PRE_RANGE = (
    '"inspection_id" = (SELECT "pre_id" FROM "pre")',
    '"version" > (SELECT "pre_since" FROM "pre") AND "version" <= (SELECT "pre_upto" FROM "pre")',
)
_PRE_ANSWERS = (
    ROW_QUERIES["answer"].replace('"inspection_id" = ?', _PRE_RANGE[0]) + f"AND {_PRE_RANGE[1]} "
    'ORDER BY "version" LIMIT ?'
)
# the same rows encoded (sync.pull_rows): one JSON array, the limit its only parameter
_PRE_ENCODED = (
    encoded_answers_sql(postgres=True)
    .replace('"inspection_id" = ?', _PRE_RANGE[0])
    .replace('"version" > ? AND "version" <= ?', _PRE_RANGE[1])
)


async def _readable_inspections(sql: Sql, caller: Caller) -> dict[str, dict[str, Any]]:
    """The inspections the caller may see, by id (text)."""
    columns = _INSPECTION_COLUMNS
    if caller.readable is None:
        rows = await sql.fetch(f'SELECT {columns} FROM "inspection"')  # noqa: S608
    elif caller.readable:
        rows = await sql.fetch_in(f'SELECT {columns} FROM "inspection"', '"id"', sorted(caller.readable))  # noqa: S608
    else:
        rows = []
    return {str(r["id"]): r for r in rows}
