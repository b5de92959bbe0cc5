"""A page of one inspection's changes (DESIGN §6): the rows changed in a version range, at most about a budget
of them, cut on a version boundary so the cookie never stands inside a version. An incremental pull first asks
which kinds of rows changed at all (the probe; PostgreSQL asks it in the pull's first statement,
:mod:`sync.pull_scope`), then reads only those."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from sync.protocol import PatchOp
from sync.pull_rows import ROW_QUERIES, Row, exists_sql, fetch_rows, row_op, version_of
from sync.sql import Sql


# Which kinds have rows in a version range, in one statement: an incremental pull usually finds changes in one
# or two tables (a cycle of grading: answers only), so the others are not asked one by one.
def _probe_sql() -> str:
    return "SELECT " + ", ".join(f'{exists_sql(kind)} AS "{kind}"' for kind in ROW_QUERIES)


_PROBE = _probe_sql()


async def changes(
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
