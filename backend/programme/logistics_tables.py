"""Records of the school logistics programme (seed 004): the routine inspection schedule and its visits, the
fixes a failed critical item raises, the staff and the raters' appraisal scores. The schedule and its visits are
``logistics_schedule.py``'s, the fixes ``fixes.py``'s, the staff and scores ``logistics_appraisal.py``'s."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Date, DoublePrecision, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import User
from backend.inspections.tables import Inspection, Round
from backend.registry.tables import Facility


class RoutineSchedule(Table, tablename="routine_schedule"):
    """Routine inspections of a school's canteen and shop every ``every_days`` days from ``starts_on`` to
    ``ends_on`` (both included) at a round (a term)."""

    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    standard_version_id = Varchar(length=120)
    every_days = Integer()
    starts_on = Date()
    ends_on = Date()
    # a failed critical item is to be fixed within this many days
    fix_within_days = Integer()
    created_by = ForeignKey(User, on_delete=OnDelete.restrict)
    created_at = Timestamptz(default=TimestamptzNow())


class RoutineVisit(Table, tablename="routine_visit"):
    """One scheduled routine inspection: the school's own (stage ``self``) inspection due on ``due_on``."""

    id = UUID(primary_key=True)
    schedule = ForeignKey(RoutineSchedule, on_delete=OnDelete.restrict)
    due_on = Date()
    inspection = ForeignKey(Inspection, on_delete=OnDelete.restrict)


class RoutineFix(Table, tablename="routine_fix"):
    """A failed critical item to fix by ``due_on``; closed only when a later visit passes the item with a photo
    (the photo of the fix). status: open | closed."""

    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    inspection = ForeignKey(Inspection, on_delete=OnDelete.restrict)
    article = Varchar(length=40)
    raised_on = Date()
    due_on = Date()
    status = Varchar(length=10, default="open")
    closing_inspection = ForeignKey(Inspection, null=True, default=None, on_delete=OnDelete.restrict)
    closing_photo_id = UUID(null=True, default=None)
    closed_on = Date(null=True, default=None)


class SchoolStaff(Table, tablename="school_staff"):
    """A logistics staff member of a school; ``post`` says which part of the checklist is their work."""

    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    name = Varchar(length=100)
    # canteen (食堂) | shop (小卖部)
    post = Varchar(length=20)
    active = Boolean(default=True)


class AppraisalScore(Table, tablename="appraisal_score"):
    """One rater's score (0–100) of a staff member at a round; several raters of one kind are averaged."""

    id = UUID(primary_key=True)
    staff = ForeignKey(SchoolStaff, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    rater = Varchar(length=40)
    rater_name = Varchar(length=100)
    score = DoublePrecision()
    given_by = ForeignKey(User, on_delete=OnDelete.restrict)
    given_at = Timestamptz(default=TimestamptzNow())
