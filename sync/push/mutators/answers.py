"""``setAnswer``: an item's answer value or its N/A flag, a register decided by :mod:`sync.policy`.

This is where a ``setAnswer`` is applied: checks (inspection, item, value) → the register write
(:func:`sync.push.registers.write_register`: apply, same value, or conflict)."""

from __future__ import annotations

from uuid import UUID

from sync.mutations import MutationResult, SetAnswer
from sync.push import checks
from sync.push.batch import PushBatch, Wanted
from sync.push.mutators.base import Mutator, View, named_inspection
from sync.push.registers import register_row, write_register


def answer_key(inspection_id: UUID | str, item_code: str, field: str) -> str:
    """The patch key of an answer register (pull, the client's store)."""
    return f"answer/{inspection_id}/{item_code}/{field}"


def needs(m: SetAnswer, wanted: Wanted) -> None:
    wanted.answers.add((m.args.inspection_id, m.args.item_code, m.args.field))


async def set_answer(batch: PushBatch, m: SetAnswer) -> MutationResult:
    a = m.args
    inspection = checks.target_inspection(batch, m, a.inspection_id)
    checks.check_value(checks.item_rules(batch, inspection, a.item_code), a.item_code, a.field, a.value)
    row = register_row(
        batch, inspection.answer_key(a.item_code, a.field), inspection.id, a.item_code, a.field
    )
    return write_register(batch, m, inspection, row, batch.write(m, a.value, a.base_version))


def replay(view: View, m: SetAnswer) -> None:
    a = m.args
    key = answer_key(a.inspection_id, a.item_code, a.field)
    view[key] = {**view.get(key, {}), "value": a.value, "pending": True}


SET_ANSWER = Mutator(target=named_inspection, needs=needs, apply=set_answer, replay=replay)
