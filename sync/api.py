"""What the backend calls: push and pull, the contexts it fills in, and the errors it maps to HTTP."""

from __future__ import annotations

from sync.context import (
    AnswerGapsTuple,
    AuditEntry,
    AuditHook,
    Caller,
    CallerSource,
    ItemRules,
    PushContext,
    StandardRules,
    Violation,
)
from sync.errors import (
    ClientGroupMismatch,
    ClientNotYours,
    MutationGap,
    ProtocolError,
    SyncError,
    TooManyMutations,
)
from sync.evidence import NA_ANSWER, answer_items, na_items, na_marked
from sync.photo_facts import flag_reused, record_capture_facts, record_flags
from sync.policy import (
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
from sync.push.handler import push
from sync.sql import as_uuid

__all__ = [
    "NA_ANSWER",
    "NOT_RECEIVED",
    "NO_CAPTURE_TIME",
    "NO_LOCATION",
    "AnswerGapsTuple",
    "AuditEntry",
    "AuditHook",
    "Caller",
    "CallerSource",
    "ClientGroupMismatch",
    "ClientNotYours",
    "ItemRules",
    "MutationGap",
    "PhotoFacts",
    "PhotoRequirement",
    "ProtocolError",
    "PullContext",
    "PushContext",
    "StandardRules",
    "SyncError",
    "TooManyMutations",
    "Violation",
    "answer_items",
    "as_uuid",
    "counting_photos",
    "flag_reused",
    "missing_evidence",
    "na_items",
    "na_marked",
    "photo_not_counted",
    "pull",
    "push",
    "record_capture_facts",
    "record_flags",
]
