"""The office's explicit "submit incomplete" (DOMAIN: submit needs every prerequisite and article answered,
or the office's decision with a reason, audited): its mark and the words of what was missing. The action
itself is ``review.services.submit_incomplete``.

The mark: the inspection's current submit is "incomplete" when its ``submitted_at`` is the one this decision
set (an ordinary submit after a return sets a newer one). Such a conclusion is never signed off as a tier.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.db import as_utc
from backend.review.answers import engine_input
from backend.review.schemas import IncompleteSubmissionOut
from backend.review.tables import IncompleteSubmission
from backend.standards import AnswerValidationError, Standard, submit_readiness
from backend.vocabulary import Message


def missing_words(standard: Standard, items: dict[str, Any]) -> tuple[str, Message]:
    """What is not answered, in the submit rule's words (:func:`backend.standards.submit_readiness`): English
    for the record, and the message a person reads."""
    answers, prerequisites = engine_input(standard, items)
    try:
        readiness = submit_readiness(standard, answers, prerequisites)
    except AnswerValidationError as error:
        return f"answers do not fit the standard: {error}", Message(code="problem_answers_do_not_fit")
    return readiness.reason, readiness.message


def _message(raw: str | None) -> Message | None:
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw, type=Message)
    except msgspec.DecodeError:
        return None


async def current_mark(inspection_id: UUID, submitted_at: datetime | None) -> IncompleteSubmissionOut | None:
    """The office's "submit incomplete" that made the inspection's current submit, if it was one."""
    if submitted_at is None:
        return None
    rows = await marks(IncompleteSubmission.inspection == inspection_id)
    latest = rows[-1] if rows else None
    if latest is None or latest.submitted_at < as_utc(submitted_at):
        return None
    return latest


async def marks(where: Any) -> list[IncompleteSubmissionOut]:
    rows = (
        await IncompleteSubmission.select(
            *IncompleteSubmission.all_columns(),
            IncompleteSubmission.submitted_by.display_name.as_alias("by_name"),
            IncompleteSubmission.submitted_by.username.as_alias("by_username"),
        )
        .where(where)
        .order_by(IncompleteSubmission.submitted_at)
    )
    return [
        IncompleteSubmissionOut(
            id=r["id"],
            inspection_id=r["inspection"],
            reason=r["reason"],
            missing=r["missing"],
            missing_message=_message(r["missing_message"]),
            submitted_by=r["submitted_by"],
            submitted_by_name=r["by_name"] or r["by_username"],
            submitted_at=as_utc(r["submitted_at"]),
        )
        for r in rows
    ]
