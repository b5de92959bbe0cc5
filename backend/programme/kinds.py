"""Programme kinds as data: what a programme evaluates, who applies, which stages run (``kind_data/*.json``).

A standard belongs to the kind whose ``programme`` is the standard's own ``programme`` name. The subject of every
kind is a registry facility row, so rounds, applications, samples, teams, sync, media, conclusions, rankings and
exports run unchanged: a 乡镇卫生院 (``facility``), a county's programme run by its health bureau (``region``,
facility kind ``county_programme``, placed in that county), or a school with its canteen and shop (``school``).
What differs between kinds is read from here; the few rules only one kind has live in its own module
(``mch.py``, ``logistics.py`` and the modules beside them). Pure: no database.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from backend.standards.schemas import Standard

KIND_DIR = Path(__file__).with_name("kind_data")
MonthDay = Annotated[str, msgspec.Meta(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]


class ProgrammeKind(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True, frozen=True):
    code: str
    name: str
    name_en: str
    # the ``programme`` of the standards of this kind
    programme: str
    # what one subject is: a health facility, a county (region) or a school
    subject: Literal["facility", "region", "school"]
    # the registry facility kinds a subject may have
    subject_kinds: tuple[str, ...]
    # who applies, in words (the roles are the existing ones: the subject's own accounts or its office)
    applicant: str
    # the stages that run, in order (``self`` is the subject's own evaluation)
    stages: tuple[Literal["self", "county", "city", "province"], ...]
    # how a review sample is stratified: by the subject's county, or one pool over the region drawn over
    sample_strata: Literal["county", "whole"] = "county"
    # the self-evaluation reaches the first reviewer by this month-day of the round's year (an application then)
    report_due: MonthDay | None = None
    # the subject may raise indicator targets for itself, never below the standard's (national) values
    adapts_indicators: bool = False
    # the tier whose holders are named (a title valid ``programmeSettings.titleValidYears``)
    title: str | None = None
    # a failed re-check of a named subject: months given to fix before the next re-check
    fix_within_months: int | None = None
    # the weighted standard whose raters appraise the subject's staff (school logistics)
    appraisal_standard: str | None = None
    source: str = ""


@cache
def kinds() -> tuple[ProgrammeKind, ...]:
    loaded = [
        msgspec.json.decode(path.read_bytes(), type=ProgrammeKind) for path in sorted(KIND_DIR.glob("*.json"))
    ]
    codes = [k.code for k in loaded]
    programmes = [k.programme for k in loaded]
    if len(set(codes)) != len(codes) or len(set(programmes)) != len(programmes):
        raise ValueError("programme kinds: duplicate code or programme name")
    return tuple(loaded)


def kind_by_code(code: str) -> ProgrammeKind | None:
    return next((k for k in kinds() if k.code == code), None)


def kind_of(standard: Standard) -> ProgrammeKind | None:
    """The kind of the standard's programme; None for a programme no kind describes (read as a facility)."""
    return next((k for k in kinds() if k.programme == standard.programme), None)


def subject_fits(standard: Standard, facility_kind: str) -> bool:
    """Whether a registry facility of ``facility_kind`` may be the subject of ``standard``'s programme."""
    kind = kind_of(standard)
    if kind is None:
        return facility_kind in FACILITY_SUBJECTS
    return facility_kind in kind.subject_kinds


FACILITY_SUBJECTS = ("township_centre", "community_centre", "village_clinic", "community_station")


def report_due_on(kind: ProgrammeKind, round_year: int) -> date | None:
    if kind.report_due is None:
        return None
    month, day = (int(part) for part in re.findall(r"\d+", kind.report_due))
    return date(round_year, month, day)
