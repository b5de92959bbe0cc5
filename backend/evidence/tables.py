"""A person's review of an evidence flag (the flags themselves live on the photo row, see services)."""

from __future__ import annotations

from piccolo.columns import UUID, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class EvidenceReview(Table, tablename="evidence_review"):
    """The latest review of one flag (photo × code); every review is also in the audit log.
    (photo_id, code) is unique: a unique index added by hand in the migration."""

    id = UUID(primary_key=True)
    photo_id = UUID(index=True)
    code = Varchar(length=30)
    # accepted (the flag is right: the evidence is not trusted) | disputed (the flag is wrong)
    status = Varchar(length=10)
    reason = Text()
    reviewed_by = UUID()
    reviewed_at = Timestamptz(default=TimestamptzNow())
