"""The school logistics programme (学校后勤服务, seed 004) on the shared machinery. This module holds the routine
checklist's rules (no I/O); ``logistics_schedule`` the schedules and their visits, ``logistics_appraisal`` the
staff and their appraisal, ``fixes`` the fixes: they import this one, and the appraisal the schedule.

- Routine inspections: a schedule opens one school inspection (stage ``self``: the school's duty officer
  inspects its own canteen and shop) per visit day, every ``everyDays`` days over the term; the duty officer ticks
  the pass/fail checklist as the ``duty_officer`` rater (answers ``duty_officer:<article>``) offline with photos,
  through sync and the uploads like any inspection.
- Fixes (``fixes.py``): a visit submitted with a failed critical item raises a fix due ``fixWithinDays`` after
  the visit day, stored in the submit's own transaction; it closes only when a later submitted visit passes that
  item with a photo on it (the photo of the fix). A pass without a photo leaves it open (``passedWithoutPhoto``).
- Staff appraisal: Σ weight × score over the standard's raters (routine 70 % = duty officer 40 % + students
  15 % + class teachers 15 %; end of term 30 %). The duty officer's score of a staff member is the share of their
  post's items (canteen: section 1, shop: section 2) passed over the term's submitted visits × 100; the other
  raters give scores, several per rater kind, averaged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from backend.standards.schemas import RATER_SEPARATOR, Answer, Article, Section, Standard

DUTY_OFFICER = "duty_officer"
POST_SECTION = {"canteen": "1", "shop": "2"}
SUBMITTED = ("submitted", "accepted")


def visit_days(starts_on: date, ends_on: date, every_days: int) -> list[date]:
    """The visit days of a schedule: from ``starts_on`` every ``every_days`` days, up to ``ends_on``."""
    count = (ends_on - starts_on).days // every_days + 1 if ends_on >= starts_on else 0
    return [starts_on + timedelta(days=every_days * n) for n in range(count)]


def checklist_articles(sections: tuple[Section, ...], under: str | None = None) -> list[Article]:
    found: list[Article] = []
    for section in sections:
        inside = under is None or section.code == under
        if inside:
            found.extend(section.articles)
        found.extend(checklist_articles(section.sections, None if inside else under))
    return found


def checklist_answer(items: Mapping[str, Answer], article: str) -> Answer | None:
    return items.get(f"{DUTY_OFFICER}{RATER_SEPARATOR}{article}", items.get(article))


def tally_visit(standard: Standard, items: Mapping[str, Answer]) -> tuple[int, int, list[str]]:
    """(passed, applicable, failed critical articles) of one visit's duty-officer answers."""
    passed = applicable = 0
    critical: list[str] = []
    for article in checklist_articles(standard.sections):
        value = checklist_answer(items, article.number)
        if value is True:
            passed += 1
            applicable += 1
        elif value is False:
            applicable += 1
            if article.critical:
                critical.append(article.number)
    return passed, applicable, critical
