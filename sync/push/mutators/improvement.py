"""The clinic's improvement plan (docs/improvement.md): ``createImprovement``, ``setImprovementField``,
``setImprovementStatus`` and ``attachImprovementPhoto``.

An item lives on the clinic's self-assessment inspection (its lock, its version counter, its scope), so pull
delivers it to whoever reads that inspection. The plan stays open after the self-assessment is submitted: the
fixes go on while the application is reviewed. The text fields (gap, kind, owner, due date) are registers with
the answers' conflict rule; the status is a server state machine whose every change is audited; photos of
the fix are ordinary ``addPhoto`` photos of the same inspection and article, linked to the item (add-wins)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from uuid import UUID

from sync.mutations import (
    AttachImprovementPhoto,
    CreateImprovement,
    MutationResult,
    SetImprovementField,
    SetImprovementStatus,
)
from sync.push import checks
from sync.push.batch import (
    ImprovementRow,
    InspectionRow,
    PushBatch,
    RegisterKind,
    RegisterRow,
    Wanted,
    improvement_register_key,
)
from sync.push.checks import Rejected
from sync.push.mutators.base import Mutator, Owners, View, mark_pending, named_inspection
from sync.push.registers import register_row, write_register

KINDS = frozenset({"soon", "continuous", "needs_support"})
# the seed's words for the protocol's kinds (docs/improvement.md): a programme naming its kinds so has them
# stored as the codes, so the plan, its report and the dashboards read one kind, not two
CODE_OF_LABEL = {"近期能够实现": "soon", "持续改进": "continuous", "需要政府或部门支持": "needs_support"}
MAX_OWNER = 200
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# status -> the statuses it may move to (the same status again is a no-op, never refused)
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "done", "needs_support"}),
    "in_progress": frozenset({"open", "done", "needs_support"}),
    "needs_support": frozenset({"open", "in_progress", "done"}),
    "done": frozenset({"in_progress"}),  # reopened when the fix did not hold
}


def transition_refusal(kind: str, current: str, new: str) -> str | None:
    """Why ``current → new`` is refused for an item of ``kind`` (``None``: allowed). Pure."""
    if new == current:
        return None
    if new == "needs_support" and kind != "needs_support":
        return "only an item of kind needs_support (需要政府或部门支持) may wait for support"
    if new not in TRANSITIONS.get(current, frozenset()):
        return f"an item that is {current} cannot become {new}"
    return None


def check_kind(value: str | None, kinds: Sequence[str] = ()) -> str:
    """The kind stored: one of the protocol's codes, or one of ``kinds`` (the programme's settings, its
    labels of the codes stored as the codes), or :class:`Rejected` (``unknown_improvement_kind``)."""
    value = (value or "").strip()
    if value in KINDS:
        return value
    if value in kinds:
        return CODE_OF_LABEL.get(value, value)
    named = [*sorted(KINDS), *kinds]
    raise Rejected("unknown_improvement_kind", f"kind {value!r} is not one of {named}")


def check_field(field: str, value: str | None, kinds: Sequence[str] = ()) -> str | None:
    """The value an improvement field register stores (normalised), or :class:`Rejected`; ``kinds``: the
    programme's improvement kinds (``check_kind``)."""
    if field == "gap":
        text = (value or "").strip()
        if not text:
            raise Rejected("invalid_value", "the gap (差距) must be described in words")
        checks.check_text(text)
        return text
    if field == "kind":
        return check_kind(value, kinds)
    if field == "owner":
        text = (value or "").strip()
        if len(text) > MAX_OWNER:
            raise Rejected("too_long", f"the owner is limited to {MAX_OWNER} characters")
        return text
    # dueDate: an ISO date, or cleared
    if value is None or value == "":
        return None
    if not DATE.fullmatch(value):
        raise Rejected("invalid_value", "dueDate is a date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise Rejected("invalid_value", f"{value!r} is not a calendar date") from None
    return value


def _plan_inspection(batch: PushBatch, m: CreateImprovement) -> InspectionRow:
    # The plan stays editable after the self-assessment is submitted (editing=False): fixes go on.
    inspection = checks.target_inspection(batch, m, m.args.inspection_id, editing=False)
    plan = batch.plan_inspections.get(inspection.id)
    if plan is None or plan.stage != "self":
        raise Rejected("not_self_assessment", "an improvement plan belongs to a self-assessment (自评)")
    return inspection


def _kinds(batch: PushBatch, inspection: InspectionRow) -> Sequence[str]:
    """The improvement kinds the inspection's programme settings name (none when its standard is unknown)."""
    rules = batch.rules.get(inspection.standard_id)
    return () if rules is None else rules.improvement_kinds()


def improvement_target(
    m: SetImprovementField | SetImprovementStatus | AttachImprovementPhoto, owners: Owners
) -> UUID | None:
    return owners.get(m.args.improvement_id, m.args.inspection_id)


def _item(
    batch: PushBatch, m: SetImprovementField | SetImprovementStatus | AttachImprovementPhoto
) -> tuple[InspectionRow, ImprovementRow]:
    inspection = checks.target_inspection(batch, m, improvement_target(m, batch.owners), editing=False)
    item = batch.improvements.get(m.args.improvement_id)
    if item is None:
        raise Rejected("unknown_improvement", f"improvement {m.args.improvement_id} does not exist")
    return inspection, item


def create_needs(m: CreateImprovement, wanted: Wanted) -> None:
    wanted.improvements.add(m.args.improvement_id)
    wanted.plans.add(m.args.inspection_id)
    wanted.answers.add((m.args.inspection_id, m.args.item_code, "value"))


def item_needs(m: SetImprovementStatus | AttachImprovementPhoto, wanted: Wanted) -> None:
    wanted.improvements.add(m.args.improvement_id)


def field_needs(m: SetImprovementField, wanted: Wanted) -> None:
    wanted.improvements.add(m.args.improvement_id)
    wanted.improvement_fields.add((m.args.improvement_id, m.args.field))


def photo_needs(m: AttachImprovementPhoto, wanted: Wanted) -> None:
    wanted.improvements.add(m.args.improvement_id)
    wanted.photos.add(m.args.photo_id)


async def create_improvement(batch: PushBatch, m: CreateImprovement) -> MutationResult:
    a = m.args
    inspection = _plan_inspection(batch, m)
    checks.item_rules(batch, inspection, a.item_code)
    existing = batch.improvements.get(a.improvement_id)
    if existing is not None:
        if existing.inspection_id != inspection.id or existing.item_code != a.item_code:
            raise Rejected("improvement_exists", f"improvement {a.improvement_id} already exists elsewhere")
        # the same item sent again (a device re-queued it): nothing new
        return MutationResult(id=m.id, status="applied", version=existing.version)
    gap = check_field("gap", a.gap)
    kind = check_kind(a.kind, _kinds(batch, inspection))
    owner = check_field("owner", a.owner)
    due = check_field("dueDate", a.due_date)
    if a.requirement_id is not None and len(a.requirement_id) > 20:
        raise Rejected("invalid_args", "requirementId is at most 20 characters")
    plan = batch.plan_inspections[inspection.id]
    answer = batch.registers.get(inspection.answer_key(a.item_code, "value"))
    version = batch.bump(inspection)
    now = datetime.now(UTC)
    item = ImprovementRow(
        id=a.improvement_id,
        inspection_id=inspection.id,
        facility_id=plan.facility_id,
        round_id=plan.round_id,
        item_code=a.item_code,
        requirement_id=a.requirement_id,
        gap=gap or "",
        kind=kind,
        owner=owner or "",
        due_date=due,
        status="needs_support" if kind == "needs_support" else "open",
        photo_ids=[],
        grade_before=None if answer is None else answer.state.value,
        done_version=0,
        field_versions={},
        version=version,
        created_by=batch.caller.user_id,
        client_id=batch.client_id,
        status_changed_at=now,
        is_new=True,
    )
    batch.improvements[item.id] = item
    batch.owners[item.id] = inspection.id
    batch.dirty_improvements.add(item.id)
    batch.log(
        m,
        f"improvement/{item.id}",
        {"item": a.item_code, "kind": kind, "status": item.status, "gradeBefore": item.grade_before},
    )
    return MutationResult(id=m.id, status="applied", version=version)


async def set_field(batch: PushBatch, m: SetImprovementField) -> MutationResult:
    a = m.args
    inspection, item = _item(batch, m)
    value = check_field(a.field, a.value, _kinds(batch, inspection))
    row = register_row(
        batch, improvement_register_key(item.id, a.field), inspection.id, item.item_code, a.field
    )
    return write_register(batch, m, inspection, row, batch.write(m, value, a.base_version))


async def set_status(batch: PushBatch, m: SetImprovementStatus) -> MutationResult:
    inspection, item = _item(batch, m)
    new = m.args.status
    refusal = transition_refusal(item.kind, item.status, new)
    if refusal is not None:
        raise Rejected("invalid_transition", refusal)
    if new == item.status:
        return MutationResult(id=m.id, status="applied", version=item.version)
    before = item.status
    version = batch.bump(inspection)
    item.status, item.version = new, version
    item.status_changed_at = datetime.now(UTC)
    if new == "done":
        item.done_version = version
    batch.dirty_improvements.add(item.id)
    batch.log(m, f"improvement/{item.id}", {"from": before, "to": new, "item": item.item_code})
    return MutationResult(id=m.id, status="applied", version=version)


async def attach_photo(batch: PushBatch, m: AttachImprovementPhoto) -> MutationResult:
    inspection, item = _item(batch, m)
    photo = batch.photos.get(m.args.photo_id)
    if photo is None or photo.deleted or photo.inspection_id != inspection.id:
        raise Rejected("unknown_photo", f"photo {m.args.photo_id} is not a photo of this self-assessment")
    key = str(photo.id)
    if key in item.photo_ids:
        return MutationResult(id=m.id, status="applied", version=item.version)
    version = batch.bump(inspection)
    item.photo_ids = [*item.photo_ids, key]
    item.version = version
    batch.dirty_improvements.add(item.id)
    batch.log(m, f"improvement/{item.id}", {"photo": key})
    return MutationResult(id=m.id, status="applied", version=version)


# ------------------------------------------------------------------------------------------ client replay


def improvement_key(improvement_id: UUID | str) -> str:
    return f"improvement/{improvement_id}"


def replay_create(view: View, m: CreateImprovement) -> None:
    a = m.args
    key = improvement_key(a.improvement_id)
    if key in view:
        return
    kind = CODE_OF_LABEL.get(a.kind, a.kind)
    view[key] = {
        "id": str(a.improvement_id),
        "inspectionId": str(a.inspection_id),
        "itemCode": a.item_code,
        "requirementId": a.requirement_id,
        "gap": a.gap,
        "kind": kind,
        "owner": a.owner,
        "dueDate": a.due_date,
        "status": "needs_support" if kind == "needs_support" else "open",
        "photoIds": [],
        "pending": True,
    }


def replay_field(view: View, m: SetImprovementField) -> None:
    mark_pending(view, improvement_key(m.args.improvement_id), {m.args.field: m.args.value})


def replay_status(view: View, m: SetImprovementStatus) -> None:
    mark_pending(view, improvement_key(m.args.improvement_id), {"status": m.args.status})


def replay_photo(view: View, m: AttachImprovementPhoto) -> None:
    key = improvement_key(m.args.improvement_id)
    if key in view:
        ids = list(view[key].get("photoIds", []))
        if str(m.args.photo_id) not in ids:
            ids.append(str(m.args.photo_id))
        mark_pending(view, key, {"photoIds": ids})


# improvement fields on the wire -> their column on the item row
IMPROVEMENT_COLUMNS = {"gap": "gap", "kind": "kind", "owner": "owner", "dueDate": "due_date"}


def field_follows(batch: PushBatch, row: RegisterRow) -> None:
    """An improvement field register changed: its item row carries the value (and its version)."""
    _, improvement_id, field = row.key.split("/")
    item = batch.improvements[UUID(improvement_id)]
    setattr(item, IMPROVEMENT_COLUMNS[field], row.state.value)
    if field == "kind" and item.status == "needs_support" and row.state.value != "needs_support":
        # only an item that needs government support may wait for it
        item.status = "open"
    item.field_versions = {**item.field_versions, field: row.state.version}
    item.version = row.state.version
    batch.dirty_improvements.add(item.id)


IMPROVEMENT_FIELDS = RegisterKind(prefix="improvement/", rows="improvements", follow=field_follows)
CREATE_IMPROVEMENT = Mutator(
    target=named_inspection, needs=create_needs, apply=create_improvement, replay=replay_create
)
SET_IMPROVEMENT_FIELD = Mutator(
    target=improvement_target, needs=field_needs, apply=set_field, replay=replay_field
)
SET_IMPROVEMENT_STATUS = Mutator(
    target=improvement_target, needs=item_needs, apply=set_status, replay=replay_status
)
ATTACH_IMPROVEMENT_PHOTO = Mutator(
    target=improvement_target, needs=photo_needs, apply=attach_photo, replay=replay_photo
)
