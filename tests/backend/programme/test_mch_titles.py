"""A title's state after a decided re-check (backend/programme/mch_titles.py: after_recheck), the one place that
moves it: named → fix_required (a deadline) → revoked, and back to named when the fix passes."""

from __future__ import annotations

from datetime import date
from typing import Any

from backend.programme.mch_titles import after_recheck
from backend.programme.title_tables import ProgrammeTitle

TODAY = date(2026, 11, 30)


def title(status: str, valid_until: date = date(2028, 1, 1)) -> dict[str, Any]:
    return {"kind": "mch_county", "status": status, "valid_until": valid_until}


def test_a_failed_recheck_of_a_held_title_gives_the_kinds_fix_deadline() -> None:
    moved = after_recheck(title("named"), passed=False, today=TODAY)
    # the kind's fixWithinMonths (3), on China's calendar: 30 Nov + 3 months is the end of February
    assert moved.fix_due_on == date(2027, 2, 28)
    assert moved.status == "fix_required"
    assert moved.values == {
        ProgrammeTitle.status: "fix_required",
        ProgrammeTitle.fix_due_on: moved.fix_due_on,
    }


def test_a_failure_while_fixing_revokes_and_a_pass_closes_the_fix() -> None:
    revoked = after_recheck(title("fix_required"), passed=False, today=TODAY)
    assert (revoked.status, revoked.fix_due_on) == ("revoked", None)
    assert revoked.values == {ProgrammeTitle.status: "revoked", ProgrammeTitle.revoked_on: TODAY}
    closed = after_recheck(title("fix_required"), passed=True, today=TODAY)
    assert closed.values == {ProgrammeTitle.status: "named", ProgrammeTitle.fix_due_on: None}


def test_a_pass_of_a_held_title_and_an_expired_title_change_nothing() -> None:
    assert after_recheck(title("named"), passed=True, today=TODAY).values == {}
    expired = after_recheck(title("named", valid_until=date(2026, 1, 1)), passed=False, today=TODAY)
    assert (expired.status, expired.values, expired.fix_due_on) == ("expired", {}, None)
