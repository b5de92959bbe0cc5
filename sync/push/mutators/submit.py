"""``submitInspection``: closes an inspection for edits once nothing is missing (no open conflict, every
item's minimum photos unless it is N/A); the checks are :func:`sync.policy.submit_refusal`."""

from __future__ import annotations

from datetime import UTC, datetime

from sync import policy
from sync.evidence import na_marked
from sync.protocol import MutationResult, SubmitInspection
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
    sql, iid = batch.sql, inspection.id
    open_rows = await sql.fetch(
        'SELECT COUNT(*) AS "n" FROM "sync_conflict" WHERE "inspection_id" = ? AND "status" = ?',
        [iid, "open"],
    )
    photo_rows = await sql.fetch(
        'SELECT "item_code", COUNT(*) AS "n" FROM "photo" WHERE "inspection_id" = ? AND "deleted" = ? '
        'GROUP BY "item_code"',
        [iid, False],
    )
    na_rows = await sql.fetch(
        'SELECT "item_code", "value" FROM "answer_register" WHERE "inspection_id" = ? AND "field" = ?',
        [iid, "na"],
    )
    refusal = policy.submit_refusal(
        inspection.status,
        int(open_rows[0]["n"]),
        rules.min_photos(),
        {r["item_code"]: int(r["n"]) for r in photo_rows},
        {r["item_code"] for r in na_rows if na_marked(r["value"])},
    )
    if refusal is not None:
        raise Rejected(*refusal)
    version = batch.bump(inspection)
    inspection.status = "submitted"
    inspection.submitted_at = datetime.now(UTC)
    batch.log(m, f"inspection/{iid}", {"status": "submitted"})
    return MutationResult(id=m.id, status="applied", version=version)


def replay(view: View, m: SubmitInspection) -> None:
    mark_pending(view, f"inspection/{m.args.inspection_id}", {"status": "submitted"})


SUBMIT_INSPECTION = Mutator(
    target=named_inspection, needs=needs_nothing, apply=submit_inspection, replay=replay
)
