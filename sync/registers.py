"""The checks every mutation of a push batch goes through (scope, inspection state, standard) and the
register writes: answers, photo captions and conflict resolution, decided by :mod:`sync.policy`."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from sync import policy
from sync.batch import _BatchState, _Inspection, _RegisterRow, caption_key
from sync.context import AuditEntry, ItemRules
from sync.policy import Candidate, ConflictState, Outcome, Register, Write
from sync.protocol import (
    Mutation,
    MutationResult,
    ResolveConflict,
    SetAnswer,
    SetPhotoCaption,
    SubmitInspection,
)

MAX_TEXT = 20_000


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _RegisterWrites(_BatchState):
    # ------------------------------------------------------------------------------------ apply

    def _inspection(self, m: Mutation) -> _Inspection:
        target = self._target(m)
        if target is None:
            raise _Rejected("unknown_target", "the note, photo or conflict named does not exist")
        declared = getattr(m.args, "inspection_id", None)
        if declared is not None and declared is not target and declared != target:
            raise _Rejected("wrong_inspection", f"that belongs to inspection {target}, not {declared}")
        if not self.caller.can_write(target):
            raise _Rejected("out_of_scope", f"inspection {target} is outside what you may change")
        inspection = self.inspections.get(target)
        if inspection is None:
            raise _Rejected("unknown_inspection", f"inspection {target} does not exist")
        refusal = policy.edit_refusal(inspection.status)
        if refusal and not isinstance(m, SubmitInspection):
            raise _Rejected(refusal, f"inspection {target} is {inspection.status}; edits are closed")
        return inspection

    def _rules(self, inspection: _Inspection) -> ItemRules:
        rules = self.rules.get(inspection.standard_id)
        if rules is None:
            raise _Rejected(
                "unknown_standard", f"standard {inspection.standard_id} is not known to this server"
            )
        return rules

    def _item(self, inspection: _Inspection, item_code: str) -> ItemRules:
        rules = self._rules(inspection)
        if not rules.has_item(item_code):
            raise _Rejected("unknown_item", f"item {item_code!r} is not in standard {inspection.standard_id}")
        return rules

    @staticmethod
    def _bump(inspection: _Inspection) -> int:
        inspection.version += 1
        inspection.dirty = True
        return inspection.version

    def _write(self, m: Mutation, value: Any, base_version: int) -> Write:
        return Write(
            value=value,
            base_version=base_version,
            user_id=self.caller.user_id,
            client_id=self.client_id,
            hlc=m.hlc,
            mutation_id=m.id,
        )

    def _log(self, m: Mutation, entity: str, details: dict[str, Any]) -> None:
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

    def _audit_rejected(self, result: MutationResult, hlc: str, name: Any) -> None:
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

    def _set_answer(self, m: SetAnswer) -> MutationResult:
        a = m.args
        inspection = self._inspection(m)
        rules = self._item(inspection, a.item_code)
        violation = rules.check_value(a.item_code, a.field, a.value)
        if violation is not None:
            raise _Rejected(violation.reason, violation.detail)
        key = inspection.answer_key(a.item_code, a.field)
        if key not in self.registers:
            self.registers[key] = _RegisterRow(key, inspection.id, a.item_code, a.field, state=_EMPTY)
        return self._write_register(m, inspection, key, self._write(m, a.value, a.base_version))

    def _write_register(self, m: Mutation, inspection: _Inspection, key: str, write: Write) -> MutationResult:
        row = self.registers[key]
        current = None if row.state is _EMPTY else row.state
        outcome = policy.decide(current, write)
        details = {
            "field": row.field,
            "item": row.item_code,
            "value": write.value,
            "base": write.base_version,
        }
        if outcome is Outcome.APPLY:
            version = self._bump(inspection)
            row.state = policy.applied(current, write, version)
            self._register_changed(row)
            self._log(m, key, details)
            return MutationResult(id=m.id, status="applied", version=version)
        assert current is not None
        if outcome is Outcome.SAME:
            conflict = self.conflicts.get(current.conflict_id) if current.conflict_id else None
            version = current.version
            if conflict is not None and any(
                c.client_id == write.client_id and not policy.same_value(c.value, write.value)
                for c in conflict.candidates
            ):
                # This device now agrees with the provisional value: its candidate follows.
                version = self._bump(inspection)
                conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
                conflict.version = version
                self.dirty_conflicts.add(conflict.id)
            self._log(m, key, details | {"merged": "same value"})
            return MutationResult(id=m.id, status="applied", version=version)
        version = self._bump(inspection)
        if outcome is Outcome.CONFLICT_NEW:
            conflict = ConflictState(
                id=uuid.uuid4(),
                inspection_id=inspection.id,
                register_key=key,
                item_code=row.item_code,
                field=row.field,
                base_version=write.base_version,
                candidates=[Candidate.of_register(current), Candidate.of_write(write)],
                status="open",
                version=version,
            )
            self.conflicts[conflict.id] = conflict
            current.conflict_id = conflict.id
            current.version = version
        else:
            assert current.conflict_id is not None
            conflict = self.conflicts[current.conflict_id]
            conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
            conflict.version = version
            if current.client_id == write.client_id:
                # The provisional value is this device's own: its sequential edit moves it.
                row.state = policy.applied(current, write, version)
            else:
                current.version = version
        self.dirty_conflicts.add(conflict.id)
        self._register_changed(row)
        self._log(m, key, details | {"conflict": str(conflict.id)})
        return MutationResult(id=m.id, status="conflict", conflict_id=conflict.id, version=version)

    def _register_changed(self, row: _RegisterRow) -> None:
        self.dirty_registers.add(row.key)
        if row.field == "caption":
            photo = self.photos[UUID(row.key.removeprefix("caption/"))]
            photo.caption = str(row.state.value or "")
            photo.caption_version = row.state.version
            photo.version = row.state.version
            self.dirty_photos.add(photo.id)

    def _set_caption(self, m: SetPhotoCaption) -> MutationResult:
        inspection = self._inspection(m)
        photo = self.photos.get(m.args.photo_id)
        if photo is None:
            raise _Rejected("unknown_photo", f"photo {m.args.photo_id} does not exist")
        _check_text(m.args.caption)
        key = caption_key(photo.id)
        if key not in self.registers:
            self.registers[key] = _RegisterRow(key, inspection.id, photo.item_code, "caption", state=_EMPTY)
        return self._write_register(m, inspection, key, self._write(m, m.args.caption, m.args.base_version))

    def _resolve(self, m: ResolveConflict) -> MutationResult:
        inspection = self._inspection(m)
        conflict = self.conflicts.get(m.args.conflict_id)
        if conflict is None:
            raise _Rejected("unknown_conflict", f"conflict {m.args.conflict_id} does not exist")
        row = self.registers[conflict.register_key]
        if row.field == "caption":
            if not isinstance(m.args.value, str):
                raise _Rejected("invalid_value", "a caption is text")
            _check_text(m.args.value)
        else:
            violation = self._item(inspection, row.item_code).check_value(
                row.item_code, row.field, m.args.value
            )
            if violation is not None:
                raise _Rejected(violation.reason, violation.detail)
        write = self._write(m, m.args.value, m.args.base_version)
        if conflict.status != "open":
            # Already resolved: this is a plain write on the register, judged by the same policy.
            return self._write_register(m, inspection, row.key, write)
        version = self._bump(inspection)
        details = {"conflict": str(conflict.id), "value": write.value, "base": write.base_version}
        if policy.conflict_is_stale(conflict, write.base_version):
            # The conflict changed after the resolver saw it: their choice joins it, never overwrites.
            conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
            conflict.version = version
            self.dirty_conflicts.add(conflict.id)
            row.state.version = version
            self._register_changed(row)
            self._log(m, row.key, details | {"stale": True})
            return MutationResult(id=m.id, status="conflict", conflict_id=conflict.id, version=version)
        row.state = policy.resolved(write, version)
        conflict.status, conflict.resolution, conflict.resolved_by, conflict.version = (
            "resolved",
            write.value,
            self.caller.user_id,
            version,
        )
        self.dirty_conflicts.add(conflict.id)
        self._register_changed(row)
        self._log(m, row.key, details)
        return MutationResult(id=m.id, status="applied", version=version)


# A register that does not exist yet (distinct object, compared by identity).
_EMPTY = Register(value=None, version=0, run_start=0, user_id=None, client_id="", hlc="", mutation_id=0)


def _check_text(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise _Rejected("too_long", f"text is limited to {MAX_TEXT} characters")
