"""The sync engine's errors: a push or pull refused as a whole (nothing changes). Each carries a stable
problem ``code``, a ``detail`` for people and extra fields; ``backend/errors.py`` maps each class to HTTP."""

from __future__ import annotations

from typing import Any, ClassVar


class SyncError(Exception):
    code: ClassVar[str] = "sync_refused"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.extra = extra


class ProtocolError(SyncError):
    """A malformed envelope or request."""

    code = "malformed_envelope"


class TooManyMutations(SyncError):
    """More mutations than a push may carry."""

    code = "too_many_mutations"


class MutationGap(SyncError):
    """The push skips mutation ids the server has not seen."""

    code = "mutation_gap"


class ClientNotYours(SyncError):
    """The client id belongs to another user."""

    code = "client_not_yours"


class ClientGroupMismatch(SyncError):
    """The client id belongs to another client group."""

    code = "client_group_mismatch"
