"""Synced data. Rows are updated in place (live state) and carry the inspection version of their last change,
so a pull costs what is live, not the history."""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Boolean, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Photo(Table, tablename="photo"):
    """An evidence photo: an add-wins set member keyed by the device's photo id; removal is a tombstone."""

    id = UUID(primary_key=True)
    inspection_id = UUID(index=True)
    item_code = Varchar(length=40)
    requirement_id = Varchar(length=20, null=True, default=None)
    sha256 = Varchar(length=64, index=True)
    size = Integer()
    mime = Varchar(length=40)
    taken_at = Varchar(length=40, null=True, default=None)
    caption = Text(default="")
    caption_version = Integer(default=0)
    deleted = Boolean(default=False)
    # inspection version of the last change to this row (pull sends rows newer than the cookie)
    version = Integer(default=0)
    created_by = UUID(null=True, default=None)
    client_id = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    # facts read from the bytes once they arrive (EXIF), and the review office's flag for reuse
    capture_time = Timestamptz(null=True, default=None)
    gps_lat = Real(null=True, default=None)
    gps_lon = Real(null=True, default=None)
    reused_elsewhere = Boolean(default=False)
    # inspection version of the last add (or revive); a removal wins only over adds it has seen
    add_version = Integer(default=0)
    # evidence flags (DESIGN §7) as JSON, written by the backend once the bytes arrived (NULL: not computed
    # yet); pull shows each caller only the related photos it may see
    flags = Text(null=True, default=None)


class AnswerRegister(Table, tablename="answer_register"):
    """A register (answer value, N/A flag, photo caption), updated in place. ``key`` is
    ``<inspectionId>/<itemCode>/<field>`` for answers and ``caption/<photoId>`` for captions."""

    key = Varchar(length=240, primary_key=True)
    inspection_id = UUID(index=True)
    item_code = Varchar(length=40)
    # value | na | caption
    field = Varchar(length=10)
    # JSON of the value (grade code, points, true/false, text, null)
    value = Text(default="null")
    version = Integer(default=0)
    # version of the last write by another client than ``client_id`` (see sync/policy.py)
    run_start = Integer(default=0)
    user_id = UUID(null=True, default=None)
    client_id = Varchar(length=100, default="")
    hlc = Varchar(length=60, default="")
    mutation_id = BigInt(default=0)
    # the open conflict on this register, if any
    conflict_id = UUID(null=True, default=None)


class NoteEntry(Table, tablename="note_entry"):
    """A note on an item: one author each, so notes never conflict."""

    id = UUID(primary_key=True)
    inspection_id = UUID(index=True)
    item_code = Varchar(length=40)
    author_id = UUID()
    text = Text(default="")
    version = Integer(default=0)
    client_id = Varchar(length=100, default="")
    hlc = Varchar(length=60, default="")
    mutation_id = BigInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class SyncConflict(Table, tablename="sync_conflict"):
    """Concurrent different values of one register, every candidate kept until a person resolves it."""

    id = UUID(primary_key=True)
    inspection_id = UUID(index=True)
    register_key = Varchar(length=240, index=True)
    item_code = Varchar(length=40)
    field = Varchar(length=10)
    base_version = Integer(default=0)
    # JSON list of {value, userId, clientId, hlc, mutationId}
    candidates = Text(default="[]")
    # open | resolved
    status = Varchar(length=10, default="open")
    resolution = Text(null=True, default=None)
    resolved_by = UUID(null=True, default=None)
    version = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class SyncClient(Table, tablename="sync_client"):
    """One device install (client) of a client group; ``last_mutation_id`` moves with the effects."""

    client_id = Varchar(length=100, primary_key=True)
    client_group_id = Varchar(length=100, index=True)
    user_id = UUID()
    last_mutation_id = BigInt(default=0)
    # JSON of the results of the most recent mutations, so a retried push gets the same answer
    recent_results = Text(default="[]")
    updated_at = Timestamptz(default=TimestamptzNow())


SYNC_TABLES: tuple[type[Table], ...] = (Photo, AnswerRegister, NoteEntry, SyncConflict, SyncClient)
