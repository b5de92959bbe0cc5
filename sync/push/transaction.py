"""One push inside its transaction: lock the client → skip what it already sent → load → apply each
mutation through the registry → write → store the result window → audit. A mutation refused by a check is
consumed with ``status: "rejected"``; nothing else in the push is undone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec

from sync import lifecycle
from sync.context import Caller, CallerCheck, CallerSource, PushContext, ScopeQuery, resolve_caller
from sync.errors import MutationGap
from sync.mutations import Mutation, MutationHead, MutationResult, decode_mutation
from sync.protocol import PushRequest, PushResponse
from sync.push.batch import PushBatch, Wanted
from sync.push.checks import Rejected
from sync.push.clients import appended, client_state, client_update, client_upsert, lock_client, replayed
from sync.push.limits import too_long
from sync.push.load import load, owners_of, targets_of, wanted_of
from sync.push.mutators import REGISTER_KINDS, REGISTRY
from sync.push.write import write
from sync.sql import Sql


async def push_in_tx(
    request: PushRequest,
    heads: list[MutationHead],
    source: CallerSource,
    ctx: PushContext,
    check: CallerCheck | None = None,
) -> PushResponse:
    sql = Sql(ctx.engine)
    decoded_all: list[Mutation | MutationResult] | None = None
    locked: dict[UUID, dict[str, Any]] | None = None
    owners: dict[UUID, UUID] = {}
    planned: tuple[Wanted, set[UUID]] | None = None  # PostgreSQL: what the mutations name, before the locks
    if sql.postgres:
        decoded_all = [_decode(raw, head) for raw, head in zip(request.mutations, heads, strict=True)]
        mutations = [m for m in decoded_all if not isinstance(m, MutationResult)]
        wanted = wanted_of(mutations)
        owners = await owners_of(sql, wanted)
        targets = targets_of(mutations, owners)
        planned = wanted, targets
        lock = None if ctx.lock_first is None else ctx.lock_first(request.client_id)
        caller, row, locked = await _lock_first(sql, request, source, targets, lock, check)
        last, window = client_state(row, request.client_id, request.client_group_id, caller)
    else:
        caller = await resolve_caller(source, sql.fetch)
        last, window = await lock_client(sql, request.client_id, request.client_group_id, caller, check)
    fresh = [n for n, head in enumerate(heads) if head.id > last]
    if fresh and heads[fresh[0]].id != last + 1:
        raise MutationGap(
            f"the next mutation of client {request.client_id} must have id {last + 1}",
            expected=last + 1,
            last_mutation_id=last,
        )
    # One result per consumed mutation id, in order.
    seen = replayed(window, last, [h.id for h in heads])
    if not fresh:
        return PushResponse(last_mutation_id=last, results=seen)
    batch = PushBatch(sql, caller, request.client_id, ctx, REGISTER_KINDS)
    batch.owners.update(owners)
    named = None
    if decoded_all is None:
        decoded = [_decode(request.mutations[n], heads[n]) for n in fresh]
    else:
        decoded = [decoded_all[n] for n in fresh]
        if len(fresh) == len(heads):  # the very mutations named before the locks
            named = planned
    await load(batch, [m for m in decoded if not isinstance(m, MutationResult)], locked, named=named)
    results = await apply_all(batch, decoded)
    new_last = heads[fresh[-1]].id
    # with the queue the device reports (a pure replay, above, stores nothing: it changes nothing); written
    # with the rows
    client = client_update(
        request.client_id,
        new_last,
        appended(window, results, ctx.results_window),
        request.client_state,
        len(request.mutations),
    )
    appending = None if ctx.with_writes is None or not sql.postgres else ctx.with_writes(batch.audit)
    found = await write(batch, then=[client], last=None if appending is None else appending.statement)
    if appending is not None:
        assert found is not None  # write answers the last statement's row
        await appending.finish(found)
    await ctx.audit(batch.audit)
    return PushResponse(last_mutation_id=new_last, results=seen + results)


async def _lock_first(
    sql: Sql,
    request: PushRequest,
    source: CallerSource,
    targets: set[UUID],
    lock: tuple[str, list[Any]] | None,
    check: CallerCheck | None = None,
) -> tuple[Caller, dict[str, Any], dict[UUID, dict[str, Any]]]:
    """PostgreSQL: the caller's scope (when the host hands a :class:`ScopeQuery`), the client's row made and
    locked, and the inspections the push changes locked, in one statement (one round trip, not three). Returns
    the caller, the client's row and the locked inspections' rows by id.

    Why this is as safe as three statements under READ COMMITTED: the scope is read in the statement's
    snapshot, taken before it waits on any lock, which is no older than before (the scope was its own earlier
    statement). The client's upsert runs first (the inspections' ``FOR UPDATE`` is a ``LATERAL`` subquery on its
    row) and returns the row's latest committed version even after waiting, so one client's pushes still queue
    on the client row before any inspection lock, in the same lock order as before (client, then inspections by
    id): no new deadlock. ``FOR UPDATE`` returns each inspection's latest committed version once it holds the
    lock, and every read it guards (registers, conflicts, ...) is a later statement. The locks may cover a bit
    more than the push then changes (mutations already consumed by a retry; an inspector's recused facilities),
    only ever inspections of the caller's own scope and only when the client row is the caller's; the batch
    keeps the inspections it did before. ``lock``: the host's expression (its audit chain's lock), evaluated in
    the select list, so after the row locks of its ``FROM`` (the same order as when it came with the writes).
    ``check``: the host's check of the caller's credential, a column of the same statement, settled before
    anything else it read is used (refused: the transaction rolls back, the client row's upsert with it)."""
    scope = source if isinstance(source, ScopeQuery) else None
    resolved: Caller | None = None
    withs, with_args, scope_json, in_scope = "", [], "NULL", ""
    if scope is not None:
        user_id = scope.user_id
        withs, with_args = f'"scope" AS ({scope.sql}), ', scope.args
        scope_json, in_scope = (
            '(SELECT json_agg(s) FROM "scope" s)',
            ' AND "id" IN (SELECT "id" FROM "scope")',
        )
    else:
        resolved = await resolve_caller(source, sql.fetch)
        user_id = resolved.user_id
        if resolved.writable is not None:
            targets = {t for t in targets if resolved.can_write(t)}
    upsert, upsert_args = client_upsert(request.client_id, request.client_group_id, user_id)
    inspections = lifecycle.LOCK_SELECT.format(also=f' AND c."user_id" = ?::uuid{in_scope}')
    also, also_args = ("", []) if lock is None else (f', {lock[0]} AS "host_lock"', lock[1])
    if check is not None:
        also, also_args = f"{also}, {check.column}", [*also_args, *check.args]
    [row] = await sql.fetch(
        f'WITH {withs}"client" AS ({upsert}) SELECT c."client_group_id", c."user_id", c."last_mutation_id", '  # noqa: S608
        f'c."recent_results", {scope_json} AS "scope", l."locked"{also} FROM "client" c '
        f'CROSS JOIN LATERAL (SELECT json_agg(r) AS "locked" FROM ({inspections}) r) l',
        [*with_args, *upsert_args, *also_args, sorted(targets), user_id],
    )
    if check is not None:
        check.settle(row["check"])
    if scope is not None:
        resolved = scope.finish(_json_rows(row["scope"]))
    assert resolved is not None  # one of the two branches above set it
    caller = resolved
    return caller, row, {UUID(r["id"]): r for r in _json_rows(row["locked"])}


def _json_rows(value: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [] if value is None else msgspec.json.decode(value)
    return rows


async def apply_in_tx(
    mutations: Sequence[Mutation], source: CallerSource, ctx: PushContext, client_id: str
) -> list[MutationResult]:
    """Mutations the host made itself (an office's resolution), applied in the open transaction as a push's
    are (load, the mutators, write, audit) but with no client: no ``sync_client`` row, no mutation ids to
    keep, no result window. ``client_id`` names the writer in the registers and the audit."""
    sql = Sql(ctx.engine)
    batch = PushBatch(sql, await resolve_caller(source, sql.fetch), client_id, ctx, REGISTER_KINDS)
    await load(batch, list(mutations))
    results = await apply_all(batch, mutations)
    await write(batch)
    await ctx.audit(batch.audit)
    return results


def _decode(raw: msgspec.Raw, head: MutationHead) -> Mutation | MutationResult:
    mutation = decode_mutation(raw, head)
    if isinstance(mutation, MutationResult):
        return mutation
    return too_long(mutation, head) or mutation


async def apply_all(batch: PushBatch, decoded: Sequence[Mutation | MutationResult]) -> list[MutationResult]:
    """Each mutation in order through its mutator; one audit entry per mutation, whatever its outcome."""
    results: list[MutationResult] = []
    for item in decoded:
        if isinstance(item, MutationResult):  # refused while decoding (unknown name, invalid args)
            results.append(item)
            batch.log_rejected(item, "", None)
            continue
        logged = len(batch.audit)
        try:
            result = await REGISTRY[type(item)].apply(batch, item)
            if len(batch.audit) == logged:
                # applied without a change (already in that state): still one audit entry per mutation
                batch.log(item, f"mutation/{batch.client_id}/{item.id}", {"unchanged": result.detail or True})
        except Rejected as rejected:
            result = MutationResult(
                id=item.id,
                status="rejected",
                reason=rejected.reason,
                detail=rejected.detail,
                params=rejected.params,
            )
            batch.log_rejected(result, item.hlc, type(item).__struct_config__.tag)
        results.append(result)
    return results
