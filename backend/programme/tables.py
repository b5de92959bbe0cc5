"""The programme's own records: drawn review samples, returned opinions, a round's stage calendar, late
applications an office let in, and expert team draws."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Date, Float, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import User
from backend.inspections.tables import Application, Inspection, Round
from backend.registry.tables import Facility, Region


class ReviewSample(Table, tablename="review_sample"):
    """One draw of basic-tier applicants for a sampled review stage (city or province) over a region.
    At most one per (round, level, region, tier): a re-draw before use replaces it (audited)."""

    id = UUID(primary_key=True)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    level = Varchar(length=10)  # city | province
    region = ForeignKey(Region, on_delete=OnDelete.restrict)
    tier = Varchar(length=30)
    ratio = Float()
    # the seed that makes the draw reproducible (sampling.draw with the same pool and seed draws the same)
    seed = Varchar(length=64)
    # [{"county": id, "countyName": …, "pool": [facility ids], "drawn": [facility ids], "why": text}, …]
    strata = JSONB(default=[])
    drawn_by = ForeignKey(User, on_delete=OnDelete.restrict)
    drawn_at = Timestamptz(default=TimestamptzNow())


class ReturnedOpinion(Table, tablename="returned_opinion"):
    """A written opinion given with a return (of an application or an inspection); the clinic reads it."""

    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    application = ForeignKey(Application, null=True, default=None, on_delete=OnDelete.restrict)
    inspection = ForeignKey(Inspection, null=True, default=None, on_delete=OnDelete.restrict)
    stage = Varchar(length=10, null=True, default=None)
    opinion = Text()
    returned_by = ForeignKey(User, on_delete=OnDelete.restrict)
    returned_at = Timestamptz(default=TimestamptzNow())


class RoundDeadline(Table, tablename="round_deadline"):
    """A round's deadline for one stage (application | county | city | province), a date in China's calendar:
    the stage closes at the end of that day (UTC+8). One per (round, stage); a change replaces it (audited)."""

    id = UUID(primary_key=True)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    stage = Varchar(length=20)
    due_on = Date()
    set_by = ForeignKey(User, on_delete=OnDelete.restrict)
    set_at = Timestamptz(default=TimestamptzNow())


class LateApplication(Table, tablename="late_application"):
    """An office's audited decision to let a facility apply after the round's application window closed."""

    id = UUID(primary_key=True)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    reason = Text()
    granted_by = ForeignKey(User, on_delete=OnDelete.restrict)
    granted_at = Timestamptz(default=TimestamptzNow())


class TeamDraw(Table, tablename="team_draw"):
    """A seeded random draw of an inspection's expert team from the pool (抽取专家): the pool and the seed are
    kept, so the draw is reproduced from them (expert_draw.draw_team)."""

    id = UUID(primary_key=True)
    inspection = ForeignKey(Inspection, on_delete=OnDelete.restrict)
    seed = Varchar(length=64)
    size = Integer()
    # the eligible experts' user ids, sorted; those left out with why: [{"userId", "reason"}]
    pool = JSONB(default=[])
    excluded = JSONB(default=[])
    # the drawn user ids in draw order (the first is the lead)
    drawn = JSONB(default=[])
    # the programme's team rules applied (ExpertTeamRules in wire form)
    rules = JSONB(default={})
    drawn_by = ForeignKey(User, on_delete=OnDelete.restrict)
    drawn_at = Timestamptz(default=TimestamptzNow())
