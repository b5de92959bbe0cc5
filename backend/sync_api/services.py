"""The backend side of the sync seams: the standard's rules (from the stored or shipped standard JSON), the
caller's scope, and the "is this blob stored" lookup. ``sync`` defines the protocols; this fills them in.
What a push leaves for others to do once it committed (flags naming a removed photo) is started here too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from backend.accounts.services import CallerChanged, invalid_token, token_check, user_name_rows
from backend.audit.services import append_onto, chain_lock, record_many
from backend.db import current_engine, push_tx, read_tx, write_tx
from backend.evidence.services import refresh_after_removal, refresh_for_blob
from backend.guards import AuthUser
from backend.hooks import Hooks
from backend.inspections.scope import (
    inspector_scope,
    resolvable_inspection_ids,
    visible_inspection_ids,
    writable_inspection_ids,
)
from backend.registry.services import facility_rows
from backend.sync_api.rules import STANDARD_RULES
from media.uploads import arrived_blobs_held, blob_state, received_blobs, stored_blobs_held
from sync.api import (
    AuditEntry,
    AuditHook,
    Caller,
    CallerCheck,
    CallerSource,
    PullContext,
    PushContext,
    WithWrites,
    push,
    record_capture_facts,
)
from sync.mutations import AddPhoto, RemovePhoto, SubmitInspection
from sync.protocol import Limits, PushResponse

REMOVE_PHOTO = f"sync.{RemovePhoto.__struct_config__.tag}"  # the audit action of an applied removePhoto
ADD_PHOTO = f"sync.{AddPhoto.__struct_config__.tag}"  # the audit action of an addPhoto
SUBMIT = f"sync.{SubmitInspection.__struct_config__.tag}"  # the audit action of an applied submit


async def caller_for(user: AuthUser, *, with_readable: bool, with_writable: bool) -> Caller:
    """The caller with what they may read and change (scope rules of backend/inspections/scope.py)."""
    readable: frozenset[Any] | None = frozenset()
    writable: frozenset[Any] | None = frozenset()
    if with_readable:
        visible = await visible_inspection_ids(user)
        readable = None if visible is None else frozenset(visible)
    resolvable: frozenset[Any] | None = None
    if with_writable:
        writable = await writable_inspection_ids(user)
        resolvable = await resolvable_inspection_ids(user)
    return Caller(
        user_id=user.id, role=user.role, readable=readable, writable=writable, resolvable=resolvable
    )


def caller_source(user: AuthUser, *, with_readable: bool, with_writable: bool) -> CallerSource:
    """What the sync engine resolves the caller from, inside its transaction: an inspector's scope as a statement
    (``inspector_scope``: on PostgreSQL read together with the engine's own first reads), else
    :func:`caller_for`."""
    query = inspector_scope(user, readable=with_readable, writable=with_writable)
    if query is not None:
        return query

    async def caller() -> Caller:
        return await caller_for(user, with_readable=with_readable, with_writable=with_writable)

    return caller


T = TypeVar("T")
# runs one sync request as this user, with the token's check for its first statement
AsUser = Callable[[AuthUser, CallerCheck], Awaitable[T]]
# runs after the first as the account the token's check found, should it change once more in between
RUNS_AS_CHANGED = 2


async def as_token_holder(user: AuthUser, token: str, run: AsUser[T]) -> T:
    """A sync request run as ``user`` (the middleware's, maybe from a stale cache entry) with the bearer token
    checked in the request's own first statement (``token_check``: refused there, nothing is applied or read).
    When the account's role, facility or region changed, the request runs again as the account now is: the
    device is not signed out for its new scope."""
    for _ in range(1 + RUNS_AS_CHANGED):
        try:
            return await run(user, token_check(token, user))
        except CallerChanged as changed:
            user = changed.user
    raise invalid_token()  # changed under every run: let the device sign in again


def push_context(
    *,
    audit: AuditHook,
    max_mutations: int,
    with_writes: Callable[[list[AuditEntry]], WithWrites | None] | None = None,
) -> PushContext:
    """What a push needs from the backend: the database, its write transaction, the standards' rules, the audit
    log (``audit`` appends inside the push's transaction, unless ``with_writes`` appended in the push's write
    statement) and the "which blobs are stored" lookup."""
    return PushContext(
        engine=current_engine(),
        transaction=push_tx,
        rules=STANDARD_RULES,
        audit=audit,
        blobs_stored=stored_blobs_held,
        blobs_arrived=arrived_blobs_held,
        max_mutations=max_mutations,
        lock_first=chain_lock,
        with_writes=with_writes,
    )


def pull_context(*, hooks: Hooks, limits: Limits, page_size: int | None = None) -> PullContext:
    """What a pull needs from the backend: the database and the rows of the backend's own tables it sends
    (facilities from the registry, the returns' opinions from the programme, through ``hooks``, the names of
    the accounts that wrote a conflict's candidates)."""
    extra: dict[str, Any] = {} if page_size is None else {"page_size": page_size}
    return PullContext(
        engine=current_engine(),
        limits=limits,
        facilities=facility_rows,
        opinions=hooks.inspection_opinions,
        users=user_name_rows,
        transaction=read_tx,
        **extra,
    )


async def push_and_refresh(
    body: bytes,
    *,
    caller: CallerSource,
    max_mutations: int,
    on_submit: Callable[[list[UUID]], Awaitable[None]] | None = None,
    check: CallerCheck | None = None,
) -> PushResponse:
    """One push (the sync engine, audited in its transaction; the inspections it submitted handed to
    ``on_submit`` in that same transaction); then, once it committed, the evidence flags of the near duplicates
    of the photos it removed are recomputed, so none points at a removed photo."""
    removed: set[UUID] = set()
    added: set[str] = set()

    appended = False

    def with_writes(entries: list[AuditEntry]) -> WithWrites | None:
        # PostgreSQL: the entries appended in the push's write statement (its first took the chain's lock)
        nonlocal appended
        appending = append_onto(entries)
        appended = appending is not None
        return appending

    async def audit(entries: list[AuditEntry]) -> None:
        # called by the push after its write statement (its first took the client's chain lock: lock_first)
        if not appended:
            await record_many(entries, locked=True)
        submitted = [
            UUID(e.entity.removeprefix("inspection/"))
            for e in entries
            if e.action == SUBMIT and e.entity.startswith("inspection/")
        ]
        if submitted and on_submit is not None:
            await on_submit(submitted)
        added.update(
            str(e.details["sha256"]) for e in entries if e.action == ADD_PHOTO and "sha256" in e.details
        )
        # an applied removal is audited on the photo (a removal that changed nothing, on the mutation)
        removed.update(
            UUID(e.entity.removeprefix("photo/"))
            for e in entries
            if e.action == REMOVE_PHOTO and e.entity.startswith("photo/")
        )

    ctx = push_context(audit=audit, max_mutations=max_mutations, with_writes=with_writes)
    response = await push(body, caller=caller, ctx=ctx, check=check)
    if removed:
        await refresh_after_removal(sorted(removed, key=str))
    # a photo of bytes the server already received joins them now: their EXIF facts, its flags and reuse
    # (bytes still to come: the upload's after_blob_received and the worker's after_blob_derived do it)
    for sha256_hex in sorted(added & await received_blobs(added)):
        await link_blob_facts(sha256_hex)
        await refresh_for_blob(sha256_hex)
    return response


async def after_blob_received(sha256_hex: str) -> None:
    """Once per blob, when its last byte arrived and matched (the upload that completed it): its EXIF facts
    onto its photos, so a submit counts them at once. Not for a holder proving bytes the server has."""
    await link_blob_facts(sha256_hex)


async def after_blob_derived(sha256_hex: str) -> None:
    """Once per blob, when the worker made its derivatives and perceptual hash (``MediaWorker.on_blob``): the
    evidence flags and the reuse at another facility of its photos and of their near duplicates."""
    await refresh_for_blob(sha256_hex)


async def link_blob_facts(sha256_hex: str) -> None:
    """Hand a blob's EXIF capture time and GPS to the sync engine, for the photos of those bytes."""
    blob = await blob_state(sha256_hex)
    if blob is None or blob["state"] == "rejected":
        return
    await record_capture_facts(
        sha256_hex,
        capture_time=blob["capture_time"],
        capture_local=blob["capture_local"],
        gps_lat=blob["gps_lat"],
        gps_lon=blob["gps_lon"],
        transaction=write_tx,
    )
