"""An inspection's readiness to submit, judged one way for the submit check, the receipt and the app.

:func:`read_state` reads what an inspection holds (status, open conflicts, answers, evidence) on the caller's
transaction; :func:`assess` judges it with the standard's rules (``ItemRules``) and :mod:`sync.policy`. The submit
refuses on :func:`refusal`; the receipt sends :func:`blockers`, the same judgement as the app's vocabulary says it
(``blocker*`` codes with their params), and :func:`shortfalls`, the articles short of evidence as the submit counts
it. The app gets the rules themselves as ``ItemRules.checklist()`` and counts
against them offline, for changes the server has not seen yet."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from sync import policy
from sync.context import BlobsArrived, Checklist, ItemRules
from sync.evidence import answer_items, na_answered
from sync.sql import Sql

# items named in a blocker's text; every one is a link (``links``)
SHOWN_ITEMS = 8


# a param is a value, or itself a message (``{"code", "params"}``) the app says in the reader's language
BlockerParams = dict[str, str | int | dict[str, Any]]


class Blocker(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """Why a submit is refused, as the app says it: a vocabulary code, its params, the articles it names."""

    code: str
    params: BlockerParams
    links: list[str] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SubmitState:
    """What a submit is judged on."""

    status: str
    conflict_items: tuple[str, ...]  # item code of each open conflict
    answers: Mapping[str, Any]  # item code → current answer (sync.evidence.answer_items)
    photos: tuple[policy.PhotoFacts, ...]


@dataclass(frozen=True, slots=True)
class Assessment:
    gaps: policy.AnswerGaps
    na: set[str]
    counted: dict[str, int]  # photos that count, per item
    not_counted: dict[str, int]
    documents: dict[str, int]  # documents whose file arrived, per item
    documents_on_the_way: dict[str, int]


def _uuid(value: object) -> UUID | None:
    return value if isinstance(value, UUID) or value is None else UUID(str(value))


async def read_state(sql: Sql, inspection_id: UUID, status: str, blobs_arrived: BlobsArrived) -> SubmitState:
    """The inspection's conflicts, answers and evidence as they stand in the caller's transaction."""
    open_rows = await sql.fetch(
        'SELECT "item_code" FROM "sync_conflict" WHERE "inspection_id" = ? AND "status" = ? ORDER BY "item_code"',
        [inspection_id, "open"],
    )
    photo_rows = await sql.fetch(
        'SELECT "item_code", "capture_time", "gps_lat", "mime", "sha256", "created_by" FROM "photo" '
        'WHERE "inspection_id" = ? AND "deleted" = ?',
        [inspection_id, False],
    )
    arrived = await _arrived_documents(photo_rows, blobs_arrived)
    register_rows = await sql.fetch(
        'SELECT "item_code", "field", "value" FROM "answer_register" WHERE "inspection_id" = ? '
        'AND "field" IN (?, ?)',
        [inspection_id, "value", "na"],
    )
    # a photo without the facts has either none in its file or no file here yet: it does not count either way
    # a ledger counts only once its whole file is here (its author uploaded it): ``received`` says so
    facts = tuple(
        policy.PhotoFacts(
            item_code=r["item_code"],
            received=not policy.is_document(r["mime"]) or (r["sha256"], _uuid(r["created_by"])) in arrived,
            has_capture_time=r["capture_time"] is not None,
            has_location=r["gps_lat"] is not None,
            document=policy.is_document(r["mime"]),
        )
        for r in photo_rows
    )
    return SubmitState(
        status=status,
        conflict_items=tuple(str(r["item_code"]) for r in open_rows),
        answers=answer_items(register_rows),
        photos=facts,
    )


async def _arrived_documents(
    rows: Collection[Mapping[str, Any]], blobs_arrived: BlobsArrived
) -> set[tuple[str, UUID | None]]:
    """(sha256, author) of the documents whose file has arrived whole and is held by the one who added it."""
    by_author: dict[UUID | None, set[str]] = {}
    for row in rows:
        if policy.is_document(row["mime"]):
            by_author.setdefault(_uuid(row["created_by"]), set()).add(row["sha256"])
    arrived: set[tuple[str, UUID | None]] = set()
    for author, digests in by_author.items():
        if author is not None:
            arrived.update((sha, author) for sha in await blobs_arrived(digests, author))
    return arrived


def assess(rules: ItemRules, state: SubmitState) -> Assessment:
    requirements = {
        item: policy.PhotoRequirement(capture_time=time, location=place)
        for item, (time, place) in rules.photo_requirements().items()
    }
    counted, not_counted = policy.counting_photos(state.photos, requirements)
    return Assessment(
        gaps=policy.AnswerGaps(*rules.answer_gaps(state.answers)),
        na=na_answered(state.answers),
        counted=counted,
        not_counted=not_counted,
        documents=policy.counting_documents(state.photos),
        documents_on_the_way=policy.documents_on_the_way(state.photos),
    )


def refusal(rules: ItemRules, state: SubmitState, judged: Assessment | None = None) -> tuple[str, str] | None:
    """Why the submit is refused (reason, detail), ``None`` when it may go (:func:`sync.policy.submit_refusal`)."""
    a = judged or assess(rules, state)
    return policy.submit_refusal(
        state.status,
        len(state.conflict_items),
        rules.min_photos(),
        a.counted,
        a.na,
        gaps=a.gaps,
        not_counted=a.not_counted,
        min_documents=rules.min_documents(),
        document_counts=a.documents,
        documents_on_the_way=a.documents_on_the_way,
    )


def _listed(items: list[str]) -> str:
    return "、".join(items[:SHOWN_ITEMS]) + ("…" if len(items) > SHOWN_ITEMS else "")


def _article_of(checklist: Checklist) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(item code → its article, rater → its item codes) from the checklist."""
    article: dict[str, str] = {}
    by_rater: dict[str, list[str]] = {}
    for a in checklist.articles:
        for rater, code in a.items.items():
            article[code] = a.number
            by_rater.setdefault(rater, []).append(code)
    return article, by_rater


@dataclass(frozen=True, slots=True)
class Shortfall:
    """An article short of its minimum photos (or documents): what counts toward it now, and what it needs."""

    item: str
    have: int
    need: int
    document: bool = False


def shortfalls(rules: ItemRules, state: SubmitState, judged: Assessment | None = None) -> list[Shortfall]:
    """The articles the submit finds short of evidence, in the checklist's order (photos before documents of
    one article): the receipt's ``shortArticles`` and the ``blockerEvidence`` / ``blockerDocuments`` blockers."""
    a = judged or assess(rules, state)
    order = {c.number: i for i, c in enumerate(rules.checklist().articles)}
    photos = policy.missing_evidence(rules.min_photos(), a.counted, a.na)
    documents = policy.missing_evidence(rules.min_documents(), a.documents, a.na)
    out = [Shortfall(item, have, need) for item, (have, need) in photos.items()]
    out += [Shortfall(item, have, need, document=True) for item, (have, need) in documents.items()]
    out.sort(key=lambda s: (order.get(s.item, len(order)), s.document))
    return out


def _invalid(
    checklist: Checklist, answers: Mapping[str, Any], invalid_items: Collection[str]
) -> list[Blocker]:
    """blockerInvalid: each rater answered both by its overall score (the checklist's ``raters[].overall``) and
    by articles, said by a vocabulary code naming those articles (answered, but not validly; the app counts the
    same from the checklist); any other answer not fitting the standard by the items the engine names
    (:func:`_invalid_of`)."""
    out = []
    for rater in checklist.raters:
        if rater.overall is None or rater.overall not in answers:
            continue
        both = [a.number for a in checklist.articles if a.items.get(rater.code) in answers]
        if both:
            params = {"rater": rater.label, "n": len(both), "items": _listed(both)}
            said = {"code": "invalidRaterBothWays", "params": params}
            out.append(Blocker(code="blockerInvalid", params={"detail": said}, links=both))
    return out or _invalid_of(checklist, invalid_items)


def _invalid_of(checklist: Checklist, invalid_items: Collection[str]) -> list[Blocker]:
    """Any other answer not fitting the standard: one blocker an article (linked) or rater whose answer does
    not fit, in the checklist's order, and one saying so without a name for the rest (a prerequisite, or
    answers the engine names none of); the engine's English stays in the server's refusal detail."""
    article, _ = _article_of(checklist)
    order = {c.number: i for i, c in enumerate(checklist.articles)}
    raters = {r.code: r.label for r in checklist.raters}
    numbers = sorted({article[c] for c in invalid_items if c in article}, key=order.__getitem__)
    out = [
        Blocker(code="blockerInvalid", params={"detail": _said_of(number)}, links=[number])
        for number in numbers
    ]
    out += [
        Blocker(code="blockerInvalid", params={"detail": _said_of(label)})
        for code, label in raters.items()
        if code in invalid_items
    ]
    if not out or any(c not in article and c not in raters for c in invalid_items):
        out.append(
            Blocker(code="blockerInvalid", params={"detail": {"code": "invalidAnswers", "params": {}}})
        )
    return out


def _said_of(item: str) -> dict[str, Any]:
    return {"code": "invalidAnswerOf", "params": {"item": item}}


def blockers(rules: ItemRules, state: SubmitState, judged: Assessment | None = None) -> list[Blocker]:
    """Everything that keeps the inspection from being submitted while it is editable, in the app's words:
    empty exactly when :func:`refusal` lets the submit through (the lifecycle's own refusals aside)."""
    a = judged or assess(rules, state)
    checklist = rules.checklist()
    out: list[Blocker] = []
    if a.gaps.prerequisites:
        out.append(Blocker(code="blockerPrereq", params={"items": "、".join(a.gaps.prerequisites)}))
    vetoes = set(checklist.vetoes)
    missing_vetoes = [code for code in a.gaps.items if code in vetoes]
    if missing_vetoes:
        out.append(Blocker(code="blockerVeto", params={"items": "、".join(missing_vetoes)}))
    article, by_rater = _article_of(checklist)
    unanswered: list[str] = []
    for code in a.gaps.items:
        if code in vetoes:
            continue
        # a rater with no answer at all: each of its articles is unanswered
        for item in by_rater.get(code, [code]):
            number = article.get(item, item)
            if number not in unanswered:
                unanswered.append(number)
    if a.gaps.invalid is not None:
        out += _invalid(checklist, state.answers, a.gaps.invalid_items)
    order = {c.number: i for i, c in enumerate(checklist.articles)}
    unanswered.sort(key=lambda n: order.get(n, len(order)))
    if unanswered:
        params: BlockerParams = {"n": len(unanswered), "items": _listed(unanswered)}
        out.append(Blocker(code="blockerUnanswered", params=params, links=unanswered))
    for item in state.conflict_items:
        out.append(Blocker(code="blockerConflict", params={"item": item}, links=[article.get(item, item)]))
    for short in shortfalls(rules, state, a):
        params = {"item": short.item, "have": short.have, "need": short.need}
        code = "blockerDocuments" if short.document else "blockerEvidence"
        out.append(Blocker(code=code, params=params, links=[short.item]))
    return out
