"""The last byte of an upload: whole-file check, content check, then blob + outbox write (or rejection)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from piccolo.engine.base import Engine

from media import spool
from media.db import write_tx
from media.faults import crash_point
from media.jobs import enqueue_job
from media.storage import blob_key
from media.tables import Blob, BlobHolder, Upload
from media.upload_errors import ContentRejected, DigestMismatch
from media.upload_types import (
    ContentFacts,
    UploadConfig,
    UploadStatus,
    Validator,
    forget_hash,
    now_ms,
    utc_from_ms,
)


async def blob_state(sha256_hex: str) -> dict[str, Any] | None:
    row: dict[str, Any] | None = await Blob.select().where(Blob.sha256 == sha256_hex).first()
    return row


async def blobs(digests: Collection[str]) -> dict[str, dict[str, Any]]:
    """The blob rows of these sha256 digests (those that exist), by digest."""
    if not digests:
        return {}
    return {row["sha256"]: row for row in await Blob.select().where(Blob.sha256.is_in(list(digests)))}


async def stored_blobs(digests: Collection[str]) -> set[str]:
    """Which of these sha256 digests are stored blobs (on the caller's transaction, if one is open)."""
    if not digests:
        return set()
    rows = await Blob.select(Blob.sha256).where((Blob.state == "stored") & Blob.sha256.is_in(list(digests)))
    return {row["sha256"] for row in rows}


async def received_blobs(digests: Collection[str]) -> set[str]:
    """Which of these digests arrived whole and were not refused (spooled or stored): their facts are known."""
    if not digests:
        return set()
    rows = await Blob.select(Blob.sha256).where((Blob.state != "rejected") & Blob.sha256.is_in(list(digests)))
    return {row["sha256"] for row in rows}


def holder_key(sha256_hex: str, user_id: uuid.UUID) -> str:
    return f"{sha256_hex}:{user_id}"


async def held_blobs(digests: Collection[str], user_id: uuid.UUID) -> set[str]:
    """Which of these digests ``user_id`` proved to hold (uploaded the bytes of) at least once."""
    if not digests:
        return set()
    rows = await BlobHolder.select(BlobHolder.sha256).where(
        BlobHolder.key.is_in([holder_key(sha, user_id) for sha in digests])
    )
    return {row["sha256"] for row in rows}


async def stored_blobs_held(digests: Collection[str], user_id: uuid.UUID) -> set[str]:
    """Stored blobs the user holds: only these need no upload (the push's ``uploadRequired``)."""
    stored = await stored_blobs(digests)
    return stored & await held_blobs(stored, user_id)


async def arrived_blobs_held(digests: Collection[str], user_id: uuid.UUID) -> set[str]:
    """Blobs whose whole verified file is here (spooled or stored, not rejected) that the user holds: a ledger
    counts toward its article's minimum documents only then, as in the receipt (``received`` or ``stored``)."""
    if not digests:
        return set()
    rows = await Blob.select(Blob.sha256).where(
        Blob.state.is_in(["spooled", "stored"]) & Blob.sha256.is_in(list(digests))
    )
    arrived = {row["sha256"] for row in rows}
    return arrived & await held_blobs(arrived, user_id)


async def hold(sha256_hex: str, user_id: uuid.UUID) -> None:
    """Record that ``user_id`` sent the whole file of ``sha256_hex`` (verified by its hash), on the caller's
    transaction: the one that ends the upload session, so a finished upload is never without its holder."""
    await BlobHolder.insert(
        BlobHolder(key=holder_key(sha256_hex, user_id), sha256=sha256_hex, user_id=user_id)
    ).on_conflict(action="DO NOTHING")


async def finalize(
    *,
    engine: Engine[Any],
    config: UploadConfig,
    validator: Validator,
    upload: UploadStatus,
    user_id: uuid.UUID,
    digest: str | None = None,
) -> str:
    """Whole-file sha256, content check, then blob + transfer/derive jobs in one transaction.

    ``digest`` is the sha256 carried along while appending (this process saw every byte); without it the
    part is read once in a worker thread. Runs under the upload's lock. Returns the blob state (``spooled``,
    or ``stored`` if an identical file already was). Raises DigestMismatch (spool deleted) or
    ContentRejected (spool deleted, blob recorded as rejected).
    """
    sha = upload.sha256
    size = upload.size
    part = upload.part
    if digest is None:
        digest, count = await anyio.to_thread.run_sync(spool.sha256_file, part, None)
    else:
        count = size
    if count != size or digest != sha:
        await drop_upload(engine, config, upload.id)
        raise DigestMismatch(
            f"the file's sha256 is {digest} ({count} bytes), not the declared {sha}; upload it again",
            actual=digest,
        )
    # the content check (a worker thread) runs while the database is asked whether these bytes are known
    checked = asyncio.ensure_future(anyio.to_thread.run_sync(validator, part))
    try:
        existing = await blob_state(sha)
    except BaseException:
        await _settle(checked)
        raise
    if existing is not None and existing["state"] in ("spooled", "stored"):
        await _settle(checked)
        forget_hash(upload.id)
        async with write_tx(engine):  # the sender holds the bytes in the commit that ends the session
            await hold(sha, user_id)
            await Upload.delete().where(Upload.id == upload.id)
        await anyio.to_thread.run_sync(remove_files, config.spool_root, str(upload.id))
        return str(existing["state"])
    try:
        facts = await checked
    except ContentRejected as exc:
        forget_hash(upload.id)
        async with write_tx(engine):  # the refusal (its sender a holder) in the commit that ends the session
            await record_rejection(engine, sha, size, exc, holder=user_id)
            await Upload.delete().where(Upload.id == upload.id)
        await anyio.to_thread.run_sync(remove_files, config.spool_root, str(upload.id))
        crash_point("upload_finished")
        raise
    target = spool.spooled_path(config.spool_root, sha)
    await anyio.to_thread.run_sync(spool.link_verified, part, target)
    now = now_ms()
    async with write_tx(engine):
        inserted = (
            await Blob.insert(new_blob(sha, size, facts, spool_path=str(target)))
            .on_conflict(action="DO NOTHING")
            .returning(Blob.sha256)
        )
        if inserted:
            for kind in JOB_KINDS:
                await enqueue_job(kind, sha, now=now)
        # in the same commit: a crash before the answer must not leave a stored file its sender does not hold
        # (POST would open a new session at offset 0, below what the 204s acknowledged)
        await hold(sha, user_id)
        await Upload.delete().where(Upload.id == upload.id)
    # after the commit: a crash before this leaves a finished session without a row, which a resumed PATCH
    # finishes (the blob exists) and housekeeping otherwise removes once idle past the TTL
    await anyio.to_thread.run_sync(remove_files, config.spool_root, str(upload.id))
    crash_point("upload_finished")  # the session is over, its answer not sent
    return "spooled"


# the jobs written with a new blob: copy it to storage, make its derivatives
JOB_KINDS = ("transfer", "derive")


async def _settle(future: asyncio.Future[Any]) -> None:
    """Wait for a side task whose result is no longer wanted (its error too)."""
    with contextlib.suppress(Exception):
        await future


def remove_files(root: Path, upload_id: str) -> None:
    # the sidecar first: without it no PATCH or HEAD finds the upload any more
    meta = spool.meta_path(root, upload_id)
    spool.remove(meta)
    spool.remove(spool.part_path(root, upload_id))
    spool.remove(meta.with_name(f".{meta.name}.tmp"))


async def drop_upload(engine: Engine[Any], config: UploadConfig, upload_id: uuid.UUID) -> None:
    forget_hash(upload_id)
    await anyio.to_thread.run_sync(remove_files, config.spool_root, str(upload_id))
    async with write_tx(engine):
        await Upload.delete().where(Upload.id == upload_id)


async def record_rejection(
    engine: Engine[Any], sha: str, size: int, exc: ContentRejected, *, holder: uuid.UUID
) -> None:
    """Remember why these bytes were refused (no bytes kept), so the receipt can say it. Joins the caller's
    transaction if one is open (the one that ends the upload session).

    The sender sent the whole file and it matched its hash: it holds these bytes like any uploader, or its
    photo's receipt would read ``awaiting_upload`` instead of the refusal."""
    async with write_tx(engine):
        await hold(sha, holder)
        if not await Blob.exists().where(Blob.sha256 == sha):
            await Blob.insert(
                Blob(
                    sha256=sha,
                    size=size,
                    mime="",
                    storage_key="",
                    state="rejected",
                    spool_path=None,
                    reject_reason=f"{exc.code}: {exc.detail}",
                )
            )


def new_blob(sha: str, size: int, facts: ContentFacts, *, spool_path: str | None) -> Blob:
    """A verified file's row: ``spooled`` at ``spool_path``, or ``stored`` already (no spool path)."""
    return Blob(
        sha256=sha,
        size=size,
        mime=facts.mime,
        storage_key=blob_key(sha),
        state="spooled" if spool_path else "stored",
        spool_path=spool_path,
        stored_at=None if spool_path else utc_from_ms(now_ms()),
        width=facts.width,
        height=facts.height,
        capture_time=_aware(facts.capture_time),
        capture_local=_wall_clock(facts.capture_time),
        gps_lat=facts.gps_lat,
        gps_lon=facts.gps_lon,
    )


def _aware(value: datetime | None) -> datetime | None:
    return value if value is not None and value.tzinfo is not None else None


def _wall_clock(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat(timespec="seconds")


def image_validator(*, max_pixels: int, max_bytes: int) -> Validator:
    """The upload's content check without decoding pixels: sniffed type, size and pixel limits from the header
    (bombs), truncation from the file structure. The full decode happens in the derivative worker."""

    def validate(path: Path) -> ContentFacts:
        from media.images import ImageRejected, check_image

        try:
            facts = check_image(path, max_pixels, max_bytes=max_bytes)
        except ImageRejected as exc:
            raise ContentRejected(exc.detail or exc.reason, code=exc.reason) from exc
        return ContentFacts(
            mime=facts.mime,
            width=facts.width,
            height=facts.height,
            capture_time=facts.captured_at,
            gps_lat=facts.latitude,
            gps_lon=facts.longitude,
        )

    return validate


def evidence_validator(*, max_pixels: int, max_bytes: int) -> Validator:
    """Photos as :func:`image_validator`; a PDF, DOCX or XLSX (told by its bytes) through
    media.documents.check_document (encrypted, macro-enabled and zip-bomb files refused with a reason code and
    its parameters)."""
    photos = image_validator(max_pixels=max_pixels, max_bytes=max_bytes)

    def validate(path: Path) -> ContentFacts:
        from media.documents import DocumentRejected, check_document, is_document_header

        with path.open("rb") as handle:
            header = handle.read(1024)
        if not is_document_header(header):
            return photos(path)
        try:
            facts = check_document(path, max_bytes=max_bytes)
        except DocumentRejected as exc:
            raise ContentRejected(exc.detail, code=exc.reason, params=exc.params) from exc
        return ContentFacts(mime=facts.mime)

    return validate
