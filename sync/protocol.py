"""Sync wire types (DESIGN §6): msgspec Structs, camelCase, unknown fields ignored (old apps stay in the field).

A push is decoded in two steps so that one bad mutation never fails the whole envelope:
the envelope and each mutation's ``id`` must be well formed (else 400), while each mutation's ``name`` and
``args`` are decoded separately into the tagged union :data:`Mutation`; a failure there rejects only that
mutation (``unknown_mutation`` / ``invalid_args``).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal, TypeAlias
from uuid import UUID

import msgspec

# raised by the decoders below; defined with the other sync errors
from sync.errors import ProtocolError as ProtocolError

PROTOCOL_VERSION = 1

# A register value: a grade code, points, pass/fail, or null (cleared). N/A is its own register (field "na").
Value: TypeAlias = str | bool | int | float | None
Field = Literal["value", "na"]
Status = Literal["applied", "conflict", "rejected"]


class _Wire(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    pass


# ------------------------------------------------------------------------------------------ mutation args


class SetAnswerArgs(_Wire):
    inspection_id: UUID
    item_code: str
    field: Field
    value: Value
    base_version: int = 0


class AddNoteArgs(_Wire):
    inspection_id: UUID
    item_code: str
    note_id: UUID
    text: str


class EditNoteArgs(_Wire):
    note_id: UUID
    text: str
    inspection_id: UUID | None = None


class DeleteNoteArgs(_Wire):
    note_id: UUID
    inspection_id: UUID | None = None


class AddPhotoArgs(_Wire):
    inspection_id: UUID
    item_code: str
    photo_id: UUID
    sha256: str
    size: int
    mime: str
    requirement_id: str | None = None
    taken_at: str | None = None


class RemovePhotoArgs(_Wire):
    photo_id: UUID
    inspection_id: UUID | None = None
    # the photo version the remover saw; a later add (revive) it has not seen wins over the removal
    base_version: int | None = None


class SetPhotoCaptionArgs(_Wire):
    photo_id: UUID
    caption: str
    base_version: int = 0
    inspection_id: UUID | None = None


class ResolveConflictArgs(_Wire):
    conflict_id: UUID
    value: Value
    base_version: int = 0
    inspection_id: UUID | None = None


class SubmitInspectionArgs(_Wire):
    inspection_id: UUID


# The improvement plan (docs/improvement.md): kinds, statuses and the fields that are registers.
# a kind is one of the protocol's codes (soon, continuous, needs_support) or one the programme's settings name
# (improvementListKinds); the push checks which (unknown_improvement_kind)
ImprovementKind = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
ImprovementStatus = Literal["open", "in_progress", "done", "needs_support"]
ImprovementField = Literal["gap", "kind", "owner", "dueDate"]


class CreateImprovementArgs(_Wire):
    # the clinic's self-assessment inspection (gives the facility and the round)
    inspection_id: UUID
    improvement_id: UUID
    item_code: str
    gap: str
    kind: ImprovementKind
    owner: str = ""
    due_date: str | None = None
    requirement_id: str | None = None


class SetImprovementFieldArgs(_Wire):
    improvement_id: UUID
    field: ImprovementField
    value: str | None
    base_version: int = 0
    inspection_id: UUID | None = None


class SetImprovementStatusArgs(_Wire):
    improvement_id: UUID
    status: ImprovementStatus
    inspection_id: UUID | None = None


class AttachImprovementPhotoArgs(_Wire):
    improvement_id: UUID
    photo_id: UUID
    inspection_id: UUID | None = None


# ------------------------------------------------------------------------------------------ mutations


class _Mutation(msgspec.Struct, rename="camel", kw_only=True, tag_field="name"):
    id: int
    hlc: str = ""


class SetAnswer(_Mutation, tag="setAnswer"):
    args: SetAnswerArgs


class AddNote(_Mutation, tag="addNote"):
    args: AddNoteArgs


class EditNote(_Mutation, tag="editNote"):
    args: EditNoteArgs


class DeleteNote(_Mutation, tag="deleteNote"):
    args: DeleteNoteArgs


class AddPhoto(_Mutation, tag="addPhoto"):
    args: AddPhotoArgs


class RemovePhoto(_Mutation, tag="removePhoto"):
    args: RemovePhotoArgs


class SetPhotoCaption(_Mutation, tag="setPhotoCaption"):
    args: SetPhotoCaptionArgs


class ResolveConflict(_Mutation, tag="resolveConflict"):
    args: ResolveConflictArgs


class SubmitInspection(_Mutation, tag="submitInspection"):
    args: SubmitInspectionArgs


class CreateImprovement(_Mutation, tag="createImprovement"):
    args: CreateImprovementArgs


class SetImprovementField(_Mutation, tag="setImprovementField"):
    args: SetImprovementFieldArgs


class SetImprovementStatus(_Mutation, tag="setImprovementStatus"):
    args: SetImprovementStatusArgs


class AttachImprovementPhoto(_Mutation, tag="attachImprovementPhoto"):
    args: AttachImprovementPhotoArgs


Mutation: TypeAlias = (
    SetAnswer
    | AddNote
    | EditNote
    | DeleteNote
    | AddPhoto
    | RemovePhoto
    | SetPhotoCaption
    | ResolveConflict
    | SubmitInspection
    | CreateImprovement
    | SetImprovementField
    | SetImprovementStatus
    | AttachImprovementPhoto
)
MUTATION_TYPES: tuple[type[Mutation], ...] = (
    SetAnswer,
    AddNote,
    EditNote,
    DeleteNote,
    AddPhoto,
    RemovePhoto,
    SetPhotoCaption,
    ResolveConflict,
    SubmitInspection,
    CreateImprovement,
    SetImprovementField,
    SetImprovementStatus,
    AttachImprovementPhoto,
)
MUTATION_NAMES: frozenset[str] = frozenset(str(t.__struct_config__.tag) for t in MUTATION_TYPES)


class MutationHead(msgspec.Struct, kw_only=True):
    """What must be well formed in every mutation for the envelope to be accepted."""

    id: int
    name: str = ""


# ------------------------------------------------------------------------------------------ push


_Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]


class ClientState(_Wire):
    """What the device reports of itself with each push (the office's dashboard shows it): its app version and
    what it still holds, counted before this push (mutations queued, photos and their bytes not yet sent)."""

    app_version: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    # what the office's dashboard calls the device: a name given on it, else its model
    device_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    queued_mutations: _Count = 0
    queued_photos: _Count = 0
    queued_bytes: Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)] = 0


class PushRequest(_Wire):
    """A push as decoded by the server: mutations are kept raw and decoded one by one."""

    protocol_version: int
    client_group_id: str
    client_id: str
    mutations: list[msgspec.Raw] = msgspec.field(default_factory=list)
    client_state: ClientState | None = None


class PushBody(_Wire):
    """A push as built by a client (typed mutations)."""

    protocol_version: int
    client_group_id: str
    client_id: str
    mutations: list[Mutation]


class MutationResult(_Wire):
    id: int
    status: Status
    version: int | None = None
    conflict_id: UUID | None = None
    upload_required: bool | None = None
    reason: str | None = None
    detail: str | None = None
    # the refusal's parameters for the reader's words (``reason_<reason>`` of the app's vocabulary), when it has any
    params: dict[str, Any] | None = None


class PushResponse(_Wire):
    last_mutation_id: int
    results: list[MutationResult] = msgspec.field(default_factory=list)


# ------------------------------------------------------------------------------------------ pull


class PullRequest(_Wire):
    protocol_version: int
    client_group_id: str
    cookie: str | None = None
    # optional: a smaller page than the server's (slow links); the server's page size is the ceiling
    max_ops: int | None = None


class OpinionValue(msgspec.Struct, rename="camel", kw_only=True):
    """The value of ``opinion/<id>`` in a pull: an office's written opinion the clinic and the team read.
    ``kind``: ``review`` (given with an inspection: a return, or the sign-off that removed the facility) or
    ``application`` (given with an application alone); ``removal``: it removed the facility from the list
    (剔除) and returned its application. Every field is always sent."""

    id: str
    inspection_id: str | None
    facility_id: str
    stage: str | None
    kind: Literal["application", "review"]
    removal: bool
    opinion: str
    returned_at: str | None


class PutOp(msgspec.Struct, tag="put", tag_field="op"):
    key: str
    value: dict[str, Any]


class EncodedPutOp(PutOp):
    """A ``put`` whose value the database wrote as JSON (``sync.pull_rows``): sent as it is, never decoded.
    Servers build it; clients decode every ``put`` as :class:`PutOp`."""

    value: msgspec.Raw  # type: ignore[assignment]  # the same JSON object on the wire, already encoded


class DelOp(msgspec.Struct, tag="del", tag_field="op"):
    key: str


PatchOp: TypeAlias = PutOp | DelOp


class Limits(_Wire):
    max_mutations: int
    max_body_bytes: int


class PullResponse(msgspec.Struct, rename="camel", kw_only=True):
    cookie: str
    reset: bool
    has_more: bool
    last_mutation_ids: dict[str, int]
    patch: list[PatchOp]
    conflicts: list[dict[str, Any]]
    # Not in DESIGN §6 but additive: the push limits, so clients size their batches.
    limits: Limits | None = None


# ------------------------------------------------------------------------------------------ decoding


_push_decoder = msgspec.json.Decoder(PushRequest)
_head_decoder = msgspec.json.Decoder(MutationHead)
_mutation_decoder: msgspec.json.Decoder[Mutation] = msgspec.json.Decoder(Mutation)
_pull_decoder = msgspec.json.Decoder(PullRequest)


def decode_push(body: bytes) -> tuple[PushRequest, list[MutationHead]]:
    """Decode the envelope; raises :class:`ProtocolError` when it or any mutation id is malformed."""
    try:
        request = _push_decoder.decode(body)
        heads = [_head_decoder.decode(raw) for raw in request.mutations]
    except (msgspec.DecodeError, RecursionError) as exc:  # msgspec refuses deep nesting with RecursionError
        raise ProtocolError(f"malformed push: {exc}") from None
    check_protocol(request.protocol_version)
    if not request.client_id or not request.client_group_id:
        raise ProtocolError("clientId and clientGroupId must not be empty")
    if "\x00" in request.client_id + request.client_group_id:
        raise ProtocolError("clientId and clientGroupId may not contain NUL (\\u0000)")
    state = request.client_state
    if state is not None and state.app_version is not None and "\x00" in state.app_version:
        raise ProtocolError("clientState.appVersion may not contain NUL (\\u0000)")
    if state is not None and state.device_name is not None and "\x00" in state.device_name:
        raise ProtocolError("clientState.deviceName may not contain NUL (\\u0000)")
    for previous, head in itertools.pairwise(heads):
        if head.id != previous.id + 1:
            raise ProtocolError(
                f"mutation ids in one push must increase by one; {head.id} follows {previous.id}",
                code="invalid_mutation_ids",
            )
    if heads and heads[0].id < 1:
        raise ProtocolError("mutation ids start at 1", code="invalid_mutation_ids")
    return request, heads


def decode_mutation(raw: msgspec.Raw | bytes, head: MutationHead) -> Mutation | MutationResult:
    """The typed mutation, or the ``rejected`` result that consumes it."""
    if head.name not in MUTATION_NAMES:
        return MutationResult(
            id=head.id, status="rejected", reason="unknown_mutation", detail=f"unknown mutation {head.name!r}"
        )
    try:
        mutation = _mutation_decoder.decode(raw)
    except (msgspec.ValidationError, RecursionError) as exc:
        return MutationResult(id=head.id, status="rejected", reason="invalid_args", detail=str(exc))
    if _NUL_ESCAPE in bytes(raw) and _holds_nul(mutation):
        return MutationResult(
            id=head.id, status="rejected", reason="invalid_args", detail="text may not contain NUL (\\u0000)"
        )
    return mutation


# PostgreSQL text cannot hold NUL: a string with one is refused here, alike on both databases.
_NUL_ESCAPE = b"\\u0000"


def _holds_nul(mutation: Mutation) -> bool:
    texts = [mutation.hlc, *(v for v in msgspec.structs.astuple(mutation.args) if isinstance(v, str))]
    return any("\x00" in text for text in texts)


def decode_pull(body: bytes) -> PullRequest:
    try:
        request = _pull_decoder.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ProtocolError(f"malformed pull: {exc}") from None
    check_protocol(request.protocol_version)
    if not request.client_group_id:
        raise ProtocolError("clientGroupId must not be empty")
    if "\x00" in request.client_group_id:
        raise ProtocolError("clientGroupId may not contain NUL (\\u0000)")
    return request


def check_protocol(version: int) -> None:
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"protocolVersion {version} is not supported; this server speaks {PROTOCOL_VERSION}",
            code="unsupported_protocol",
        )
