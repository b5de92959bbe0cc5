"""The backend side of the sync seams: the standard's rules (from the stored or shipped standard JSON), the
caller's scope, and the "is this blob stored" lookup. ``sync`` defines the protocols; this fills them in.
What a push leaves for others to do once it committed (flags naming a removed photo) is started here too."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

import msgspec

from backend.audit.services import chain_lock, record_many
from backend.db import current_engine, push_tx, read_tx, write_tx
from backend.errors import NotFound
from backend.evidence.services import refresh_after_removal, refresh_for_blob
from backend.guards import AuthUser
from backend.hooks import Hooks
from backend.inspections.scope import (
    resolvable_inspection_ids,
    visible_inspection_ids,
    writable_inspection_ids,
)
from backend.registry.services import facility_rows
from backend.review.answers import engine_input
from backend.standards import (
    NA,
    RATER_SEPARATOR,
    AnswerValidationError,
    Standard,
    check_answers,
    load_shipped,
    shipped_names,
    submit_readiness,
)
from backend.standards.engine import compile_standard
from backend.standards.schemas import GradedScoring, PassFailScoring, PointsScoring, Section, WeightedScoring
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles
from media.uploads import arrived_blobs_held, blob_state, received_blobs, stored_blobs_held
from sync.api import (
    AnswerGapsTuple,
    AuditEntry,
    AuditHook,
    Caller,
    CallerSource,
    ItemRules,
    PhotoRequirement,
    PullContext,
    PushContext,
    Violation,
    push,
    record_capture_facts,
)
from sync.protocol import AddPhoto, Limits, PushResponse, RemovePhoto, SubmitInspection

REMOVE_PHOTO = f"sync.{RemovePhoto.__struct_config__.tag}"  # the audit action of an applied removePhoto
ADD_PHOTO = f"sync.{AddPhoto.__struct_config__.tag}"  # the audit action of an addPhoto
SUBMIT = f"sync.{SubmitInspection.__struct_config__.tag}"  # the audit action of an applied submit


class StandardItemRules:
    """Rules of one standard version for the sync engine: items, valid values, N/A, minimum photos."""

    def __init__(self, standard: Standard) -> None:
        self.standard = standard
        self.articles = {article.number: article for _, article, _ in walk_articles(standard)}
        scoring = standard.scoring
        self._grades = (
            frozenset(g.code for g in scoring.grades) if isinstance(scoring, GradedScoring) else None
        )
        # check_answers walks the whole standard; give it a one-article standard per item instead
        self._single = {
            number: msgspec.structs.replace(
                standard, sections=(Section(code="_", title="_", articles=(article,)),), veto_items=()
            )
            for number, article in self.articles.items()
        }
        # Yes/no items outside the articles: prerequisites (前置条件) and one-vote vetoes (一票否决).
        self._flags = {p.id for p in standard.prerequisites} | {v.id for v in standard.veto_items}
        # Weighted standards are answered per rater: "<rater>" (one overall score) or "<rater>:<article>".
        self._raters = (
            {rater.code for group in scoring.groups for rater in group.raters}
            if isinstance(scoring, WeightedScoring)
            else set()
        )
        policies = {
            number: (article.evidence if article.evidence is not None else standard.evidence_defaults)
            for number, article in self.articles.items()
        }
        self._min_photos = {number: policy.min_photos for number, policy in policies.items()}
        self._min_documents = {
            number: policy.min_documents for number, policy in policies.items() if policy.min_documents > 0
        }
        self._photo_requirements = {
            number: (policy.require_capture_time, policy.require_location)
            for number, policy in policies.items()
            if policy.min_photos > 0 and (policy.require_capture_time or policy.require_location)
        }
        self._compiled = compile_standard(standard)

    def has_item(self, item_code: str) -> bool:
        if item_code in self.articles or item_code in self._flags or item_code in self._raters:
            return True
        rater, separator, article = item_code.partition(RATER_SEPARATOR)
        return bool(separator) and rater in self._raters and article in self.articles

    def check_value(self, item_code: str, field: str, value: Any) -> Violation | None:
        if item_code in self._flags or item_code in self._raters or RATER_SEPARATOR in item_code:
            return self._check_non_article(item_code, field, value)
        article = self.articles[item_code]
        if field == "na":
            if value is None or value is False:
                return None
            if value is not True:
                return Violation("invalid_value", "the N/A register takes true or false")
            if not article.na_allowed:
                return Violation("na_not_allowed", f"article {item_code} may not be answered N/A")
            return None
        if value is None:
            return None  # clearing an answer
        scoring = self.standard.scoring
        if isinstance(scoring, WeightedScoring):
            return Violation(
                "invalid_item",
                f"{self.standard.id} is scored by raters: answer {item_code} as '<rater>{RATER_SEPARATOR}{item_code}'",
            )
        if value == NA and isinstance(value, str):
            return (
                None
                if article.na_allowed
                else Violation("na_not_allowed", f"article {item_code} may not be N/A")
            )
        if self._grades is not None:
            # graded: the hot path of every push, answered from a precomputed set
            if isinstance(value, str) and value in self._grades:
                return None
            return Violation("invalid_value", f"{value!r} is not a grade of {self.standard.id} ({item_code})")
        problems = check_answers(self._single[item_code], {item_code: value}, {})
        if problems:
            return Violation(
                "invalid_value", f"{value!r} is not valid for {item_code}: {problems[0].message}"
            )
        return None

    def _check_non_article(self, item_code: str, field: str, value: Any) -> Violation | None:
        if field == "na":
            if value is None or value is False:
                return None
            return Violation("na_not_allowed", f"{item_code} cannot be N/A")
        if value is None:
            return None
        if item_code in self._flags:
            if isinstance(value, bool):
                return None
            return Violation("invalid_value", f"{item_code} is answered true (met) or false (not met)")
        scoring = self.standard.scoring
        assert isinstance(scoring, WeightedScoring)
        if item_code in self._raters:
            if _is_number(value) and 0 <= value <= scoring.scale:
                return None
            return Violation(
                "invalid_value", f"{value!r} is not a score from 0 to {scoring.scale:g} for {item_code}"
            )
        return self._check_weighted(scoring, item_code.partition(RATER_SEPARATOR)[2], value)

    def _check_weighted(self, scoring: WeightedScoring, item_code: str, value: Any) -> Violation | None:
        if scoring.item_mode == "passfail":
            ok = isinstance(value, bool)
        else:
            maximum = self.articles[item_code].points or 0.0
            ok = _is_number(value) and 0 <= value <= maximum
        return None if ok else Violation("invalid_value", f"{value!r} is not valid for {item_code}")

    def min_photos(self) -> Mapping[str, int]:
        return self._min_photos

    def photo_requirements(self) -> Mapping[str, tuple[bool, bool]]:
        return self._photo_requirements

    def min_documents(self) -> Mapping[str, int]:
        return self._min_documents

    def improvement_kinds(self) -> tuple[str, ...]:
        return self.standard.programme_settings.improvement_list_kinds

    def answer_gaps(self, items: Mapping[str, Any]) -> AnswerGapsTuple:
        """What a submit lacks: :func:`backend.standards.submit_readiness` over the registers' answers."""
        answers, prerequisites = engine_input(self.standard, items)
        try:
            readiness = submit_readiness(self._compiled, answers, prerequisites)
        except AnswerValidationError as error:
            first = error.problems[0] if error.problems else None
            return (), (), len(self.articles), f"{first.path}: {first.message}" if first else "not valid"
        return readiness.missing_prerequisites, readiness.missing, len(self.articles), None

    @property
    def mode(self) -> str:
        scoring = self.standard.scoring
        if isinstance(scoring, PointsScoring):
            return "points"
        if isinstance(scoring, PassFailScoring):
            return "passfail"
        return "weighted" if isinstance(scoring, WeightedScoring) else "graded"


class BackendStandardRules:
    """Looks standards up in the database (published versions), then among the shipped files."""

    def __init__(self) -> None:
        self._cache: dict[int, StandardItemRules] = {}
        self._by_id: dict[str, StandardItemRules] = {}

    async def for_standard(self, standard_id: str) -> ItemRules | None:
        return await self.standard_rules(standard_id)

    async def standard_rules(self, standard_id: str) -> StandardItemRules | None:
        # Published versions never change (a new edition gets a new id), so one lookup per id is enough.
        known = self._by_id.get(standard_id)
        if known is not None:
            return known
        rules = await self._lookup(standard_id)
        if rules is not None:
            self._by_id[standard_id] = rules
        return rules

    async def _lookup(self, standard_id: str) -> StandardItemRules | None:
        try:
            standard = await get_standard(standard_id=standard_id)
        except NotFound:
            found = _shipped_by_id(standard_id)
            if found is None:
                return None
            standard = found
        key = id(standard)  # get_standard and load_shipped hand back the same object for the same content
        if key not in self._cache:
            self._cache[key] = StandardItemRules(standard)
        return self._cache[key]


# One per process: the sync push and the receipt read a standard's rules (and minimum photos) from here.
STANDARD_RULES = BackendStandardRules()


async def min_photos_by_article(standard_id: str) -> dict[str, tuple[str, int]] | None:
    """Article number → (title, minimum photos) for the articles that need photos, in the standard's order;
    ``None`` when the standard is unknown (the sync push's rules, read for the receipt)."""
    rules = await STANDARD_RULES.standard_rules(standard_id)
    if rules is None:
        return None
    return {code: (rules.articles[code].title, need) for code, need in rules.min_photos().items() if need > 0}


async def min_documents_by_article(standard_id: str) -> dict[str, tuple[str, int]]:
    """Article number → (title, minimum documents) for the articles that need documents, in the standard's
    order; empty when the standard is unknown."""
    rules = await STANDARD_RULES.standard_rules(standard_id)
    if rules is None:
        return {}
    return {code: (rules.articles[code].title, need) for code, need in rules.min_documents().items()}


async def photo_requirements(standard_id: str) -> dict[str, PhotoRequirement]:
    """Article number → what its photos must carry to count toward its minimum (articles with a requirement);
    empty when the standard is unknown (the receipt then has no minimums either)."""
    rules = await STANDARD_RULES.standard_rules(standard_id)
    if rules is None:
        return {}
    return {
        code: PhotoRequirement(capture_time=time, location=place)
        for code, (time, place) in rules.photo_requirements().items()
    }


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _shipped_by_id(standard_id: str) -> Standard | None:
    for name in shipped_names():
        standard = load_shipped(name)
        if standard.id == standard_id:
            return standard
    return None


async def caller_for(user: AuthUser, *, with_readable: bool, with_writable: bool) -> Caller:
    """The caller with what they may read and change (scope rules of backend/inspections/scope.py)."""
    readable: frozenset[Any] | None = frozenset()
    writable: frozenset[Any] | None = frozenset()
    if with_readable:
        visible = await visible_inspection_ids(user)
        readable = None if visible is None else frozenset(visible)
    resolvable: frozenset[Any] | None = None
    if with_writable:
        writable = await writable_inspection_ids(user)
        resolvable = await resolvable_inspection_ids(user)
    return Caller(
        user_id=user.id, role=user.role, readable=readable, writable=writable, resolvable=resolvable
    )


def push_context(*, audit: AuditHook, max_mutations: int) -> PushContext:
    """What a push needs from the backend: the database, its write transaction, the standards' rules, the audit
    log (``audit`` appends inside the push's transaction) and the "which blobs are stored" lookup."""
    return PushContext(
        engine=current_engine(),
        transaction=push_tx,
        rules=STANDARD_RULES,
        audit=audit,
        blobs_stored=stored_blobs_held,
        blobs_arrived=arrived_blobs_held,
        max_mutations=max_mutations,
        with_writes=chain_lock(),
    )


def pull_context(*, hooks: Hooks, limits: Limits, page_size: int | None = None) -> PullContext:
    """What a pull needs from the backend: the database and the rows of the backend's own tables it sends
    (facilities from the registry, the returns' opinions from the programme, through ``hooks``)."""
    extra = {} if page_size is None else {"page_size": page_size}
    return PullContext(
        engine=current_engine(),
        limits=limits,
        facilities=facility_rows,
        opinions=hooks.inspection_opinions,
        transaction=read_tx,
        **extra,
    )


async def push_and_refresh(
    body: bytes,
    *,
    caller: CallerSource,
    max_mutations: int,
    on_submit: Callable[[list[UUID]], Awaitable[None]] | None = None,
) -> PushResponse:
    """One push (the sync engine, audited in its transaction; the inspections it submitted handed to
    ``on_submit`` in that same transaction); then, once it committed, the evidence flags of the near duplicates
    of the photos it removed are recomputed, so none points at a removed photo."""
    removed: set[UUID] = set()
    added: set[str] = set()

    async def audit(entries: list[AuditEntry]) -> None:
        await record_many(entries)
        submitted = [
            UUID(e.entity.removeprefix("inspection/"))
            for e in entries
            if e.action == SUBMIT and e.entity.startswith("inspection/")
        ]
        if submitted and on_submit is not None:
            await on_submit(submitted)
        added.update(
            str(e.details["sha256"]) for e in entries if e.action == ADD_PHOTO and "sha256" in e.details
        )
        # an applied removal is audited on the photo (a removal that changed nothing, on the mutation)
        removed.update(
            UUID(e.entity.removeprefix("photo/"))
            for e in entries
            if e.action == REMOVE_PHOTO and e.entity.startswith("photo/")
        )

    response = await push(body, caller=caller, ctx=push_context(audit=audit, max_mutations=max_mutations))
    if removed:
        await refresh_after_removal(sorted(removed, key=str))
    # a photo of bytes the server already received joins them now: their EXIF facts, its flags and reuse
    # (bytes still to come: the upload's after_blob_received and the worker's after_blob_derived do it)
    for sha256_hex in sorted(added & await received_blobs(added)):
        await link_blob_facts(sha256_hex)
        await refresh_for_blob(sha256_hex)
    return response


async def after_blob_received(sha256_hex: str) -> None:
    """Once per blob, when its last byte arrived and matched (the upload that completed it): its EXIF facts
    onto its photos, so a submit counts them at once. Not for a holder proving bytes the server has."""
    await link_blob_facts(sha256_hex)


async def after_blob_derived(sha256_hex: str) -> None:
    """Once per blob, when the worker made its derivatives and perceptual hash (``MediaWorker.on_blob``): the
    evidence flags and the reuse at another facility of its photos and of their near duplicates."""
    await refresh_for_blob(sha256_hex)


async def link_blob_facts(sha256_hex: str) -> None:
    """Hand a blob's EXIF capture time and GPS to the sync engine, for the photos of those bytes."""
    blob = await blob_state(sha256_hex)
    if blob is None or blob["state"] == "rejected":
        return
    await record_capture_facts(
        sha256_hex,
        capture_time=blob["capture_time"],
        capture_local=blob["capture_local"],
        gps_lat=blob["gps_lat"],
        gps_lon=blob["gps_lon"],
        transaction=write_tx,
    )
