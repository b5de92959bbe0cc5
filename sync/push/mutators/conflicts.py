"""``resolveConflict``: a person picks the value of a register with an open conflict. A resolution made
before the conflict last changed joins it as a candidate instead of closing it."""

from __future__ import annotations

from uuid import UUID

from sync import policy
from sync.mutations import MutationResult, ResolveConflict
from sync.policy import Candidate
from sync.push import checks
from sync.push.batch import PushBatch, Wanted
from sync.push.checks import Rejected
from sync.push.mutators.base import Mutator, Owners, View, mark_pending
from sync.push.mutators.improvement import check_field
from sync.push.registers import register_changed, write_register


def needs(m: ResolveConflict, wanted: Wanted) -> None:
    wanted.conflicts.add(m.args.conflict_id)


def target(m: ResolveConflict, owners: Owners) -> UUID | None:
    return owners.get(m.args.conflict_id, m.args.inspection_id)


async def resolve_conflict(batch: PushBatch, m: ResolveConflict) -> MutationResult:
    conflict = batch.conflicts.get(m.args.conflict_id)
    # an improvement plan stays editable after its self-assessment is submitted (docs/improvement.md)
    plan = conflict is not None and conflict.register_key.startswith("improvement/")
    inspection = checks.target_inspection(batch, m, target(m, batch.owners), editing=not plan)
    if conflict is None:
        raise Rejected("unknown_conflict", f"conflict {m.args.conflict_id} does not exist")
    if not batch.caller.can_resolve(inspection.id):
        # a clinic's conflicts are decided by the staff member its facility designated (or the office)
        raise Rejected("not_designated_resolver", "your facility designated another staff member to resolve")
    row = batch.registers[conflict.register_key]
    value = m.args.value
    if plan:
        if value is not None and not isinstance(value, str):
            raise Rejected("invalid_value", "an improvement field is text")
        value = check_field(row.field, value)
    elif row.field == "caption":
        if not isinstance(m.args.value, str):
            raise Rejected("invalid_value", "a caption is text")
        checks.check_text(m.args.value)
    else:
        rules = checks.item_rules(batch, inspection, row.item_code)
        checks.check_value(rules, row.item_code, row.field, m.args.value)
    write = batch.write(m, value, m.args.base_version)
    if conflict.status != "open":
        # Already resolved: this is a plain write on the register, judged by the same policy.
        return write_register(batch, m, inspection, row, write)
    version = batch.bump(inspection)
    details = {"conflict": str(conflict.id), "value": write.value, "base": write.base_version}
    if policy.conflict_is_stale(conflict, write.base_version):
        # The conflict changed after the resolver saw it: their choice joins it, never overwrites.
        conflict.candidates = policy.put_candidate(conflict.candidates, Candidate.of_write(write))
        conflict.version = version
        batch.dirty_conflicts.add(conflict.id)
        row.state.version = version
        register_changed(batch, row)
        batch.log(m, row.key, details | {"stale": True})
        return MutationResult(id=m.id, status="conflict", conflict_id=conflict.id, version=version)
    row.state = policy.resolved(write, version)
    conflict.status, conflict.resolution, conflict.resolved_by, conflict.version = (
        "resolved",
        write.value,
        batch.caller.user_id,
        version,
    )
    batch.dirty_conflicts.add(conflict.id)
    register_changed(batch, row)
    batch.log(m, row.key, details)
    return MutationResult(id=m.id, status="applied", version=version)


def replay(view: View, m: ResolveConflict) -> None:
    mark_pending(view, f"conflict/{m.args.conflict_id}", {"status": "resolved", "resolution": m.args.value})


RESOLVE_CONFLICT = Mutator(target=target, needs=needs, apply=resolve_conflict, replay=replay)
