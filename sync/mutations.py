"""Mutations (DESIGN §6): what a device asks the server to do, one typed Struct per ``name`` in the tagged union
:data:`Mutation`, and the result that answers each.

The push's envelope (:mod:`sync.protocol`) is decoded first; each mutation in it is decoded here on its own, so a
bad one is rejected alone (``unknown_mutation`` / ``invalid_args``) and never fails the whole push. The push path,
the reference client and the registry of mutators need only this module, not the envelopes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias
from uuid import UUID

import msgspec

# A register value: a grade code, points, pass/fail, or null (cleared). N/A is its own register (field "na").
Value: TypeAlias = str | bool | int | float | None
Field = Literal["value", "na"]
Status = Literal["applied", "conflict", "rejected"]


class Wire(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    """The base of the sync wire Structs (the envelopes of :mod:`sync.protocol` too): camelCase, defaults left out."""


# ------------------------------------------------------------------------------------------ mutation args


class SetAnswerArgs(Wire):
    inspection_id: UUID
    item_code: str
    field: Field
    value: Value
    base_version: int = 0


class AddNoteArgs(Wire):
    inspection_id: UUID
    item_code: str
    note_id: UUID
    text: str


class EditNoteArgs(Wire):
    note_id: UUID
    text: str
    inspection_id: UUID | None = None


class DeleteNoteArgs(Wire):
    note_id: UUID
    inspection_id: UUID | None = None


class AddPhotoArgs(Wire):
    inspection_id: UUID
    item_code: str
    photo_id: UUID
    sha256: str
    size: int
    mime: str
    requirement_id: str | None = None
    taken_at: str | None = None


class RemovePhotoArgs(Wire):
    photo_id: UUID
    inspection_id: UUID | None = None
    # the photo version the remover saw; a later add (revive) it has not seen wins over the removal
    base_version: int | None = None


class SetPhotoCaptionArgs(Wire):
    photo_id: UUID
    caption: str
    base_version: int = 0
    inspection_id: UUID | None = None


class ResolveConflictArgs(Wire):
    conflict_id: UUID
    value: Value
    base_version: int = 0
    inspection_id: UUID | None = None


class SubmitInspectionArgs(Wire):
    inspection_id: UUID


# The improvement plan (docs/improvement.md): kinds, statuses and the fields that are registers.
# a kind is one of the protocol's codes (soon, continuous, needs_support) or one the programme's settings name
# (improvementListKinds); the push checks which (unknown_improvement_kind)
ImprovementKind = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
ImprovementStatus = Literal["open", "in_progress", "done", "needs_support"]
ImprovementField = Literal["gap", "kind", "owner", "dueDate"]


class CreateImprovementArgs(Wire):
    # the clinic's self-assessment inspection (gives the facility and the round)
    inspection_id: UUID
    improvement_id: UUID
    item_code: str
    gap: str
    kind: ImprovementKind
    owner: str = ""
    due_date: str | None = None
    requirement_id: str | None = None


class SetImprovementFieldArgs(Wire):
    improvement_id: UUID
    field: ImprovementField
    value: str | None
    base_version: int = 0
    inspection_id: UUID | None = None


class SetImprovementStatusArgs(Wire):
    improvement_id: UUID
    status: ImprovementStatus
    inspection_id: UUID | None = None


class AttachImprovementPhotoArgs(Wire):
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


# ------------------------------------------------------------------------------------------ results


class MutationResult(Wire):
    id: int
    status: Status
    version: int | None = None
    conflict_id: UUID | None = None
    upload_required: bool | None = None
    reason: str | None = None
    detail: str | None = None
    # the refusal's parameters for the reader's words (``reason_<reason>`` of the app's vocabulary), when it has any
    params: dict[str, Any] | None = None


# ------------------------------------------------------------------------------------------ decoding


_mutation_decoder: msgspec.json.Decoder[Mutation] = msgspec.json.Decoder(Mutation)


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
