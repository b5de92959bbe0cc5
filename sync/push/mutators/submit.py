"""``submitInspection``: closes an inspection for edits once nothing is missing (no open conflict, every
prerequisite and every article answered, every item's minimum of photos that count and of documents whose files have
arrived, unless it is N/A; a document still on its way is named in the refusal); the
state is read and judged by :mod:`sync.readiness` (the receipt's blockers are the same judgement)."""

from __future__ import annotations

from datetime import UTC, datetime

from sync import lifecycle, readiness
from sync.mutations import MutationResult, SubmitInspection
from sync.push import checks
from sync.push.batch import PushBatch
from sync.push.checks import Rejected
from sync.push.mutators.base import Mutator, View, mark_pending, named_inspection, needs_nothing
from sync.push.write import write


async def submit_inspection(batch: PushBatch, m: SubmitInspection) -> MutationResult:
    inspection = checks.target_inspection(batch, m, m.args.inspection_id, editing=False)
    rules = checks.standard_rules(batch, inspection)
    # The counts must include this push's own earlier effects: write them first.
    await write(batch)
    iid = inspection.id
    state = await readiness.read_state(batch.sql, iid, inspection.status, batch.ctx.blobs_arrived)
    judged = readiness.assess(rules, state)
    refusal = readiness.refusal(rules, state, judged)
    if refusal is not None:
        params = None
        if refusal[0] == "documents_on_the_way":  # the app names the ledgers still uploading
            waiting = judged.documents_on_the_way
            params = {"items": sorted(waiting), "n": sum(waiting.values())}
        raise Rejected(*refusal, params=params)
    version = batch.bump(inspection)
    inspection.status = lifecycle.SUBMITTED
    inspection.submitted_at = datetime.now(UTC)
    batch.log(m, f"inspection/{iid}", {"status": lifecycle.SUBMITTED})
    return MutationResult(id=m.id, status="applied", version=version)


def replay(view: View, m: SubmitInspection) -> None:
    mark_pending(view, f"inspection/{m.args.inspection_id}", {"status": lifecycle.SUBMITTED})


SUBMIT_INSPECTION = Mutator(
    target=named_inspection, needs=needs_nothing, apply=submit_inspection, replay=replay
)
