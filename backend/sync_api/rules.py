"""The standard's rules for the sync engine (``sync.api.ItemRules``), from the stored or shipped standard JSON,
with one cache per process: the push's checks, the submit's readiness, the receipt and the app's checklist all
read a standard's rules from here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from backend.errors import NotFound
from backend.review.answers import engine_input
from backend.standards import (
    NA,
    RATER_SEPARATOR,
    AnswerValidationError,
    AnswerValue,
    Standard,
    check_answers,
    load_shipped,
    shipped_names,
    submit_readiness,
)
from backend.standards.compiled import compile_standard
from backend.standards.schemas import GradedScoring, PassFailScoring, PointsScoring, Section, WeightedScoring
from backend.standards.services import get_bundle, get_standard
from backend.standards.validation import walk_articles
from media.documents import FORMAT_NAMES
from sync.api import (
    AnswerGapsTuple,
    Checklist,
    ChecklistArticle,
    ChecklistRater,
    ItemRules,
    PhotoRequirement,
    Violation,
)


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
        # each article's evidence policy: its own, else the standard's default
        policies = {
            number: (article.evidence if article.evidence is not None else standard.evidence_defaults)
            for number, article in self.articles.items()
        }
        self._policies = policies
        self._checklist: Checklist | None = None
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
            detail = f"{first.path}: {first.message}" if first else "not valid"
            # the engine's keys of an answer (rater, article) are the item code its register stores it under
            named = (RATER_SEPARATOR.join(p.keys[1:]) for p in error.problems if len(p.keys) > 1)
            return (), (), len(self.articles), detail, tuple(dict.fromkeys(named))
        return (
            readiness.missing_prerequisites,
            self._register_codes(readiness.missing),
            len(self.articles),
            None,
            (),
        )

    def _register_codes(self, missing: tuple[str, ...]) -> tuple[str, ...]:
        # the engine names a rater's checklist article "rater/article"; its register is "rater:article"
        if not self._raters:
            return missing
        out = []
        for code in missing:
            rater, slash, article = code.partition("/")
            out.append(f"{rater}{RATER_SEPARATOR}{article}" if slash and rater in self._raters else code)
        return tuple(out)

    def checklist(self) -> Checklist:
        """The submit's rules as data for the app: what ``answer_gaps`` asks of an inspection with nothing
        answered (every rater with an empty checklist, so each of its articles is named), each article's
        minimums, the grades best first and which evidence types are documents."""
        if self._checklist is None:
            self._checklist = self._make_checklist()
        return self._checklist

    def _make_checklist(self) -> Checklist:
        standard, scoring = self.standard, self.standard.scoring
        codes = (
            [(r.code, r.label) for g in scoring.groups for r in g.raters]
            if isinstance(scoring, WeightedScoring)
            else []
        )
        empty: dict[str, AnswerValue] = {code: {} for code, _ in codes}  # a rater's sheet with nothing on it
        raters = [
            ChecklistRater(code=code, label=label, overall=self._overall(code, empty))
            for code, label in codes
        ]
        readiness = submit_readiness(self._compiled, empty, {})
        vetoes = {v.id for v in standard.veto_items}
        items: dict[str, dict[str, str]] = {}
        for code in self._register_codes(readiness.missing):
            if code in vetoes:
                continue
            rater, separator, number = code.partition(RATER_SEPARATOR)
            if separator:
                items.setdefault(number, {})[rater] = code
            else:
                items.setdefault(code, {})[""] = code
        policies = self._policies
        articles = [
            ChecklistArticle(
                number=number,
                items=items.get(number, {}),
                min_photos=policies[number].min_photos,
                min_documents=policies[number].min_documents,
                require_capture_time=policies[number].require_capture_time,
                require_location=policies[number].require_location,
            )
            for number in self.articles
        ]
        # a weighted standard's raters answer its articles as its item mode says
        kind: str = scoring.item_mode if isinstance(scoring, WeightedScoring) else self.mode
        return Checklist(
            standard_id=standard.id,
            answer_kind=kind,
            grades=list(reversed(self._compiled.grade_codes)),  # the engine's are worst first
            raters=raters,
            prerequisites=list(readiness.missing_prerequisites),
            vetoes=[code for code in readiness.missing if code in vetoes],
            articles=articles,
            document_types=dict(sorted(FORMAT_NAMES.items())),
        )

    def _overall(self, rater: str, empty: Mapping[str, AnswerValue]) -> str | None:
        """The rater's own code when the submit takes one overall score there for each of its articles (asked of
        ``submit_readiness`` with a score in the rater's place), else ``None``."""
        scoring = self.standard.scoring
        assert isinstance(scoring, WeightedScoring)
        try:
            readiness = submit_readiness(self._compiled, {**empty, rater: scoring.scale}, {})
        except AnswerValidationError:
            return None
        mine = [
            code
            for code in self._register_codes(readiness.missing)
            if code == rater or code.startswith(f"{rater}{RATER_SEPARATOR}")
        ]
        return None if mine else rater

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


async def checklist_bundle(*, standard_id: str, include_drafts: bool) -> tuple[str, bytes]:
    """(etag, JSON) of the standard's checklist (``StandardItemRules.checklist``) for the app, to whoever may
    read the standard itself; it changes only with the standard, so it takes the standard's etag."""
    etag, _ = await get_bundle(standard_id=standard_id, include_drafts=include_drafts)
    rules = await STANDARD_RULES.standard_rules(standard_id)
    if rules is None:
        raise NotFound(f"standard {standard_id} does not exist")
    return f"{etag}-checklist", _encode(rules.checklist())


_encode = msgspec.json.Encoder().encode


# One per process: the sync push and the receipt read a standard's rules (and minimum photos) from here.
STANDARD_RULES = BackendStandardRules()


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
