"""One row per requested file; its work item is a ``media_job`` row of kind ``export`` keyed by this id."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigInt, Float, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class ExportJob(Table, tablename="export_job"):
    """status: ``queued`` → ``running`` → ``done`` (the file is in storage under ``storage_key``) or
    ``failed`` (``error`` says why). Who may read it: admin, the requester, and users of the same scope (an
    office whose region contains ``scope_region``, the clinic of ``scope_facility``)."""

    id = UUID(primary_key=True)
    kind = Varchar(length=40)
    format = Varchar(length=10)
    params = JSONB(default={})
    requested_by = UUID(index=True)
    scope_region = UUID(null=True, default=None, index=True)
    scope_facility = UUID(null=True, default=None, index=True)
    # params' round_id as a column, so a round's exports are found by the database (list_exports)
    round_id = UUID(null=True, default=None, index=True)
    status = Varchar(length=10, default="queued")
    progress = Float(default=0.0)
    progress_note = Text(default="")
    rows = Integer(default=0)
    filename = Varchar(length=200, default="")
    content_type = Varchar(length=100, default="")
    storage_key = Varchar(length=200, null=True, default=None)
    size = BigInt(null=True, default=None)
    error = Text(null=True, default=None)
    attempts = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
