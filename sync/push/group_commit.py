"""Group commit of the SQLite pushes of one event loop. It is handed the work to run (a function of no
arguments returning an awaitable) and knows nothing of what a push is.

SQLite has one writer at a time. Pushes of this process queue here, in order, instead of polling SQLite's
busy handler (which sleeps up to 100 ms between tries and collapses throughput under contention), and the
pushes waiting in the queue are committed together: one transaction, one fsync, each push in its own
savepoint so a refused or failing push rolls back alone. Every answer waits for the shared COMMIT."""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

from sync.context import TransactionFactory

MAX_GROUP_PUSHES = 64
MAX_GROUP_MUTATIONS = 5000

Work = Callable[[], Awaitable[Any]]


@dataclass(slots=True)
class Pending:
    engine: Engine[Any]
    transaction: TransactionFactory
    size: int  # mutations, to cap a group's size
    work: Work
    future: asyncio.Future[Any]


class GroupCommitter:
    """The SQLite pushes of one event loop: a FIFO drained by one task, a group per transaction."""

    def __init__(self) -> None:
        self.queue: deque[Pending] = deque()
        self.task: asyncio.Task[None] | None = None

    async def run(self, engine: Engine[Any], transaction: TransactionFactory, size: int, work: Work) -> Any:
        """Run ``work`` inside a shared transaction opened by ``transaction``; its answer after COMMIT."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append(Pending(engine, transaction, size, work, future))
        if self.task is None:
            # A task of its own (and an empty context, so no request's context variables leak into the
            # others' pushes): a cancelled request must not abort the shared transaction.
            self.task = asyncio.get_running_loop().create_task(self._drain(), context=contextvars.Context())
        return await future

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

    def _next_group(self) -> list[Pending]:
        first = self.queue.popleft()
        group = [first]
        size = first.size
        while self.queue and len(group) < MAX_GROUP_PUSHES:
            nxt = self.queue[0]
            if nxt.engine is not first.engine or nxt.transaction != first.transaction:
                break
            if size + nxt.size > MAX_GROUP_MUTATIONS:
                break
            group.append(self.queue.popleft())
            size += nxt.size
        return [p for p in group if not p.future.done()]  # a request cancelled while queued is not applied


_committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommitter] = (
    weakref.WeakKeyDictionary()
)


def committer(engine: Engine[Any]) -> GroupCommitter | None:
    """This loop's committer for a SQLite engine; ``None`` (one transaction per push) for PostgreSQL."""
    if not isinstance(engine, SQLiteEngine):
        return None
    loop = asyncio.get_running_loop()
    found = _committers.get(loop)
    if found is None:
        found = _committers[loop] = GroupCommitter()
    return found


async def _run_group(group: list[Pending]) -> None:
    first = group[0]
    outcomes: list[Any] = []
    try:
        async with first.transaction():
            if len(group) == 1:
                outcomes.append(await first.work())
            else:
                connection = _connection(first.engine)
                for p in group:
                    await connection.execute("SAVEPOINT push")
                    try:
                        outcome: Any = await p.work()
                    except Exception as exc:  # this push alone is undone; the others go on
                        await connection.execute("ROLLBACK TO SAVEPOINT push")
                        outcome = _Failed(exc)
                    await connection.execute("RELEASE SAVEPOINT push")
                    outcomes.append(outcome)
    except Exception as exc:  # the shared transaction failed: nobody's push is committed
        outcomes = [_Failed(exc)] * len(group)
    except BaseException:
        for p in group:
            p.future.cancel()
        raise
    # Only now, after COMMIT, does any push get its answer.
    for p, outcome in zip(group, outcomes, strict=True):
        if p.future.done():
            continue
        if isinstance(outcome, _Failed):
            p.future.set_exception(outcome.error)
        else:
            p.future.set_result(outcome)


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


def _connection(engine: Engine[Any]) -> Any:
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("no open transaction")
    return transaction.connection
