"""The programme's own records: drawn review samples and returned opinions."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Float, ForeignKey, Text, Timestamptz, Varchar
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
