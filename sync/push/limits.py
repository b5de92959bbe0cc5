"""The length of every text a push stores, checked when the push is decoded, before the database sees it.

The limits are the columns' own (:mod:`sync.tables`), so a wider column widens the check with it. A
mutation with a text too long is consumed as ``rejected`` (``too_long``) like any other policy refusal; an
envelope's ``clientId`` or ``clientGroupId`` too long refuses the whole push (400). Without this check
PostgreSQL refused the insert (SQLite stores any length), the whole push rolled back with a 500, and a device
retrying it never got past it."""

from __future__ import annotations

import msgspec
from piccolo.columns import Varchar

from sync.errors import ProtocolError
from sync.mutations import (
    AddNoteArgs,
    AddPhotoArgs,
    CreateImprovementArgs,
    Mutation,
    MutationHead,
    MutationResult,
    SetAnswerArgs,
)
from sync.protocol import PushRequest
from sync.tables import AnswerRegister, ImprovementItem, NoteEntry, Photo, SyncClient

# args type -> wire field (snake case) -> column it is stored in (a sha256 is checked whole by its mutator:
# exactly 64 hex digits)
_ARGS: dict[type[msgspec.Struct], dict[str, Varchar]] = {
    SetAnswerArgs: {"item_code": AnswerRegister.item_code},
    AddNoteArgs: {"item_code": NoteEntry.item_code},
    AddPhotoArgs: {
        "item_code": Photo.item_code,
        "mime": Photo.mime,
        "requirement_id": Photo.requirement_id,
        "taken_at": Photo.taken_at,
    },
    CreateImprovementArgs: {
        "item_code": ImprovementItem.item_code,
        "owner": ImprovementItem.owner,
        "due_date": ImprovementItem.due_date,
        "requirement_id": ImprovementItem.requirement_id,
    },
}


def _length(column: Varchar) -> int:
    assert column.length is not None
    return column.length


ARGS_LIMITS: dict[type[msgspec.Struct], dict[str, int]] = {
    kind: {name: _length(column) for name, column in fields.items()} for kind, fields in _ARGS.items()
}
HLC_LIMIT = min(_length(AnswerRegister.hlc), _length(NoteEntry.hlc))
CLIENT_ID_LIMIT = min(_length(SyncClient.client_id), _length(Photo.client_id))
CLIENT_GROUP_LIMIT = _length(SyncClient.client_group_id)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def check_envelope(request: PushRequest) -> None:
    if len(request.client_id) > CLIENT_ID_LIMIT:
        raise ProtocolError(f"clientId takes at most {CLIENT_ID_LIMIT} characters", code="too_long")
    if len(request.client_group_id) > CLIENT_GROUP_LIMIT:
        raise ProtocolError(f"clientGroupId takes at most {CLIENT_GROUP_LIMIT} characters", code="too_long")


def too_long(mutation: Mutation, head: MutationHead) -> MutationResult | None:
    """The ``rejected`` result of a mutation holding a text longer than its column, else ``None``."""
    found: tuple[str, int] | None = None
    if len(mutation.hlc) > HLC_LIMIT:
        found = ("hlc", HLC_LIMIT)
    else:
        for name, limit in ARGS_LIMITS.get(type(mutation.args), {}).items():
            value = getattr(mutation.args, name)
            if isinstance(value, str) and len(value) > limit:
                found = (_camel(name), limit)
                break
    if found is None:
        return None
    field, limit = found
    return MutationResult(
        id=head.id,
        status="rejected",
        reason="too_long",
        detail=f"{field} takes at most {limit} characters",
    )
