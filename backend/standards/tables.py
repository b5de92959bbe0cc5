from __future__ import annotations

from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class StandardVersion(Table, tablename="standard_version"):
    """One version of a standard. Published versions are immutable; a new edition gets a new id."""

    id = Varchar(length=120, primary_key=True)
    programme = Varchar(length=200)
    edition = Varchar(length=40)
    name = Varchar(length=300)
    scoring_mode = Varchar(length=20)
    # draft | published
    status = Varchar(length=12, default="draft")
    # the validated standard, re-encoded canonically, so the ETag only changes when the content does
    body = Text()
    etag = Varchar(length=64)
    # shipped | import
    source = Varchar(length=10, default="import")
    created_by = Varchar(length=36, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)
