"""What the backend calls: push and pull, the contexts it fills in, and the errors it maps to HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from piccolo.engine.base import Engine

from sync import lifecycle
from sync.context import (
    AnswerGapsTuple,
    AuditEntry,
    AuditHook,
    BlobsArrived,
    Caller,
    CallerCheck,
    CallerSource,
    Checklist,
    ChecklistArticle,
    ChecklistRater,
    ItemRules,
    PushContext,
    ScopeQuery,
    StandardRules,
    Violation,
    WithWrites,
)
from sync.errors import (
    ClientGroupMismatch,
    ClientNotYours,
    MutationGap,
    ProtocolError,
    SyncError,
    TooManyMutations,
)
from sync.evidence import (
    NA_ANSWER,
    PAIR_SEPARATOR,
    answer_items,
    answers_by_inspection,
    answers_from_pairs,
    na_marked,
)
from sync.lifecycle import EDITABLE, INITIAL, TEAM_FIXED, Move, Moved, MoveRefused
from sync.mutations import Mutation, MutationResult, ResolveConflict, ResolveConflictArgs
from sync.photo_facts import record_capture_facts, record_flags
from sync.policy import (
    DOCUMENT_MIMES,
    NO_CAPTURE_TIME,
    NO_LOCATION,
    NOT_RECEIVED,
    PhotoFacts,
    PhotoRequirement,
    counting_photos,
    missing_evidence,
    photo_not_counted,
)
from sync.pull import PullContext, pull
from sync.push.handler import apply, push
from sync.readiness import Blocker, Shortfall, SubmitState, read_state
from sync.readiness import assess as assess_submit
from sync.readiness import blockers as submit_blockers
from sync.readiness import shortfalls as submit_shortfalls
from sync.sql import Sql, as_uuid, numbered, rows_json, select_json_rows

__all__ = [
    "DOCUMENT_MIMES",
    "EDITABLE",
    "INITIAL",
    "NA_ANSWER",
    "NOT_RECEIVED",
    "NO_CAPTURE_TIME",
    "NO_LOCATION",
    "PAIR_SEPARATOR",
    "TEAM_FIXED",
    "AnswerGapsTuple",
    "AuditEntry",
    "AuditHook",
    "Blocker",
    "Caller",
    "CallerCheck",
    "CallerSource",
    "Checklist",
    "ChecklistArticle",
    "ChecklistRater",
    "ClientGroupMismatch",
    "ClientNotYours",
    "ItemRules",
    "Move",
    "MoveRefused",
    "Moved",
    "Mutation",
    "MutationGap",
    "MutationResult",
    "PhotoFacts",
    "PhotoRequirement",
    "ProtocolError",
    "PullContext",
    "PushContext",
    "ResolveConflict",
    "ResolveConflictArgs",
    "ScopeQuery",
    "Shortfall",
    "StandardRules",
    "SubmitState",
    "SyncError",
    "TooManyMutations",
    "Violation",
    "WithWrites",
    "answer_items",
    "answers_by_inspection",
    "answers_from_pairs",
    "apply",
    "as_uuid",
    "assess_submit",
    "bump_inspection",
    "counting_photos",
    "lock_inspection",
    "missing_evidence",
    "move_inspection",
    "na_marked",
    "numbered",
    "photo_not_counted",
    "pull",
    "push",
    "read_submit_state",
    "record_capture_facts",
    "record_flags",
    "rows_json",
    "select_json_rows",
    "submit_blockers",
    "submit_shortfalls",
]


async def move_inspection(
    engine: Engine[Any], inspection_id: UUID, to: Move, *, at: datetime | None = None
) -> Moved:
    """The lifecycle's move (sync/lifecycle.py) inside the caller's open write transaction on ``engine``."""
    return await lifecycle.move(Sql(engine), inspection_id, to, at=at)


async def bump_inspection(engine: Engine[Any], inspection_id: UUID) -> int:
    """A new version of the inspection (its devices pull it again), inside the caller's write transaction."""
    return await lifecycle.bump(Sql(engine), inspection_id)


async def lock_inspection(engine: Engine[Any], inspection_id: UUID) -> None:
    """Hold the inspection's row lock (the one a push takes) until the caller's write transaction ends."""
    await lifecycle.lock(Sql(engine), [inspection_id])


async def read_submit_state(
    engine: Engine[Any], inspection_id: UUID, status: str, blobs_arrived: BlobsArrived
) -> SubmitState:
    """What a submit of the inspection would be judged on (``sync.readiness``), read in the caller's open
    transaction on ``engine``: the receipt's blockers are the submit check's own judgement."""
    return await read_state(Sql(engine), inspection_id, status, blobs_arrived)
