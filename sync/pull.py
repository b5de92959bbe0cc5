"""Pull (DESIGN §6): everything the caller may see that changed since the cookie, as patch operations.

The cookie holds, per inspection, the version (and status) the client has. Rows are updated in place and
carry the inspection version of their last change, so a pull reads ``version > cookie`` through an
``(inspection_id, version)`` index: its cost follows the live rows that changed, never the history.
Versions of one inspection commit in order (bumped under its row lock), so reading the inspection's
version first and then rows up to it can never skip a change.

Pages end on a version boundary; ``hasMore`` tells the client to pull again with the new cookie. A cookie
that cannot be read, names an inspection the caller may no longer see, or is ahead of the server answers
``reset: true`` with a full snapshot (the client drops its store first). Removed photos are ``del``
tombstones (left out of a full snapshot).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.base import Engine

from sync.context import Caller, CallerCheck, CallerSource, ScopeQuery, resolve_caller
from sync.protocol import Limits, OpinionValue, PatchOp, PullResponse, PutOp, decode_pull
from sync.pull_rows import (
    ROW_QUERIES,
    Row,
    decode_encoded,
    encoded_answers_sql,
    exists_sql,
    fetch_rows,
    iso,
    row_op,
    text_or_none,
    version_of,
)
from sync.sql import Sql

COOKIE_FORMAT = 1


class _Cookie(msgspec.Struct):
    v: int
    i: dict[str, tuple[int, str]]


_cookie_decoder = msgspec.json.Decoder(_Cookie)
_enc = msgspec.json.Encoder()


def encode_cookie(state: dict[str, tuple[int, str]]) -> str:
    raw = _enc.encode(_Cookie(v=COOKIE_FORMAT, i=dict(sorted(state.items()))))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cookie(cookie: str) -> dict[str, tuple[int, str]] | None:
    try:
        raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        decoded = _cookie_decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    if decoded.v != COOKIE_FORMAT:
        return None
    return decoded.i


# What a pull sends of the backend's rows, read by functions the backend hands in (the engine runs no SQL on
# the backend's tables): facilities by id (id, name, kind, region) and the opinions of returned inspections
# by inspection id (id, inspection, application, facility, stage, opinion, returned_at; oldest first), and
# accounts by id (id, username, display_name: who wrote a conflict's candidates).
RowsById = Callable[[list[UUID]], Awaitable[Sequence[Mapping[str, Any]]]]


@dataclass(frozen=True, kw_only=True)
class PullContext:
    engine: Engine[Any]
    limits: Limits
    facilities: RowsById
    opinions: RowsById
    users: RowsById
    # patch operations per page (rows of synced tables; inspection/facility/standard refs come on top)
    page_size: int = 2000
    # the read transaction (the backend's: on SQLite a query-only connection on the loop's thread); None: the
    # engine's own
    transaction: Callable[[], Any] | None = None
    # the rows read as JSON the database builds, all kinds of an inspection in one statement (sync.pull_rows);
    # False: as columns, a statement per kind, built in Python: the reference the tests hold those bytes to
    encoded: bool = True


# Which kinds have rows in a version range, in one statement: an incremental pull usually finds changes in one
# or two tables (a cycle of grading: answers only), so the others are not asked one by one.
def _probe_sql() -> str:
    return "SELECT " + ", ".join(f'{exists_sql(kind)} AS "{kind}"' for kind in ROW_QUERIES)


_PROBE = _probe_sql()


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


async def pull(
    body: bytes, *, caller: CallerSource, ctx: PullContext, check: CallerCheck | None = None
) -> PullResponse:
    """Answer one pull. Raises ``ProtocolError`` (400) for a malformed request. A callable ``caller`` is
    resolved inside the read transaction (one connection; on SQLite one snapshot for scope and data, on
    PostgreSQL each statement its own, as READ COMMITTED gives). ``check``: the host's check of the caller's
    credential, read with the first reads (PostgreSQL: in their statement) and settled before they are used."""
    request = decode_pull(body)
    async with ctx.engine.transaction() if ctx.transaction is None else ctx.transaction():
        sql = Sql(ctx.engine)
        known = decode_cookie(request.cookie) if request.cookie else None
        page_size = ctx.page_size if request.max_ops is None else max(1, min(ctx.page_size, request.max_ops))
        first = await _first_reads(
            sql, caller, request.client_group_id, known or {}, page_size, encoded=ctx.encoded, check=check
        )
        return await _pull(sql, known, first, ctx, page_size)


_INSPECTION_COLUMNS = '"id", "version", "status", "stage", "facility", "standard_version_id", "round"'
_CLIENTS = (
    'SELECT "client_id", "last_mutation_id" FROM "sync_client" WHERE "client_group_id" = ? AND "user_id" = ?'
)


@dataclass(frozen=True, slots=True)
class _First:
    caller: Caller
    # the inspections the caller may read, by id (text); on PostgreSQL each with its "probe": which kinds of rows
    # changed since the cookie's version (None: not asked)
    inspections: dict[str, dict[str, Any]]
    clients: list[dict[str, Any]]  # the client group's clients of the caller: client_id, last_mutation_id
    # PostgreSQL: the answers changed since the cookie of the first inspection the probe found answers in
    # (``answers_of``, by id), as its own query would read them with the whole page as its budget (``_changes``
    # takes its budget's)
    answers: list[Row] = field(default_factory=list)
    answers_of: str | None = None


def _agg(select: str) -> str:
    """A query's rows as one JSON array (NULL for none), a column of a statement that reads several things."""
    return f"(SELECT json_agg(r) FROM ({select}) r)"  # noqa: S608  (constant SQL of this module)


def _rows(value: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [] if value is None else msgspec.json.decode(value)
    return rows


async def _first_reads(
    sql: Sql,
    source: CallerSource,
    group_id: str,
    known: dict[str, tuple[int, str]],
    page_size: int,
    *,
    encoded: bool,
    check: CallerCheck | None = None,
) -> _First:
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
        return _First(caller, inspections, clients)
    # an id as the server writes it (another spelling is no inspection of the caller's: a reset) in range
    pairs = [
        (i, v) for i, (v, _) in known.items() if _is_uuid(i) and str(UUID(i)) == i and -_INT32 <= v < _INT32
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
    return _First(caller, inspections, _rows(row["clients"]), pre, row["answers_of"])


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


async def _pull(
    sql: Sql, known: dict[str, tuple[int, str]] | None, first: _First, ctx: PullContext, page_size: int
) -> PullResponse:
    caller, inspections = first.caller, first.inspections
    reset = known is None or any(
        iid not in inspections or version > int(inspections[iid]["version"])
        for iid, (version, _) in known.items()
    )
    base: dict[str, tuple[int, str]] = {} if reset or known is None else known

    patch: list[PatchOp] = []
    conflicts: list[dict[str, Any]] = []
    state = dict(base)
    budget = page_size
    has_more = False
    new_facilities: set[str] = set()
    returned: list[str] = []
    for iid in sorted(inspections):
        row = inspections[iid]
        current, status = int(row["version"]), row["status"]
        seen = base.get(iid)
        if seen is not None and seen == (current, status):
            continue
        if budget <= 0:
            has_more = True
            continue
        if seen is None:
            new_facilities.add(str(row["facility"]))
        # new to the device, or a draft that changed (only a draft may change its standard)
        if seen is None or (status == "draft" and seen[0] < current):
            standard_id = row["standard_version_id"]
            patch.append(
                PutOp(
                    f"standardRef/{standard_id}", {"id": standard_id, "href": f"/api/standards/{standard_id}"}
                )
            )
        since = seen[0] if seen is not None else 0
        upto = current
        # a clinic reads a review returned to it through its opinions only (DESIGN §6): not the inspectors'
        # notes, grades, photos or conflicts with their per-expert candidates
        opinions_only = caller.role == "clinic" and row["stage"] != "self"
        if since < current and not opinions_only:
            ops, found, upto = await _changes(
                sql,
                iid,
                since,
                current,
                budget,
                full=seen is None,
                can_read=caller.can_read,
                probe=row.get("probe"),
                answers=(first.answers or None) if first.answers_of == iid else None,
                encoded=ctx.encoded,
            )
            patch.extend(op for op, _ in ops)
            conflicts.extend(c for _, c in ops if c is not None)
            budget -= found
            has_more = has_more or upto < current
        patch.append(PutOp(f"inspection/{iid}", _inspection_value(row, upto)))
        state[iid] = (upto, status)
        # a return's opinion comes with the returned inspection; a removal's (剔除, given at the sign-off that
        # found the facility short) with the accepted one
        if status in ("returned", "accepted"):
            returned.append(iid)
    if returned:
        patch.extend(_opinion_ops(await ctx.opinions([UUID(i) for i in returned])))
    if new_facilities:
        patch.extend(_facility_ops(await ctx.facilities(sorted(UUID(f) for f in new_facilities))))
    if conflicts:
        await _name_candidates(sql, ctx, conflicts)
    return PullResponse(
        cookie=encode_cookie(state),
        reset=reset,
        has_more=has_more,
        last_mutation_ids={r["client_id"]: int(r["last_mutation_id"]) for r in first.clients},
        patch=patch,
        conflicts=conflicts,
        limits=ctx.limits,
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


async def _name_candidates(sql: Sql, ctx: PullContext, conflicts: list[dict[str, Any]]) -> None:
    """Who wrote each candidate, for the person deciding: ``userName`` (the account's display name, else its
    username) and ``deviceName`` (the name the device gave itself; "" when none), so the app shows no id. Set in
    place: the conflict's record is both its patch value and its entry in ``conflicts``."""
    candidates = [c for r in conflicts for c in r["candidates"]]
    user_ids = sorted({UUID(u) for u in (str(c.get("userId")) for c in candidates) if _is_uuid(u)})
    client_ids = sorted({str(c["clientId"]) for c in candidates if c.get("clientId")})
    users = await ctx.users(user_ids) if user_ids else []
    names = {str(u["id"]): u["display_name"] or u["username"] for u in users}
    devices: dict[str, str] = {}
    if client_ids:
        rows = await sql.fetch_in(
            'SELECT "client_id", "device_name" FROM "sync_client"', '"client_id"', client_ids
        )
        devices = {r["client_id"]: r["device_name"] or "" for r in rows}
    for r in conflicts:
        r["candidates"] = [
            {
                **c,
                "userName": names.get(str(c.get("userId")), ""),
                "deviceName": devices.get(str(c.get("clientId")), ""),
            }
            for c in r["candidates"]
        ]


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _facility_ops(rows: Sequence[Mapping[str, Any]]) -> list[PatchOp]:
    """The facilities of inspections new to the device."""
    return [
        PutOp(
            f"facility/{fac['id']}",
            {
                "id": str(fac["id"]),
                "name": fac["name"],
                "kind": fac["kind"],
                "regionId": text_or_none(fac["region"]),
            },
        )
        for fac in rows
    ]


def _opinion_ops(rows: Sequence[Mapping[str, Any]]) -> list[PatchOp]:
    """The written opinions of the returned (and accepted) inspections sent in this pull (DESIGN §6: they
    reach the clinic), each with its kind: ``review`` (given with an inspection) or ``application`` (with an
    application alone), and ``removal`` when it removed the facility from the list (剔除: an inspection's
    opinion that also returned the application)."""
    return [
        PutOp(
            f"opinion/{r['id']}",
            msgspec.to_builtins(
                OpinionValue(
                    id=str(r["id"]),
                    inspection_id=text_or_none(r["inspection"]),
                    facility_id=str(r["facility"]),
                    stage=r["stage"],
                    kind="review" if r["inspection"] is not None else "application",
                    removal=r["inspection"] is not None and r.get("application") is not None,
                    opinion=r["opinion"],
                    returned_at=iso(r["returned_at"]),
                )
            ),
        )
        for r in rows
    ]


def _inspection_value(row: dict[str, Any], version: int) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "facilityId": str(row["facility"]),
        "roundId": text_or_none(row["round"]),
        "stage": row["stage"],
        "status": row["status"],
        "standardVersionId": row["standard_version_id"],
        "version": version,
    }


async def _changes(
    sql: Sql,
    iid: str,
    since: int,
    upto: int,
    budget: int,
    *,
    full: bool,
    can_read: Callable[[UUID], bool],
    probe: Mapping[str, bool] | None = None,
    answers: list[Row] | None = None,
    encoded: bool = True,
) -> tuple[list[tuple[PatchOp, dict[str, Any] | None]], int, int]:
    """Rows of one inspection changed in (since, upto], at most about ``budget`` of them, cut on a version
    boundary. Returns (ops, rows used, the version the client now has). ``probe``: which kinds changed in that
    range, when the caller asked already (PostgreSQL's first statement); ``answers``: the answers changed in
    that range as its own query reads them, with a budget of at least ``budget`` (the first statement's)."""
    inspection_id = UUID(iid)
    fetched: dict[str, list[Row]] = {}
    horizon = upto
    kinds = list(ROW_QUERIES)
    if not full:
        if probe is None:
            [probe] = await sql.fetch(_PROBE, [inspection_id, since, upto] * len(kinds))
        kinds = [kind for kind in kinds if probe[kind]]
    # the answers the first statement read (ordered by version, with a limit of at least budget + 1: their first
    # budget + 1 rows are what their own query would read)
    prefetched = answers is not None and not full
    need = [kind for kind in kinds if not (kind == "answer" and prefetched)]
    read = (
        await fetch_rows(sql, need, inspection_id, since, upto, budget + 1, encoded=encoded) if need else {}
    )
    for kind in kinds:
        rows = answers[: budget + 1] if answers is not None and kind not in read else read[kind]
        fetched[kind] = rows
        if len(rows) > budget:
            # Rows of this table beyond its last fetched version may be missing: stop before that version.
            horizon = min(horizon, version_of(rows[-1]) - 1)
    tagged = sorted(
        ((version_of(r), kind, r) for kind, rows in fetched.items() for r in rows), key=lambda t: t[0]
    )
    kept = [t for t in tagged if t[0] <= horizon]
    if len(kept) > budget:
        horizon = kept[budget - 1][0]
        kept = [t for t in kept if t[0] <= horizon]
    if not kept and tagged:
        # Not even one whole version fits the budget: take the first version whole, whatever its size.
        horizon = tagged[0][0]
        whole = await fetch_rows(sql, list(ROW_QUERIES), inspection_id, since, horizon, None, encoded=encoded)
        kept = [(version_of(r), kind, r) for kind, rows in whole.items() for r in rows]
        kept.sort(key=lambda t: t[0])
    ops: list[tuple[PatchOp, dict[str, Any] | None]] = []
    for _, kind, row in kept:
        op = row_op(kind, row, full=full, can_read=can_read)
        if op is not None:
            ops.append(op)
    return ops, len(kept), horizon
