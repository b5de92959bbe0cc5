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
    mime = Varchar(length=100)  # room for the OOXML types (71 characters); m0027
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
    # deleteNote by its author: a tombstone, so pull sends the deletion to every device
    deleted = Boolean(default=False)
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
    # what the device reported with its last push (clientState): its app version, what it still held once
    # that push was taken, and when (the office's dashboard); null until a push reported it
    app_version = Varchar(length=100, null=True, default=None)
    queued_mutations = Integer(null=True, default=None)
    queued_photos = Integer(null=True, default=None)
    queued_bytes = BigInt(null=True, default=None)
    state_at = Timestamptz(null=True, default=None)
    # the name the device goes by on the office's dashboard (given on the device, or its model)
    device_name = Varchar(length=100, null=True, default=None)


class ImprovementItem(Table, tablename="improvement_item"):
    """An item of a clinic's improvement plan (整改清单), anchored on its self-assessment inspection (which
    gives the facility and round, the lock and the version counter). Its text fields are registers
    (``answer_register`` rows keyed ``improvement/<id>/<field>``, written by :mod:`sync.push.registers`);
    this row holds their current values. ``status`` is a server state machine, ``photo_ids`` an add-wins set."""

    id = UUID(primary_key=True)
    inspection_id = UUID(index=True)
    facility_id = UUID(index=True)
    round_id = UUID(index=True)
    # the article (and optionally one of its requirement items) the gap is about
    item_code = Varchar(length=40)
    requirement_id = Varchar(length=20, null=True, default=None)
    gap = Text(default="")
    # soon (近期能够实现) | continuous (持续改进) | needs_support (需要政府或部门支持)
    kind = Varchar(length=20)
    owner = Varchar(length=200, default="")
    # YYYY-MM-DD or NULL
    due_date = Varchar(length=10, null=True, default=None)
    # open | in_progress | done | needs_support
    status = Varchar(length=20, default="open")
    # JSON list of photo ids (photos of the same inspection and article) showing the fix
    photo_ids = Text(default="[]")
    # JSON of the article's self-assessed answer when the item was created (the "before" of 已改进 C→B)
    grade_before = Text(default="null")
    # inspection version at which the item was last marked done (0: never)
    done_version = Integer(default=0)
    # JSON {field: register version}: what a device sends as baseVersion when it edits a field
    field_versions = Text(default="{}")
    version = Integer(default=0)
    created_by = UUID(null=True, default=None)
    client_id = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    status_changed_at = Timestamptz(null=True, default=None)


SYNC_TABLES: tuple[type[Table], ...] = (
    Photo,
    AnswerRegister,
    NoteEntry,
    SyncConflict,
    SyncClient,
    ImprovementItem,
)
