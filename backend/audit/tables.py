from __future__ import annotations

from piccolo.columns import JSONB, BigSerial, SmallInt, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AuditLog(Table, tablename="audit_log"):
    """Append-only; each row carries the hash of the previous row of its chain, so an edit or a gap shows."""

    id = BigSerial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow())
    user_id = Varchar(length=36, null=True, default=None)
    client_id = Varchar(length=100, null=True, default=None)
    action = Varchar(length=60)
    entity = Varchar(length=200)
    details = JSONB(default={})
    hlc = Varchar(length=60, null=True, default=None)
    mutation_id = Varchar(length=30, null=True, default=None)
    prev_hash = Varchar(length=64)
    # Not unique: the chain links rows by prev_hash; a unique index on random digests cost more than the
    # rest of a sync push's writes (every insert touched a random index page).
    row_hash = Varchar(length=64)
    # which of the chains (``audit.services.chain_for``) the row extends; a chain's rows link in id order
    chain = SmallInt(default=0)
