"""What the backend calls: push and pull, the contexts it fills in, and the errors it maps to HTTP."""

from __future__ import annotations

from sync.context import (
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
from sync.evidence import na_items, na_marked
from sync.photo_facts import flag_reused, record_capture_facts, record_flags
from sync.policy import missing_evidence
from sync.pull import PullContext, pull
from sync.push.handler import push
from sync.sql import as_uuid

__all__ = [
    "AuditEntry",
    "AuditHook",
    "Caller",
    "CallerSource",
    "ClientGroupMismatch",
    "ClientNotYours",
    "ItemRules",
    "MutationGap",
    "ProtocolError",
    "PullContext",
    "PushContext",
    "StandardRules",
    "SyncError",
    "TooManyMutations",
    "Violation",
    "as_uuid",
    "flag_reused",
    "missing_evidence",
    "na_items",
    "na_marked",
    "pull",
    "push",
    "record_capture_facts",
    "record_flags",
]
