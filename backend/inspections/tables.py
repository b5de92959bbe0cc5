from __future__ import annotations

from piccolo.columns import UUID, Boolean, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import User
from backend.registry.tables import Facility, Region


class Round(Table, tablename="eval_round"):
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    year = Integer()
    region = ForeignKey(Region, null=True, on_delete=OnDelete.restrict)
    starts_on = Date(null=True, default=None)
    ends_on = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Application(Table, tablename="application"):
    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    # basic | recommended | qualified
    tier = Varchar(length=30)
    # applied | withdrawn | accepted | returned
    status = Varchar(length=20, default="applied")
    created_at = Timestamptz(default=TimestamptzNow())
    # when it was accepted, returned or withdrawn; a returned facility re-applies no sooner than 6 months later
    decided_at = Timestamptz(null=True, default=None)


class Inspection(Table, tablename="inspection"):
    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    # self | county | city | province
    stage = Varchar(length=10)
    standard_version_id = Varchar(length=120)
    # draft | in_progress | submitted | returned | accepted
    status = Varchar(length=20, default="draft")
    # bumped under a row lock on every applied change; sync cookies are built from it
    version = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    # a review stage's way of reviewing: onsite (现场复核) | desk (资料复核, from the uploaded material);
    # null for a self-assessment (and for reviews made before the distinction: on site)
    review_mode = Varchar(length=10, null=True, default=None)


class InspectionMember(Table, tablename="inspection_member"):
    # (inspection, user) is unique: a unique index added by hand in migration m0002
    id = UUID(primary_key=True)
    inspection = ForeignKey(Inspection, on_delete=OnDelete.restrict)
    user = ForeignKey(User, on_delete=OnDelete.restrict)
    is_lead = Boolean(default=False)
