"""Register writes (answer values, N/A flags, the registers a row carries), decided by :mod:`sync.policy`: a write
applies, merges as the same value, opens a conflict or joins the open one. Used by the answer, photo and
conflict mutators."""

from __future__ import annotations

import uuid
from uuid import UUID

from sync import policy
from sync.mutations import Mutation, MutationResult
from sync.policy import Candidate, ConflictState, Outcome, Register, Write
from sync.push.batch import InspectionRow, PushBatch, RegisterRow

# A register that does not exist yet (distinct object, compared by identity).
EMPTY = Register(value=None, version=0, run_start=0, user_id=None, client_id="", hlc="", mutation_id=0)


def register_row(batch: PushBatch, key: str, inspection_id: UUID, item_code: str, field: str) -> RegisterRow:
    """The register ``key``, made (empty) when nobody wrote it yet."""
    row = batch.registers.get(key)
    if row is None:
        row = batch.registers[key] = RegisterRow(key, inspection_id, item_code, field, state=EMPTY)
    return row


def write_register(
    batch: PushBatch, m: Mutation, inspection: InspectionRow, row: RegisterRow, write: Write
) -> MutationResult:
    current = None if row.state is EMPTY else row.state
    outcome = policy.decide(current, write)
    details = {"field": row.field, "item": row.item_code, "value": write.value, "base": write.base_version}
    if outcome is Outcome.APPLY:
        version = batch.bump(inspection)
        row.state = policy.applied(current, write, version)
        register_changed(batch, row)
        batch.log(m, row.key, details)
        return MutationResult(id=m.id, status="applied", version=version)
    assert current is not None
    if outcome is Outcome.SAME:
        return _same_value(batch, m, inspection, row.key, current, write, details)
    version = batch.bump(inspection)
    if outcome is Outcome.CONFLICT_NEW:
        conflict = ConflictState(
            id=uuid.uuid4(),
            inspection_id=inspection.id,
            register_key=row.key,
            item_code=row.item_code,
            field=row.field,
            base_version=write.base_version,
            candidates=[Candidate.of_register(current), Candidate.of_write(write)],
            status="open",
            version=version,
        )
        batch.conflicts[conflict.id] = conflict
        current.conflict_id = conflict.id
        current.version = version
    else:
        assert current.conflict_id is not None
        conflict = batch.conflicts[current.conflict_id]
        conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
        conflict.version = version
        if current.client_id == write.client_id:
            # The provisional value is this device's own: its sequential edit moves it.
            row.state = policy.applied(current, write, version)
        else:
            current.version = version
    batch.dirty_conflicts.add(conflict.id)
    register_changed(batch, row)
    batch.log(m, row.key, details | {"conflict": str(conflict.id)})
    return MutationResult(id=m.id, status="conflict", conflict_id=conflict.id, version=version)


def _same_value(
    batch: PushBatch,
    m: Mutation,
    inspection: InspectionRow,
    key: str,
    current: Register,
    write: Write,
    details: dict[str, object],
) -> MutationResult:
    conflict = batch.conflicts.get(current.conflict_id) if current.conflict_id else None
    version = current.version
    if conflict is not None and any(
        c.client_id == write.client_id and not policy.same_value(c.value, write.value)
        for c in conflict.candidates
    ):
        # This device now agrees with the provisional value: its candidate follows.
        version = batch.bump(inspection)
        conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
        conflict.version = version
        batch.dirty_conflicts.add(conflict.id)
    batch.log(m, key, details | {"merged": "same value"})
    return MutationResult(id=m.id, status="applied", version=version)


def register_changed(batch: PushBatch, row: RegisterRow) -> None:
    """Mark the register for writing; a register a row carries (``RegisterKind``: a family's) also moves
    that row, as its kind says (``PushBatch.register_kinds``): no family's rules here."""
    batch.dirty_registers.add(row.key)
    kind = batch.register_kind(row.key)
    if kind is not None:
        kind.follow(batch, row)
