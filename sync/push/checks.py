"""The checks every mutation goes through before it changes anything: the inspection it targets (exists,
in the caller's scope, open for edits), the standard and the item, text length. A failed check raises
:class:`Rejected`, which consumes that mutation only (:mod:`sync.push.transaction`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sync import policy
from sync.context import ItemRules
from sync.mutations import Mutation
from sync.push.batch import InspectionRow, PushBatch

MAX_TEXT = 20_000


class Rejected(Exception):
    def __init__(self, reason: str, detail: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.params = params


def target_inspection(
    batch: PushBatch, m: Mutation, target: UUID | None, *, editing: bool = True
) -> InspectionRow:
    """The locked inspection ``m`` changes. ``target`` is the mutator's answer (``None``: the note, photo
    or conflict named does not exist); ``editing=False`` skips the "edits are closed" check (submit)."""
    if target is None:
        raise Rejected("unknown_target", "the note, photo or conflict named does not exist")
    declared = getattr(m.args, "inspection_id", None)
    if not batch.caller.can_write(target):
        if declared == target:  # the caller's own words
            raise Rejected("out_of_scope", f"inspection {target} is outside what you may change")
        # a note, photo or conflict of someone else's inspection: which one is not the caller's to learn
        raise Rejected("out_of_scope", "the note, photo or conflict named is outside what you may change")
    if declared is not None and declared is not target and declared != target:
        raise Rejected("wrong_inspection", f"that belongs to inspection {target}, not {declared}")
    inspection = batch.inspections.get(target)
    if inspection is None:
        raise Rejected("unknown_inspection", f"inspection {target} does not exist")
    refusal = policy.edit_refusal(inspection.status)
    if refusal and editing:
        raise Rejected(refusal, f"inspection {target} is {inspection.status}; edits are closed")
    return inspection


def standard_rules(batch: PushBatch, inspection: InspectionRow) -> ItemRules:
    rules = batch.rules.get(inspection.standard_id)
    if rules is None:
        raise Rejected("unknown_standard", f"standard {inspection.standard_id} is not known to this server")
    return rules


def item_rules(batch: PushBatch, inspection: InspectionRow, item_code: str) -> ItemRules:
    rules = standard_rules(batch, inspection)
    if not rules.has_item(item_code):
        raise Rejected("unknown_item", f"item {item_code!r} is not in standard {inspection.standard_id}")
    return rules


def check_value(rules: ItemRules, item_code: str, field: str, value: object) -> None:
    violation = rules.check_value(item_code, field, value)
    if violation is not None:
        raise Rejected(violation.reason, violation.detail)


def check_text(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise Rejected("too_long", f"text is limited to {MAX_TEXT} characters")
