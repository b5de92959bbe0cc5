"""The one mutable object of a push: :class:`PushBatch` holds the rows read under the inspection locks
(:mod:`sync.push.load`), what the mutators changed (dirty sets, written by :mod:`sync.push.write`) and the
audit entries. Mutators change it only through the rows and the few methods here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sync.context import AuditEntry, Caller, ItemRules, PushContext
from sync.mutations import Mutation, MutationResult
from sync.policy import ConflictState, Register, Write
from sync.sql import Sql


def caption_key(photo_id: UUID) -> str:
    return f"caption/{photo_id}"


@dataclass(slots=True)
class InspectionRow:
    id: UUID
    version: int
    status: str
    standard_id: str
    submitted_at: datetime | None = None
    dirty: bool = False
    # the start of its answer register keys (formatting a UUID is slow, and a push makes one key per mutation)
    key_prefix: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.key_prefix = f"{self.id}/"

    def answer_key(self, item_code: str, field: str) -> str:
        return f"{self.key_prefix}{item_code}/{field}"


@dataclass(slots=True)
class RegisterRow:
    key: str
    inspection_id: UUID
    item_code: str
    field: str
    state: Register


@dataclass(slots=True)
class NoteRow:
    id: UUID
    inspection_id: UUID
    item_code: str
    author_id: UUID
    text: str
    version: int
    client_id: str
    hlc: str
    mutation_id: int
    deleted: bool = False


@dataclass(slots=True)
class PhotoRow:
    id: UUID
    inspection_id: UUID
    item_code: str
    requirement_id: str | None
    sha256: str
    size: int
    mime: str
    taken_at: str | None
    caption: str
    caption_version: int
    deleted: bool
    version: int
    add_version: int
    created_by: UUID | None
    client_id: str
    is_new: bool = False


@dataclass(slots=True)
class ImprovementRow:
    """An improvement plan item (``improvement_item``); ``field_versions`` are its registers' versions."""

    id: UUID
    inspection_id: UUID
    facility_id: UUID
    round_id: UUID
    item_code: str
    requirement_id: str | None
    gap: str
    kind: str
    owner: str
    due_date: str | None
    status: str
    photo_ids: list[str]
    grade_before: Any
    done_version: int
    field_versions: dict[str, int]
    version: int
    created_by: UUID | None
    client_id: str
    status_changed_at: datetime | None = None
    is_new: bool = False


@dataclass(slots=True, frozen=True)
class PlanInspection:
    """What an improvement plan needs of its inspection: only a self-assessment carries a plan."""

    stage: str
    facility_id: UUID
    round_id: UUID


def improvement_register_key(improvement_id: UUID | str, field: str) -> str:
    return f"improvement/{improvement_id}/{field}"


@dataclass(slots=True)
class Wanted:
    """What the mutations of a push name, so that :mod:`sync.push.load` reads it with one query per table."""

    notes: set[UUID] = field(default_factory=set)
    photos: set[UUID] = field(default_factory=set)
    conflicts: set[UUID] = field(default_factory=set)
    # (inspection, item code, field) of answer registers
    answers: set[tuple[UUID, str, str]] = field(default_factory=set)
    captions: set[UUID] = field(default_factory=set)
    shas: set[str] = field(default_factory=set)
    improvements: set[UUID] = field(default_factory=set)
    # (improvement, field) of improvement registers
    improvement_fields: set[tuple[UUID, str]] = field(default_factory=set)
    # inspections a new improvement is created on (their stage, facility and round are read)
    plans: set[UUID] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class RowKind:
    """A synced row kind of a push: its table, the ids of it the mutations name (``Wanted.<rows>``), the rows
    read (``PushBatch.<rows>``) and the changed ones (``PushBatch.<dirty>``). :mod:`sync.push.load` and
    :mod:`sync.push.write` iterate over :data:`ROW_KINDS`."""

    name: str
    table: str
    rows: str
    dirty: str


ROW_KINDS = (
    RowKind(name="note", table="note_entry", rows="notes", dirty="dirty_notes"),
    RowKind(name="photo", table="photo", rows="photos", dirty="dirty_photos"),
    RowKind(name="conflict", table="sync_conflict", rows="conflicts", dirty="dirty_conflicts"),
    RowKind(name="improvement", table="improvement_item", rows="improvements", dirty="dirty_improvements"),
)


@dataclass(frozen=True, slots=True)
class RegisterKind:
    """Registers a row of their own carries, keyed ``<prefix><row id>[/<field>]`` (a photo's caption, an
    improvement item's fields): a conflict on one loads that row (``rows``, a :class:`RowKind`'s), and a
    changed one moves it (``follow``). Declared by the family's mutator module, listed in
    ``sync.push.mutators.REGISTER_KINDS``; answers (keyed by inspection id) are the default kind."""

    prefix: str
    rows: str
    follow: Callable[[PushBatch, RegisterRow], None]

    def row_id(self, key: str) -> UUID:
        return UUID(key[len(self.prefix) :].split("/", 1)[0])


@dataclass
class PushBatch:
    sql: Sql
    caller: Caller
    client_id: str
    ctx: PushContext
    # the register kinds of the mutation families (sync.push.mutators.REGISTER_KINDS), handed in
    register_kinds: tuple[RegisterKind, ...]
    inspections: dict[UUID, InspectionRow] = field(default_factory=dict)
    rules: dict[str, ItemRules | None] = field(default_factory=dict)
    registers: dict[str, RegisterRow] = field(default_factory=dict)
    conflicts: dict[UUID, ConflictState] = field(default_factory=dict)
    notes: dict[UUID, NoteRow] = field(default_factory=dict)
    photos: dict[UUID, PhotoRow] = field(default_factory=dict)
    stored_blobs: set[str] = field(default_factory=set)
    improvements: dict[UUID, ImprovementRow] = field(default_factory=dict)
    plan_inspections: dict[UUID, PlanInspection] = field(default_factory=dict)
    dirty_registers: set[str] = field(default_factory=set)
    dirty_conflicts: set[UUID] = field(default_factory=set)
    dirty_notes: set[UUID] = field(default_factory=set)
    dirty_photos: set[UUID] = field(default_factory=set)
    dirty_improvements: set[UUID] = field(default_factory=set)
    audit: list[AuditEntry] = field(default_factory=list)
    # inspection of each note/photo/conflict/improvement named without its inspection id
    owners: dict[UUID, UUID] = field(default_factory=dict)
    # the caller's id as the audit log writes it (once per push, not once per mutation)
    user_text: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.user_text = str(self.caller.user_id)

    def register_kind(self, key: str) -> RegisterKind | None:
        return next((k for k in self.register_kinds if key.startswith(k.prefix)), None)

    @staticmethod
    def bump(inspection: InspectionRow) -> int:
        """The inspection's next version, for a change made now."""
        inspection.version += 1
        inspection.dirty = True
        return inspection.version

    def write(self, m: Mutation, value: Any, base_version: int) -> Write:
        return Write(
            value=value,
            base_version=base_version,
            user_id=self.caller.user_id,
            client_id=self.client_id,
            hlc=m.hlc,
            mutation_id=m.id,
        )

    def log(self, m: Mutation, entity: str, details: dict[str, Any]) -> None:
        self.audit.append(
            AuditEntry(
                user_id=self.user_text,
                client_id=self.client_id,
                action=f"sync.{type(m).__struct_config__.tag}",
                entity=entity,
                details=details,
                hlc=m.hlc or None,
                mutation_id=m.id,
            )
        )

    def log_rejected(self, result: MutationResult, hlc: str, name: Any) -> None:
        self.audit.append(
            AuditEntry(
                user_id=self.user_text,
                client_id=self.client_id,
                action="sync.rejected",
                entity=f"mutation/{self.client_id}/{result.id}",
                details={"name": name, "reason": result.reason},
                hlc=hlc or None,
                mutation_id=result.id,
            )
        )
