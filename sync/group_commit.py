"""Group commit of the SQLite pushes of one event loop (see :func:`sync.push.push`)."""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

from sync.protocol import MutationHead, PushRequest, PushResponse

if TYPE_CHECKING:
    from sync.push import CallerSource, PushContext

# SQLite has one writer at a time. Pushes of this process queue here, in order, instead of polling SQLite's
# busy handler (which sleeps up to 100 ms between tries and collapses throughput under contention), and the
# pushes waiting in the queue are committed together: one transaction, one fsync, each push in its own
# savepoint so a refused or failing push rolls back alone. Every answer waits for the shared COMMIT.
MAX_GROUP_PUSHES = 64
MAX_GROUP_MUTATIONS = 5000


@dataclass(slots=True)
class _Pending:
    request: PushRequest
    heads: list[MutationHead]
    source: CallerSource
    ctx: PushContext
    future: asyncio.Future[PushResponse]


class _GroupCommitter:
    """The SQLite pushes of one event loop: a FIFO drained by one task, a group per transaction."""

    def __init__(self) -> None:
        self.queue: deque[_Pending] = deque()
        self.task: asyncio.Task[None] | None = None

    def submit(self, pending: _Pending) -> None:
        self.queue.append(pending)
        if self.task is None:
            # A task of its own (and an empty context, so no request's context variables leak into the
            # others' pushes): a cancelled request must not abort the shared transaction.
            self.task = asyncio.get_running_loop().create_task(self._drain(), context=contextvars.Context())

    async def _drain(self) -> None:
        try:
            while self.queue:
                group = self._next_group()
                if group:
                    await _run_group(group)
        finally:
            self.task = None
            for pending in self.queue:  # only when cancelled (loop shutdown)
                pending.future.cancel()

    def _next_group(self) -> list[_Pending]:
        first = self.queue.popleft()
        group = [first]
        size = len(first.heads)
        while self.queue and len(group) < MAX_GROUP_PUSHES:
            nxt = self.queue[0]
            if nxt.ctx.engine is not first.ctx.engine or nxt.ctx.transaction != first.ctx.transaction:
                break
            if size + len(nxt.heads) > MAX_GROUP_MUTATIONS:
                break
            group.append(self.queue.popleft())
            size += len(nxt.heads)
        return [p for p in group if not p.future.done()]  # a request cancelled while queued is not applied


_committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommitter] = (
    weakref.WeakKeyDictionary()
)


def _committer(engine: Engine[Any]) -> _GroupCommitter | None:
    if not isinstance(engine, SQLiteEngine):
        return None
    loop = asyncio.get_running_loop()
    committer = _committers.get(loop)
    if committer is None:
        committer = _committers[loop] = _GroupCommitter()
    return committer


async def _run_group(group: list[_Pending]) -> None:
    # sync.push imports this module: its transaction body is looked up at run time, not import time.
    from sync.push import _push_in_tx

    ctx = group[0].ctx
    outcomes: list[PushResponse | Exception] = []
    try:
        async with ctx.transaction():
            if len(group) == 1:
                p = group[0]
                outcomes.append(await _push_in_tx(p.request, p.heads, p.source, p.ctx))
            else:
                connection = _connection(ctx.engine)
                for p in group:
                    await connection.execute("SAVEPOINT push")
                    try:
                        outcome: PushResponse | Exception = await _push_in_tx(
                            p.request, p.heads, p.source, p.ctx
                        )
                    except Exception as exc:  # this push alone is undone; the others go on
                        await connection.execute("ROLLBACK TO SAVEPOINT push")
                        outcome = exc
                    await connection.execute("RELEASE SAVEPOINT push")
                    outcomes.append(outcome)
    except Exception as exc:  # the shared transaction failed: nobody's push is committed
        outcomes = [exc] * len(group)
    except BaseException:
        for p in group:
            p.future.cancel()
        raise
    # Only now, after COMMIT, does any push get its answer.
    for p, result in zip(group, outcomes, strict=True):
        if p.future.done():
            continue
        if isinstance(result, Exception):
            p.future.set_exception(result)
        else:
            p.future.set_result(result)


def _connection(engine: Engine[Any]) -> Any:
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("no open transaction")
    return transaction.connection
