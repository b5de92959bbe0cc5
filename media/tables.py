"""Media tables: content-addressed blobs, resumable upload sessions and the outbox of background jobs.

Times that workers compare in SQL (due, lease, expiry) are epoch milliseconds (BigInt): the same integer
comparison on SQLite and PostgreSQL, no text-vs-timestamp pitfalls in raw queries.
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Boolean, DoublePrecision, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Blob(Table, tablename="media_blob"):
    """One file's bytes, keyed by its sha256; stored once however many photos point at it.

    state: ``spooled`` (whole file verified on our disk, transfer pending) → ``stored`` (in object storage,
    size and sha256 confirmed; the spool copy is gone) or ``rejected`` (not an acceptable image; nothing kept).
    """

    sha256 = Varchar(length=64, primary_key=True)
    size = BigInt()
    # sniffed from the bytes, never taken from the client's claim
    mime = Varchar(length=100)  # room for the OOXML types (71 characters); m0027
    storage_key = Varchar(length=200)
    state = Varchar(length=10, default="spooled", index=True)
    spool_path = Text(null=True, default=None)
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    # EXIF DateTimeOriginal: an instant only when the file gives its UTC offset; always the wall clock as text
    capture_time = Timestamptz(null=True, default=None)
    capture_local = Varchar(length=32, null=True, default=None)
    gps_lat = DoublePrecision(null=True, default=None)
    gps_lon = DoublePrecision(null=True, default=None)
    reject_reason = Text(null=True, default=None)
    # derivatives (thumb, preview) exist in storage under derivative_key(sha256, variant)
    derived = Boolean(default=False)
    # perceptual hash (media.phash.dhash, signed 64-bit) of the upright picture, set with the derivatives,
    # and its four 16-bit bands: near duplicates are found by equality on a band. Each band has an index
    # on (band, phash), written by hand in the migrations (m0010), so a lookup reads candidates' hashes from
    # the indexes alone
    phash = BigInt(null=True, default=None)
    ph0 = Integer(null=True, default=None)
    ph1 = Integer(null=True, default=None)
    ph2 = Integer(null=True, default=None)
    ph3 = Integer(null=True, default=None)
    derive_error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    stored_at = Timestamptz(null=True, default=None)


class BlobHolder(Table, tablename="media_blob_holder"):
    """Who proved they hold a blob's bytes by uploading them (issue 21: knowing a sha256 is no right to read).

    Storage is deduplicated silently, but a photo's bytes are served, and its upload counted as done, only
    when the user who added the photo is a holder: a new owner uploads the bytes, which are then discarded.
    ``key`` is ``<sha256>:<user id>``.
    """

    key = Varchar(length=101, primary_key=True)
    sha256 = Varchar(length=64, index=True)
    user_id = UUID()
    created_at = Timestamptz(default=TimestamptzNow())


class Upload(Table, tablename="media_upload"):
    """A tus upload session for one photo's bytes; removed once the file is verified (or refused).

    Lists and expires sessions; the PATCH path reads the spool's sidecar instead (no query per chunk).
    ``expires_at_ms`` is a lower bound that housekeeping moves to the part's mtime + TTL.
    """

    id = UUID(primary_key=True)
    photo_id = UUID(index=True)
    sha256 = Varchar(length=64)
    size = BigInt()
    mime = Varchar(length=100, default="")  # m0027
    # local spool: 0, not maintained (the part file's size is the offset); S3 spool: the offset
    offset = BigInt(default=0)
    spool_path = Text()
    user_id = UUID()
    created_at_ms = BigInt()
    expires_at_ms = BigInt()
    # the S3 spool only (media/upload_s3.py): multipart upload id, JSON list of parts {n, etag, size}, and
    # the bytes of the tail object that count (offset = sum of the parts + tail_size)
    multipart_id = Text(null=True, default=None)
    parts = Text(default="[]")
    tail_size = BigInt(default=0)


class Job(Table, tablename="media_job"):
    """The outbox: ``transfer`` (spool → storage) and ``derive`` (thumb, preview) jobs keyed by sha256.

    A worker claims a due job by setting a lease (owner + until); a lease that runs out is reclaimed by any
    worker, so a crashed process never strands a job. Failures back off exponentially with jitter.
    """

    id = UUID(primary_key=True)
    kind = Varchar(length=10)
    key = Varchar(length=64, index=True)
    due_at = BigInt(index=True)
    lease_owner = Varchar(length=100, null=True, default=None)
    lease_until = BigInt(null=True, default=None)
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    done_at = BigInt(null=True, default=None)
    created_at_ms = BigInt()


BAND_COLUMNS = (Blob.ph0, Blob.ph1, Blob.ph2, Blob.ph3)

MEDIA_TABLES: tuple[type[Table], ...] = (Blob, BlobHolder, Upload, Job)
