"""``submitInspection``: closes an inspection for edits once nothing is missing (no open conflict, every
prerequisite and every article answered, every item's minimum of photos that count and of documents whose files have
arrived, unless it is N/A; a document still on its way is named in the refusal); the
checks are :func:`sync.policy.submit_refusal`, what is unanswered is the standard's (``ItemRules.answer_gaps``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

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
        'SELECT "item_code", "capture_time", "gps_lat", "mime", "sha256", "created_by" FROM "photo" '
        'WHERE "inspection_id" = ? AND "deleted" = ?',
        [iid, False],
    )
    arrived = await _arrived_documents(batch, photo_rows)
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
    # a ledger counts only once its whole file is here (its author uploaded it): ``received`` says so
    facts = [
        policy.PhotoFacts(
            item_code=r["item_code"],
            received=not policy.is_document(r["mime"]) or (r["sha256"], _uuid(r["created_by"])) in arrived,
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
        documents_on_the_way=policy.documents_on_the_way(facts),
    )
    if refusal is not None:
        params = None
        if refusal[0] == "documents_on_the_way":  # the app names the ledgers still uploading
            waiting = policy.documents_on_the_way(facts)
            params = {"items": sorted(waiting), "n": sum(waiting.values())}
        raise Rejected(*refusal, params=params)
    version = batch.bump(inspection)
    inspection.status = lifecycle.SUBMITTED
    inspection.submitted_at = datetime.now(UTC)
    batch.log(m, f"inspection/{iid}", {"status": lifecycle.SUBMITTED})
    return MutationResult(id=m.id, status="applied", version=version)


def _uuid(value: object) -> UUID | None:
    return value if isinstance(value, UUID) or value is None else UUID(str(value))


async def _arrived_documents(batch: PushBatch, rows: list[dict[str, Any]]) -> set[tuple[str, UUID | None]]:
    """(sha256, author) of the documents whose file has arrived whole and is held by the one who added it."""
    by_author: dict[UUID | None, set[str]] = {}
    for row in rows:
        if policy.is_document(row["mime"]):
            by_author.setdefault(_uuid(row["created_by"]), set()).add(row["sha256"])
    arrived: set[tuple[str, UUID | None]] = set()
    for author, digests in by_author.items():
        if author is not None:
            arrived.update((sha, author) for sha in await batch.ctx.blobs_arrived(digests, author))
    return arrived


def replay(view: View, m: SubmitInspection) -> None:
    mark_pending(view, f"inspection/{m.args.inspection_id}", {"status": lifecycle.SUBMITTED})


SUBMIT_INSPECTION = Mutator(
    target=named_inspection, needs=needs_nothing, apply=submit_inspection, replay=replay
)
