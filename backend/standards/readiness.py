"""Whether an inspection may be submitted: the rule ``submitInspection`` applies (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from backend.standards.answer_checks import check_answers
from backend.standards.compiled import CompiledStandard, compile_standard
from backend.standards.problems import AnswerValidationError, Problem
from backend.standards.schemas import AnswerValue, Standard
from backend.standards.tally import TALLIES
from backend.vocabulary import Message


class SubmitReadiness(NamedTuple):
    """Whether an inspection may be submitted: every prerequisite and every article (N/A where allowed counts as
    an answer; in points mode every veto item, in weighted mode every rater) answered."""

    ready: bool
    missing_prerequisites: tuple[str, ...]
    missing: tuple[str, ...]
    reason: str  # English, for logs and API clients
    message: Message  # the reason as a person reads it


def submit_readiness(
    standard: Standard | CompiledStandard,
    answers: Mapping[str, AnswerValue],
    prerequisites: Mapping[str, bool] | None = None,
) -> SubmitReadiness:
    """The rule ``submitInspection`` should apply (pure). Raises AnswerValidationError as ``conclude`` does."""
    c = standard if isinstance(standard, CompiledStandard) else compile_standard(standard)
    prereq = prerequisites if prerequisites is not None else {}
    tally = TALLIES[c.mode](c, answers)
    if tally.invalid:
        raise AnswerValidationError(
            check_answers(c.standard, answers, prereq)
            or [Problem("$.answers", "answers do not fit the standard")]
        )
    unanswered = tuple(p.id for p in c.standard.prerequisites if not isinstance(prereq.get(p.id), bool))
    missing = tuple(tally.missing)
    parts = []
    said: list[Message] = []
    if unanswered:
        parts.append(f"prerequisite(s) not answered: {', '.join(unanswered)}")
        said.append(Message(code="missing_prerequisites", params={"items": ", ".join(unanswered)}))
    if missing:
        shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
        parts.append(f"{len(missing)} not answered: {shown}")
        said.append(Message(code="missing_articles", params={"n": len(missing), "items": shown}))
    return SubmitReadiness(
        ready=not parts,
        missing_prerequisites=unanswered,
        missing=missing,
        reason="; ".join(parts) if parts else "every prerequisite and every article is answered",
        message=Message(code="missing_parts", params={"parts": said})
        if said
        else Message(code="missing_none"),
    )
