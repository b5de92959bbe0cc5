"""What the backend passes into the sync engine: who calls, what they may touch, the standard's rules and
the hooks for audit and stored blobs (:class:`PushContext`). ``sync`` never imports ``backend``; these are the seams."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import msgspec
from piccolo.engine.base import Engine


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller. ``None`` for a set means every inspection (admin)."""

    user_id: UUID
    role: str
    readable: frozenset[UUID] | None
    writable: frozenset[UUID] | None
    # inspections whose conflicts the caller may resolve; ``None``: wherever they may write (a clinic account
    # other than its facility's designated staff member resolves none)
    resolvable: frozenset[UUID] | None = None

    def can_read(self, inspection_id: UUID) -> bool:
        return self.readable is None or inspection_id in self.readable

    def can_write(self, inspection_id: UUID) -> bool:
        return self.writable is None or inspection_id in self.writable

    def can_resolve(self, inspection_id: UUID) -> bool:
        return self.can_write(inspection_id) and (self.resolvable is None or inspection_id in self.resolvable)


class Violation(msgspec.Struct, frozen=True):
    """Why a value is refused: ``reason`` is a stable code, ``detail`` a human sentence."""

    reason: str
    detail: str


# (prerequisites not answered, items not answered, number of items, why answers do not fit the standard,
# the item codes of the answers that do not fit)
AnswerGapsTuple = tuple[tuple[str, ...], tuple[str, ...], int, str | None, tuple[str, ...]]


class ChecklistRater(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    code: str
    label: str
    # an item code whose answer (one overall score) stands for each of this rater's articles; ``None``: none
    overall: str | None = None


class ChecklistArticle(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """One article as a submit judges it: the item code its answer is stored under, per rater (key ``""`` when
    the standard has no raters), and its minimums of photos and documents (an N/A answer exempts it)."""

    number: str
    items: dict[str, str]
    min_photos: int = 0
    min_documents: int = 0
    # what a photo must carry to count toward min_photos
    require_capture_time: bool = False
    require_location: bool = False


class Checklist(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """A standard's submit rules resolved into plain data (``ItemRules.checklist``), sent to the app ready made:
    it counts against it offline and knows no rule itself. Every code listed must be answered (N/A counts)."""

    standard_id: str
    # the answer an article takes: a grade ("graded"), pass / fail ("passfail") or points ("points")
    answer_kind: str
    grades: list[str]  # best first
    raters: list[ChecklistRater]
    prerequisites: list[str]
    vetoes: list[str]  # one-vote veto items a submit requires answered
    articles: list[ChecklistArticle]
    # evidence of these types (mime → format name) is a document: it counts toward min_documents, never
    # toward min_photos
    document_types: dict[str, str]


class ItemRules(Protocol):
    """The rules of one standard version, answered without I/O."""

    def has_item(self, item_code: str) -> bool: ...

    def check_value(self, item_code: str, field: str, value: Any) -> Violation | None: ...

    def min_photos(self) -> Mapping[str, int]:
        """Minimum photos per item code (items needing none may be left out)."""
        ...

    def min_documents(self) -> Mapping[str, int]:
        """Minimum documents (PDF/DOCX/XLSX ledgers) per item code (items needing none may be left out)."""
        ...

    def improvement_kinds(self) -> Sequence[str]:
        """The improvement plan's kinds the programme's settings name (``improvementListKinds``), beside the
        protocol's own codes; empty when the settings name none."""
        ...

    def photo_requirements(self) -> Mapping[str, tuple[bool, bool]]:
        """Item code → (capture time required, location required) of the photos that count toward its minimum."""
        ...

    def answer_gaps(self, items: Mapping[str, Any]) -> AnswerGapsTuple:
        """What a submit still lacks, from item code → current answer (``"NA"`` for an item marked N/A):
        (prerequisites not answered, items not answered, how many items there are, why the answers do not fit
        the standard in the engine's words or ``None``, the items whose answers do not fit);
        ``sync.policy.AnswerGaps`` reads it. Items are named by the codes their answers are stored under (a
        rater's checklist answer ``rater:article``; a rater with no answer at all, or whose overall score does
        not fit, by its own code)."""
        ...

    def checklist(self) -> Checklist:
        """The rules a submit applies, as data (computed with ``answer_gaps``'s own function)."""
        ...


class StandardRules(Protocol):
    async def for_standard(self, standard_id: str) -> ItemRules | None:
        """The rules of a standard version; ``None`` when it is unknown."""
        ...


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    client_id: str
    action: str
    entity: str
    details: dict[str, Any]
    hlc: str | None
    mutation_id: int


# Appends entries inside the caller's write transaction (keeps the audit hash chain).
AuditHook = Callable[[list[AuditEntry]], Awaitable[None]]
# Of these sha256 digests, which blobs are already stored *and* held by this user (who proved possession by
# uploading them once): the others need an upload (issue 21: knowing a hash is no right to read).
BlobsStored = Callable[[Collection[str], UUID], Awaitable[set[str]]]
# Of these sha256 digests, which files have arrived whole (verified, not refused) *and* are held by this user:
# a ledger (document) counts toward its article's minimum only then (submit).
BlobsArrived = Callable[[Collection[str], UUID], Awaitable[set[str]]]
# Opens the one write transaction of a push (BEGIN IMMEDIATE on SQLite).
TransactionFactory = Callable[[], AbstractAsyncContextManager[Any]]


@dataclass(frozen=True, kw_only=True)
class ScopeQuery:
    """The caller's scope as one statement of the host's, so that the engine can read it in the statement of
    its own first reads (PostgreSQL: the pull's inspections and client ids, the push's client row and
    inspection locks; a round trip less each). ``sql`` (``?`` placeholders) selects at least ``"id"``: the
    inspections in scope before ``finish``'s own filter; ``finish`` makes the caller of its rows (on PostgreSQL
    handed over as JSON: UUIDs as text, JSON columns decoded)."""

    user_id: UUID
    sql: str
    args: list[Any]
    finish: Callable[[list[dict[str, Any]]], Caller]


@dataclass(frozen=True, kw_only=True)
class CallerCheck:
    """The host's check that the caller still holds its credential (its bearer token not revoked, expired or
    changed), read as one column of a statement the engine runs anyway (the push's client row and locks; the
    pull's first reads on PostgreSQL, on SQLite a statement of its read transaction): no round trip of its own,
    and it sees what committed before that statement. ``sql`` (``?`` placeholders) is a scalar subquery;
    ``settle`` gets its value before the engine uses anything else it read, and raises to refuse the request:
    the push's transaction (or savepoint) then rolls back, the pull answers nothing."""

    sql: str
    args: list[Any]
    settle: Callable[[Any], None]

    @property
    def column(self) -> str:
        return f'({self.sql}) AS "check"'


# The caller, or a function that reads it inside the push's transaction (scope read under the same locks), or
# the statement that reads it (:class:`ScopeQuery`).
CallerSource = Caller | Callable[[], Awaitable[Caller]] | ScopeQuery
# Runs one statement (``?`` placeholders) on the open transaction's connection (``sync.sql.Sql.fetch``).
Fetch = Callable[[str, Sequence[Any]], Awaitable[list[dict[str, Any]]]]


async def resolve_caller(caller: CallerSource, fetch: Fetch) -> Caller:
    if isinstance(caller, Caller):
        return caller
    if isinstance(caller, ScopeQuery):
        return caller.finish(await fetch(caller.sql, caller.args))
    return await caller()


class WithWrites(Protocol):
    """A host's statement run as the last part of the push's write statement (``?`` placeholders; it may be a
    ``WITH`` query), then :meth:`finish` with the one row it answered."""

    @property
    def statement(self) -> tuple[str, list[Any]]: ...

    async def finish(self, found: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, kw_only=True)
class PushContext:
    """Everything a push needs from its host: the database, the standard's rules and the hooks."""

    engine: Engine[Any]
    transaction: TransactionFactory
    rules: StandardRules
    audit: AuditHook
    blobs_stored: BlobsStored
    blobs_arrived: BlobsArrived
    max_mutations: int = 500
    # how many recent results a client keeps, so a retried push gets the very same answer
    results_window: int = 1000
    # PostgreSQL: an expression of the host's (``?`` placeholders) for the pushing client id, evaluated in the
    # push's first statement after its row locks (no round trip of its own): the lock of that client's audit
    # chain, held from there to COMMIT, so that ``with_writes`` and ``audit`` find it held
    lock_first: Callable[[str], tuple[str, list[Any]] | None] | None = None
    # PostgreSQL: the host's statement for the push's audit entries, run as the last part of its write
    # statement (no round trip of its own; after the lock, in a later statement, so on a snapshot that sees
    # every append before it); ``audit`` is still called after it, for the rest of its work
    with_writes: Callable[[list[AuditEntry]], WithWrites | None] | None = None
