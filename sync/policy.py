"""The conflict policy of DESIGN §6 as pure functions (no I/O), tested directly.

Registers (answer value, N/A flag, photo caption) carry the inspection version of their last change
(``version``), the client that wrote it and ``run_start``: the version of the last write by a *different*
client before the current writer's run of edits. A write based on ``base_version`` merges by itself when
the value is the same, when nobody changed the register since ``base_version``, or when only the writing
client changed it since then (``run_start <= base_version``): same-client sequential edits never conflict.
Otherwise another client changed it to a different value since the writer's base: a conflict that keeps
every candidate; the current value stays (provisional) until a person resolves it.

While a register has an open conflict, every different value joins that conflict (one candidate per
client, replaced by the same client's later edits), so one concurrent difference is exactly one conflict.
The client whose value is provisional may keep editing it (its own sequential edits).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sync import lifecycle

# the lifecycle's (sync/lifecycle.py owns the statuses and their moves)
EDITABLE_STATUSES = lifecycle.EDITABLE


@dataclass(slots=True)
class Register:
    value: Any
    version: int
    run_start: int
    user_id: UUID | None
    client_id: str
    hlc: str
    mutation_id: int
    conflict_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Write:
    value: Any
    base_version: int
    user_id: UUID
    client_id: str
    hlc: str
    mutation_id: int


class Outcome(enum.Enum):
    APPLY = "apply"  # the value becomes current
    SAME = "same"  # the register already holds this value: merged, nothing changes
    CONFLICT_NEW = "conflict_new"  # open a conflict: current holder + incoming are candidates
    CONFLICT_JOIN = "conflict_join"  # add/replace the writer's candidate in the open conflict


def same_value(a: Any, b: Any) -> bool:
    # True == 1 in Python; a grade must not merge with a boolean or a number.
    return type(a) is type(b) and a == b


def decide(current: Register | None, write: Write) -> Outcome:
    if current is None:
        return Outcome.APPLY
    if same_value(current.value, write.value):
        return Outcome.SAME
    if current.conflict_id is not None:
        return Outcome.CONFLICT_JOIN
    if current.version <= write.base_version:
        return Outcome.APPLY
    if current.client_id == write.client_id and current.run_start <= write.base_version:
        return Outcome.APPLY
    return Outcome.CONFLICT_NEW


def applied(current: Register | None, write: Write, version: int) -> Register:
    """The register after ``write`` is applied at ``version``."""
    if current is None:
        run_start = 0
    elif current.client_id == write.client_id:
        run_start = current.run_start
    else:
        run_start = current.version
    return Register(
        value=write.value,
        version=version,
        run_start=run_start,
        user_id=write.user_id,
        client_id=write.client_id,
        hlc=write.hlc,
        mutation_id=write.mutation_id,
        conflict_id=current.conflict_id if current else None,
    )


def resolved(write: Write, version: int) -> Register:
    """The register after a person resolved its conflict. Another device's write based before ``version``
    did not see the resolution and conflicts; the resolver's own later edits, whose base is the register as
    it saw the conflict (``write.base_version``), follow the resolution as its sequential edits."""
    return Register(
        value=write.value,
        version=version,
        run_start=write.base_version,
        user_id=write.user_id,
        client_id=write.client_id,
        hlc=write.hlc,
        mutation_id=write.mutation_id,
        conflict_id=None,
    )


@dataclass(slots=True)
class Candidate:
    value: Any
    user_id: str | None
    client_id: str
    hlc: str
    mutation_id: int

    def to_wire(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "userId": self.user_id,
            "clientId": self.client_id,
            "hlc": self.hlc,
            "mutationId": self.mutation_id,
        }

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> Candidate:
        return cls(
            value=raw.get("value"),
            user_id=raw.get("userId"),
            client_id=str(raw.get("clientId", "")),
            hlc=str(raw.get("hlc", "")),
            mutation_id=int(raw.get("mutationId", 0)),
        )

    @classmethod
    def of_register(cls, register: Register) -> Candidate:
        return cls(
            value=register.value,
            user_id=None if register.user_id is None else str(register.user_id),
            client_id=register.client_id,
            hlc=register.hlc,
            mutation_id=register.mutation_id,
        )

    @classmethod
    def of_write(cls, write: Write) -> Candidate:
        return cls(
            value=write.value,
            user_id=str(write.user_id),
            client_id=write.client_id,
            hlc=write.hlc,
            mutation_id=write.mutation_id,
        )


@dataclass(slots=True)
class ConflictState:
    id: UUID
    inspection_id: UUID
    register_key: str
    item_code: str
    field: str
    base_version: int
    candidates: list[Candidate]
    status: str  # open | resolved
    version: int
    resolution: Any = None
    resolved_by: UUID | None = None


def put_candidate(candidates: list[Candidate], candidate: Candidate) -> list[Candidate]:
    """One candidate per client: a client's later edit replaces its earlier candidate."""
    out = [c for c in candidates if c.client_id != candidate.client_id]
    out.append(candidate)
    return out


def conflict_is_stale(conflict: ConflictState, base_version: int) -> bool:
    """A resolution is stale when the conflict changed (new candidate, new value) after the resolver saw it."""
    return conflict.version > base_version


# ------------------------------------------------------------------------------------------ photos


def remove_wins(add_version: int, remove_base: int | None) -> bool:
    """Add-wins set: a removal wins only over the adds it has seen. ``remove_base`` is the photo version the
    remover saw (``None`` from clients that do not send one: the remover knew the id, so it saw an add)."""
    return remove_base is None or add_version <= remove_base


# ------------------------------------------------------------------------------------------ inspection


def edit_refusal(status: str) -> str | None:
    return lifecycle.edit_refusal(status)


# Why a photo does not count toward its article's minimum (the standard's requireCaptureTime /
# requireLocation); a photo whose file has not reached the server has no known capture time or position yet.
NOT_RECEIVED = "not_received"
NO_CAPTURE_TIME = "no_capture_time"
NO_LOCATION = "no_location"


@dataclass(frozen=True, slots=True)
class PhotoRequirement:
    """What a photo must carry to count toward an article's minimum."""

    capture_time: bool = False
    location: bool = False


# Ledgers (台账) attach like photos (addPhoto with one of these mimes); they count toward an article's
# minDocuments, never toward its minPhotos, and carry no EXIF, so photo requirements do not apply to them.
# media.documents.DOCUMENT_MIMES is the same set (sync may not import media; a test keeps them equal).
DOCUMENT_MIMES = frozenset(
    {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)


def is_document(mime: str | None) -> bool:
    return mime in DOCUMENT_MIMES


@dataclass(frozen=True, slots=True)
class PhotoFacts:
    item_code: str
    received: bool  # its file reached the server (its EXIF was read)
    has_capture_time: bool
    has_location: bool
    document: bool = False  # a PDF/DOCX/XLSX ledger, counted by counting_documents


def photo_not_counted(facts: PhotoFacts, requirement: PhotoRequirement | None) -> tuple[str, ...]:
    """Why the photo does not count toward its article's minimum (empty: it counts)."""
    if requirement is None or not (requirement.capture_time or requirement.location):
        return ()
    if not facts.received:
        return (NOT_RECEIVED,)
    why: list[str] = []
    if requirement.capture_time and not facts.has_capture_time:
        why.append(NO_CAPTURE_TIME)
    if requirement.location and not facts.has_location:
        why.append(NO_LOCATION)
    return tuple(why)


def counting_photos(
    photos: Iterable[PhotoFacts], requirements: Mapping[str, PhotoRequirement]
) -> tuple[dict[str, int], dict[str, int]]:
    """(item → photos that count, item → photos that do not), for :func:`missing_evidence`."""
    counted: dict[str, int] = {}
    not_counted: dict[str, int] = {}
    for photo in photos:
        if photo.document:
            continue
        target = not_counted if photo_not_counted(photo, requirements.get(photo.item_code)) else counted
        target[photo.item_code] = target.get(photo.item_code, 0) + 1
    return counted, not_counted


def counting_documents(photos: Iterable[PhotoFacts]) -> dict[str, int]:
    """Item → documents whose file has arrived (toward its minDocuments); one still on its way does not count."""
    counted: dict[str, int] = {}
    for photo in photos:
        if photo.document and photo.received:
            counted[photo.item_code] = counted.get(photo.item_code, 0) + 1
    return counted


def documents_on_the_way(photos: Iterable[PhotoFacts]) -> dict[str, int]:
    """Item → documents attached whose file has not arrived yet (named in the refusal)."""
    waiting: dict[str, int] = {}
    for photo in photos:
        if photo.document and not photo.received:
            waiting[photo.item_code] = waiting.get(photo.item_code, 0) + 1
    return waiting


def missing_evidence(
    min_photos: Mapping[str, int], photo_counts: Mapping[str, int], na_items: Set[str]
) -> dict[str, tuple[int, int]]:
    """Items still short of their minimum photos (item -> (have, need)); N/A items need none.
    ``photo_counts`` are the photos that count (:func:`counting_photos`)."""
    return {
        item: (photo_counts.get(item, 0), need)
        for item, need in sorted(min_photos.items())
        if need > 0 and item not in na_items and photo_counts.get(item, 0) < need
    }


@dataclass(frozen=True, slots=True)
class AnswerGaps:
    """What is not answered yet (prerequisites, articles; in weighted standards raters) of ``of`` items."""

    prerequisites: tuple[str, ...]
    items: tuple[str, ...]
    of: int
    invalid: str | None = None  # the stored answers do not fit the standard (the engine's words)
    invalid_items: tuple[str, ...] = ()  # the item codes of those answers, as far as the engine names them

    @property
    def complete(self) -> bool:
        return not self.prerequisites and not self.items and self.invalid is None


SHOWN_CODES = 5


def _codes(codes: Sequence[str]) -> str:
    return ", ".join(codes[:SHOWN_CODES]) + (", …" if len(codes) > SHOWN_CODES else "")


def gaps_detail(gaps: AnswerGaps) -> str:
    """The refusal in plain words: counts and the first few codes."""
    if gaps.invalid is not None:
        return f"the answers do not fit the standard: {gaps.invalid}"
    parts = []
    if gaps.prerequisites:
        parts.append(f"{len(gaps.prerequisites)} prerequisite(s) not answered ({_codes(gaps.prerequisites)})")
    if gaps.items:
        parts.append(f"{len(gaps.items)} of {gaps.of} article(s) not answered ({_codes(gaps.items)})")
    return "not complete: " + "; ".join(parts)


def submit_refusal(
    status: str,
    open_conflicts: int,
    min_photos: Mapping[str, int],
    photo_counts: Mapping[str, int],
    na_items: Set[str],
    gaps: AnswerGaps | None = None,
    not_counted: Mapping[str, int] | None = None,
    min_documents: Mapping[str, int] | None = None,
    document_counts: Mapping[str, int] | None = None,
    documents_on_the_way: Mapping[str, int] | None = None,
) -> tuple[str, str] | None:
    """Why an inspection may not be submitted, as (reason, detail); ``None`` when it may.
    ``photo_counts`` holds the photos that count, ``not_counted`` those that do not (for the words)."""
    code = lifecycle.refusal(status, "submit")
    if code is not None:
        return code, f"the inspection is {status}"
    if open_conflicts:
        return "open_conflicts", f"{open_conflicts} conflict(s) must be resolved first"
    if gaps is not None and not gaps.complete:
        return "incomplete", gaps_detail(gaps)
    missing = missing_evidence(min_photos, photo_counts, na_items)
    if missing:
        listed = ", ".join(f"{item} ({have}/{need})" for item, (have, need) in list(missing.items())[:20])
        detail = f"{len(missing)} item(s) short of their minimum photos: {listed}"
        uncounted = sum((not_counted or {}).get(item, 0) for item in missing)
        if uncounted:
            detail += (
                f"; {uncounted} photo(s) of these do not count: without capture time or location, "
                "or their file not uploaded yet"
            )
        return "evidence_missing", detail
    missing = missing_evidence(min_documents or {}, document_counts or {}, na_items)
    if missing:
        listed = ", ".join(f"{item} ({have}/{need})" for item, (have, need) in list(missing.items())[:20])
        waiting = {item: n for item, n in (documents_on_the_way or {}).items() if item in missing}
        if waiting and all(have + waiting.get(item, 0) >= need for item, (have, need) in missing.items()):
            # every shortfall is made up by documents whose files are still uploading: say which
            named = ", ".join(f"{item} ({n})" for item, n in sorted(waiting.items())[:20])
            return (
                "documents_on_the_way",
                f"{sum(waiting.values())} document(s) still on their way to the server: {named}",
            )
        detail = f"{len(missing)} item(s) short of their minimum documents: {listed}"
        if waiting:
            detail += f"; {sum(waiting.values())} document(s) of these still on their way"
        return "evidence_missing", detail
    return None
