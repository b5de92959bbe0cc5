"""``submitInspection``: closes an inspection for edits once nothing is missing (no open conflict, every
prerequisite and every article answered, every item's minimum of photos that count and of documents unless it is N/A); the
checks are :func:`sync.policy.submit_refusal`, what is unanswered is the standard's (``ItemRules.answer_gaps``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sync import lifecycle, policy
from sync.evidence import answer_items, na_answered
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
        'SELECT "item_code", "capture_time", "gps_lat", "mime" FROM "photo" WHERE "inspection_id" = ? AND "deleted" = ?',
        [iid, False],
    )
    register_rows = await sql.fetch(
        'SELECT "item_code", "field", "value" FROM "answer_register" WHERE "inspection_id" = ? '
        'AND "field" IN (?, ?)',
        [iid, "value", "na"],
    )
    requirements = {
        item: policy.PhotoRequirement(capture_time=time, location=place)
        for item, (time, place) in rules.photo_requirements().items()
    }
    # a photo without the facts has either none in its file or no file here yet: it does not count either way
    facts = [
        policy.PhotoFacts(
            item_code=r["item_code"],
            received=True,
            has_capture_time=r["capture_time"] is not None,
            has_location=r["gps_lat"] is not None,
            document=policy.is_document(r["mime"]),
        )
        for r in photo_rows
    ]
    counted, not_counted = policy.counting_photos(facts, requirements)
    answers = answer_items(register_rows)
    refusal = policy.submit_refusal(
        inspection.status,
        int(open_rows[0]["n"]),
        rules.min_photos(),
        counted,
        na_answered(answers),
        gaps=policy.AnswerGaps(*rules.answer_gaps(answers)),
        not_counted=not_counted,
        min_documents=rules.min_documents(),
        document_counts=policy.counting_documents(facts),
    )
    if refusal is not None:
        raise Rejected(*refusal)
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
