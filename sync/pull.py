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

This module assembles the page; its parts are modules of their own: the cookie (:mod:`sync.pull_cookie`), the
first reads of the caller's scope, its inspections and client ids (:mod:`sync.pull_scope`: PostgreSQL's one
statement, SQLite's several), one inspection's changes cut to the budget (:mod:`sync.pull_page`), the rows
sent beside them (:mod:`sync.pull_related`) and the synced tables' rows as patch ops (:mod:`sync.pull_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from piccolo.engine.base import Engine

from sync.context import CallerCheck, CallerSource
from sync.protocol import Limits, PatchOp, PullResponse, PutOp, decode_pull
from sync.pull_cookie import decode_cookie, encode_cookie
from sync.pull_page import changes
from sync.pull_related import RowsById, facility_ops, name_candidates, opinion_ops
from sync.pull_rows import text_or_none
from sync.pull_scope import FirstReads, first_reads
from sync.sql import Sql


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
        first = await first_reads(
            sql, caller, request.client_group_id, known or {}, page_size, encoded=ctx.encoded, check=check
        )
        return await _pull(sql, known, first, ctx, page_size)


async def _pull(
    sql: Sql, known: dict[str, tuple[int, str]] | None, first: FirstReads, ctx: PullContext, page_size: int
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
            ops, found, upto = await changes(
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
        patch.extend(opinion_ops(await ctx.opinions([UUID(i) for i in returned])))
    if new_facilities:
        patch.extend(facility_ops(await ctx.facilities(sorted(UUID(f) for f in new_facilities))))
    if conflicts:
        await name_candidates(sql, ctx.users, conflicts)
    return PullResponse(
        cookie=encode_cookie(state),
        reset=reset,
        has_more=has_more,
        last_mutation_ids={r["client_id"]: int(r["last_mutation_id"]) for r in first.clients},
        patch=patch,
        conflicts=conflicts,
        limits=ctx.limits,
    )


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
