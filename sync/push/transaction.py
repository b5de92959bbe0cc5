"""One push inside its transaction: lock the client → skip what it already sent → load → apply each
mutation through the registry → write → store the result window → audit. A mutation refused by a check is
consumed with ``status: "rejected"``; nothing else in the push is undone."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from sync.context import CallerSource, PushContext, resolve_caller
from sync.errors import MutationGap
from sync.protocol import Mutation, MutationHead, MutationResult, PushRequest, PushResponse, decode_mutation
from sync.push.batch import PushBatch
from sync.push.checks import Rejected
from sync.push.clients import appended, client_update, lock_client, replayed
from sync.push.limits import too_long
from sync.push.load import load
from sync.push.mutators import REGISTER_KINDS, REGISTRY
from sync.push.write import write
from sync.sql import Sql


async def push_in_tx(
    request: PushRequest, heads: list[MutationHead], source: CallerSource, ctx: PushContext
) -> PushResponse:
    sql = Sql(ctx.engine)
    caller = await resolve_caller(source)
    last, window = await lock_client(sql, request.client_id, request.client_group_id, caller)
    fresh = [(raw, head) for raw, head in zip(request.mutations, heads, strict=True) if head.id > last]
    if fresh and fresh[0][1].id != last + 1:
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
    decoded = [_decode(raw, head) for raw, head in fresh]
    await load(batch, [m for m in decoded if not isinstance(m, MutationResult)])
    results = await apply_all(batch, decoded)
    new_last = fresh[-1][1].id
    # with the queue the device reports (a pure replay, above, stores nothing: it changes nothing); written
    # with the rows
    client = client_update(
        request.client_id,
        new_last,
        appended(window, results, ctx.results_window),
        request.client_state,
        len(request.mutations),
    )
    extra = None if ctx.with_writes is None else ctx.with_writes(request.client_id)
    await write(batch, then=[client] if extra is None else [client, extra])
    await ctx.audit(batch.audit)
    return PushResponse(last_mutation_id=new_last, results=seen + results)


async def apply_in_tx(
    mutations: Sequence[Mutation], source: CallerSource, ctx: PushContext, client_id: str
) -> list[MutationResult]:
    """Mutations the host made itself (an office's resolution), applied in the open transaction as a push's
    are (load, the mutators, write, audit) but with no client: no ``sync_client`` row, no mutation ids to
    keep, no result window. ``client_id`` names the writer in the registers and the audit."""
    batch = PushBatch(Sql(ctx.engine), await resolve_caller(source), client_id, ctx, REGISTER_KINDS)
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
