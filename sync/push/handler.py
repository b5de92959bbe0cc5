"""Push (DESIGN §6), the entry: decode the envelope, check the limits, choose the runner (the group
committer on SQLite, a transaction of its own on PostgreSQL) and run :func:`sync.push.transaction.push_in_tx`.

One transaction per push: the inspections it changes are locked in sorted id order, each one's version
bumped under that lock for every applied change, ``lastMutationId`` stored with the effects. The batch is
read with a handful of set-based queries, decided in memory by :mod:`sync.policy`, and written back with
``executemany`` upserts: a push costs a fixed number of statements, not one per mutation."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sync.context import CallerCheck, CallerSource, PushContext
from sync.errors import TooManyMutations
from sync.mutations import Mutation, MutationResult
from sync.protocol import PushResponse, decode_push
from sync.push import group_commit
from sync.push.limits import check_envelope
from sync.push.transaction import apply_in_tx, push_in_tx


async def push(
    body: bytes, *, caller: CallerSource, ctx: PushContext, check: CallerCheck | None = None
) -> PushResponse:
    """Apply one push. Raises :class:`~sync.errors.SyncError` subclasses when it is refused as a whole.

    ``caller`` may be a callable: it is then resolved inside the push transaction, so the scope is read
    under the same locks as the writes (and, on SQLite, on the transaction's connection). ``check``: the
    host's check of the caller's credential, read in the statement that locks the client's row."""
    request, heads = decode_push(body)
    check_envelope(request)
    response: PushResponse = await _in_transaction(
        ctx, len(heads), functools.partial(push_in_tx, request, heads, caller, ctx, check)
    )
    return response


async def apply(
    caller: CallerSource, mutations: Sequence[Mutation], *, ctx: PushContext, client_id: str
) -> list[MutationResult]:
    """The one entry for mutations made on the server (no device, no JSON): applied in process, in one
    transaction (the group committer's on SQLite), by the same mutators and policy as a device's push.
    ``client_id`` names the writer (an office user: ``office-<user id>``); no ``sync_client`` row is kept."""
    results: list[MutationResult] = await _in_transaction(
        ctx, len(mutations), functools.partial(apply_in_tx, mutations, caller, ctx, client_id)
    )
    return results


async def _in_transaction(ctx: PushContext, count: int, work: Callable[[], Awaitable[Any]]) -> Any:
    """``count`` mutations within the limit, run in one transaction: the group committer's on SQLite, a
    transaction of its own on PostgreSQL."""
    if count > ctx.max_mutations:
        raise TooManyMutations(
            f"a push carries at most {ctx.max_mutations} mutations (maxMutations); this one has {count}",
            limit="maxMutations",
            max=ctx.max_mutations,
        )
    grouped = group_commit.committer(ctx.engine)
    if grouped is None:
        async with ctx.transaction():
            return await work()
    return await grouped.run(ctx.engine, ctx.transaction, count, work)
