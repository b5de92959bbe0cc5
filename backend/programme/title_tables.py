"""Records of programmes whose subject earns a title (MCH demonstration counties, seed 001): the county's own
indicator targets (the table lives in ``backend/review/tables.py``: conclusions are scored with them), the title
with its validity (written by ``mch_titles.py`` only), and its unannounced re-checks (``mch_rechecks.py``)."""

from __future__ import annotations

from piccolo.columns import UUID, Date, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import User
from backend.inspections.tables import Inspection, Round
from backend.registry.tables import Facility
from backend.review.tables import ConfirmedConclusion
from backend.review.tables import SubjectTarget as SubjectTarget  # the conclusions score with it (review)


class ProgrammeTitle(Table, tablename="programme_title"):
    """A title a subject was named with (示范县), valid from ``named_on`` to ``valid_until``.
    status: named | fix_required (a re-check failed; fix by ``fix_due_on``) | revoked (the fix failed)."""

    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    kind = Varchar(length=40)
    tier = Varchar(length=60)
    tier_label = Varchar(length=200)
    standard_version_id = Varchar(length=120)
    # the signed conclusion it rests on (the province's, or the city's for a county not drawn)
    conclusion = ForeignKey(ConfirmedConclusion, on_delete=OnDelete.restrict)
    # standard: the conclusion reached the tier; province: the province decided where no threshold exists
    decided_by = Varchar(length=20)
    reason = Text(default="")
    named_on = Date()
    valid_until = Date()
    status = Varchar(length=20, default="named")
    fix_due_on = Date(null=True, default=None)
    revoked_on = Date(null=True, default=None)
    named_by = ForeignKey(User, on_delete=OnDelete.restrict)
    named_at = Timestamptz(default=TimestamptzNow())


class TitleRecheck(Table, tablename="title_recheck"):
    """An unannounced re-check (不定期抽查) of a named subject: a review inspection opened without an application.
    outcome: open | passed | failed."""

    id = UUID(primary_key=True)
    title = ForeignKey(ProgrammeTitle, on_delete=OnDelete.restrict)
    inspection = ForeignKey(Inspection, on_delete=OnDelete.restrict)
    # the title's status when the re-check opened: named (a routine re-check) or fix_required (checks the fix)
    checks = Varchar(length=20)
    outcome = Varchar(length=10, default="open")
    decided_by = Varchar(length=20, null=True, default=None)
    reason = Text(default="")
    fix_due_on = Date(null=True, default=None)
    opened_by = ForeignKey(User, on_delete=OnDelete.restrict)
    opened_at = Timestamptz(default=TimestamptzNow())
    decided_at = Timestamptz(null=True, default=None)
