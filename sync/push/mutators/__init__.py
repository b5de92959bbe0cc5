"""The mutation registry: each wire mutation type → its :class:`Mutator`, one module per family. Adding a
mutation is its Struct in :mod:`sync.mutations`, a module (or a function in a family's module) and one line
here; the push (:mod:`sync.push.transaction`) and the reference client (:mod:`sync.client`) both dispatch
through :data:`REGISTRY`. A family whose registers a row of its own carries (captions, improvement fields)
declares a :class:`~sync.push.batch.RegisterKind` and adds one line to :data:`REGISTER_KINDS`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.mutations import (
    AddNote,
    AddPhoto,
    AttachImprovementPhoto,
    CreateImprovement,
    DeleteNote,
    EditNote,
    Mutation,
    RemovePhoto,
    ResolveConflict,
    SetAnswer,
    SetImprovementField,
    SetImprovementStatus,
    SetPhotoCaption,
    SubmitInspection,
)
from sync.push.batch import RegisterKind
from sync.push.mutators import answers, conflicts, improvement, notes, photos, submit
from sync.push.mutators.base import Mutator

REGISTRY: Mapping[type[Mutation], Mutator[Any]] = {
    SetAnswer: answers.SET_ANSWER,
    AddNote: notes.ADD_NOTE,
    EditNote: notes.EDIT_NOTE,
    DeleteNote: notes.DELETE_NOTE,
    AddPhoto: photos.ADD_PHOTO,
    RemovePhoto: photos.REMOVE_PHOTO,
    SetPhotoCaption: photos.SET_PHOTO_CAPTION,
    ResolveConflict: conflicts.RESOLVE_CONFLICT,
    SubmitInspection: submit.SUBMIT_INSPECTION,
    CreateImprovement: improvement.CREATE_IMPROVEMENT,
    SetImprovementField: improvement.SET_IMPROVEMENT_FIELD,
    SetImprovementStatus: improvement.SET_IMPROVEMENT_STATUS,
    AttachImprovementPhoto: improvement.ATTACH_IMPROVEMENT_PHOTO,
}

REGISTER_KINDS: tuple[RegisterKind, ...] = (
    photos.CAPTIONS,
    improvement.IMPROVEMENT_FIELDS,
)
