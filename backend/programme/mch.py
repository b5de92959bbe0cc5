"""Programmes whose subject earns a title: the MCH demonstration counties (妇幼健康优质服务示范工程, seed 001).

The rounds, applications (the county's report to the city), the city's check (a ``city`` review of every
applicant), the province's ≥ 10 % sample and the sign-offs are the 基层行 machinery, read from the standard's
``programmeSettings`` and the kind (``kinds.py``). What only this kind has lives in four modules that import
one way (a contract in ``pyproject.toml``): ``mch_rechecks`` → ``mch_titles`` → ``mch_targets`` → this one
(the title's calendar and the kinds):
- the county's own indicator targets, never below the national value ("不得低于该目标值"), and the veto items and
  indicator floors beside a conclusion (``mch_targets``);
- naming a county demonstration county on the conclusion that decides it, valid ``titleValidYears`` (3) from
  the day it is named ("自公布之日起有效期为3年") (``mch_titles``);
- unannounced re-checks (不定期抽查): a province review opened without an application; a failure gives a
  deadline to fix (限期整改, ``fixWithinMonths``), a failure while fixing revokes the title (取消称号)
  (``mch_rechecks``).
Who decides: where the standard's threshold decides (a veto, a missed mandatory floor, a tier reached) it does;
where the threshold is not transcribed (``null``: undetermined) the province decides and writes its reason.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from backend.programme.kinds import kinds
from backend.programme.title_schemas import KindOut
from backend.standards.services import list_standards

CHINA = timezone(timedelta(hours=8))  # titles are named and fixes fall due on China's calendar days
ACTIVE = ("named", "fix_required")


def today_in_china(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(CHINA).date()


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def effective_status(row: dict[str, Any], today: date) -> str:
    """A title past its validity reads ``expired`` (its row keeps the last decision)."""
    status: str = row["status"]
    if status in ACTIVE and today > row["valid_until"]:
        return "expired"
    return status


# ------------------------------------------------------------------------------------------------- kinds


async def list_kinds() -> list[KindOut]:
    standards = await list_standards(include_drafts=False)
    out = []
    for kind in kinds():
        ids = [s.id for s in standards if s.programme == kind.programme]
        out.append(KindOut(kind=kind, standard_ids=sorted(ids)))
    return out
