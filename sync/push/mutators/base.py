"""What a mutator is: for one mutation type, the inspection it changes, the rows it needs read, how the
server applies it to a :class:`~sync.push.batch.PushBatch`, and how a client replays it on its local view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from sync.mutations import Mutation, MutationResult
from sync.push.batch import PushBatch, Wanted

M = TypeVar("M", bound=Mutation)

# A client's local store: patch keys (``answer/…``, ``note/…``, ``photo/…``) to values.
View = dict[str, dict[str, Any]]
# Which inspection a note, photo or conflict is in (read before the locks: it never changes).
Owners = Mapping[UUID, UUID]


@dataclass(frozen=True, slots=True)
class Mutator(Generic[M]):
    # the inspection the mutation changes (None: the note, photo or conflict it names does not exist)
    target: Callable[[M, Owners], UUID | None]
    # adds the rows it reads to what the batch loads (pure)
    needs: Callable[[M, Wanted], None]
    # the server's apply: changes the batch, returns the result (raises checks.Rejected to refuse)
    apply: Callable[[PushBatch, M], Awaitable[MutationResult]]
    # the client's optimistic apply on its view (sync/client.py)
    replay: Callable[[View, M], None]


def mark_pending(view: View, key: str, changes: dict[str, Any]) -> None:
    """A pending edit of an entry the view already holds (nothing when it does not)."""
    if key in view:
        view[key] = {**view[key], **changes, "pending": True}


def named_inspection(m: Any, _: Owners) -> UUID | None:
    """The target of a mutation whose args name its inspection."""
    inspection_id: UUID = m.args.inspection_id
    return inspection_id


def needs_nothing(_m: Any, _w: Wanted) -> None:
    return None
