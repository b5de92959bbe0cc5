"""Push (DESIGN §6): one transaction per push, inspections locked in sorted id order, the per-inspection
version bumped under that lock for every applied change, ``lastMutationId`` stored with the effects.

The batch is read with a handful of set-based queries, decided in memory by :mod:`sync.policy`, and
written back with ``executemany`` upserts; a push costs a fixed number of statements, not one per mutation.
"""

from __future__ import annotations

import asyncio
import base64
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from piccolo.engine.base import Engine

from sync.apply import _Batch
from sync.batch import _uuid
from sync.context import (
    AuditHook,
    BlobsStored,
    Caller,
    StandardRules,
    TransactionFactory,
)
from sync.group_commit import _committer, _Pending
from sync.protocol import (
    MutationHead,
    MutationResult,
    PushRequest,
    PushResponse,
    decode_mutation,
    decode_push,
)
from sync.sql import Sql


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


CallerSource = Caller | Callable[[], Awaitable[Caller]]


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
