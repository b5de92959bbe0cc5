"""What the two blob jobs of the ``media_job`` outbox do to one blob: transfer (spool → storage) and derive
(thumb, preview, perceptual hash). The worker (media/worker.py) claims the job and calls one of these.

Every step is idempotent (content-addressed keys, put_file skips an identical object), so a job done twice
after a lost lease stores nothing twice. ``PermanentFailure`` ends the job; ``RetryLater`` (like a
StorageError or an OSError) has the worker retry it with backoff.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiofiles
import anyio.to_thread
from piccolo.engine.base import Engine

from media import spool
from media.db import write_tx
from media.phash import bands, to_signed
from media.storage import BucketMissingError, SourceMismatchError, Storage, StorageError, validate_key
from media.tables import BAND_COLUMNS, Blob, Job

# the worker's logger: a job's lines read the same whichever module writes them
log = logging.getLogger("fieldcheck.media.worker")

VARIANTS: dict[str, int] = {"thumb": 320, "preview": 1600}


@dataclass(frozen=True)
class Derived:
    variants: dict[str, bytes]  # variant -> JPEG bytes
    dhash: int | None = None  # perceptual hash of the upright picture (media.phash)


# Blocking: (source file, {variant: longest side}) -> the derivatives; runs in a worker thread.
DeriveFn = Callable[[Path, dict[str, int]], Derived]


class DecodeRejected(Exception):
    """Raised by a DeriveFn when the file does not decode as an image (truncated, corrupt, bomb)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class PermanentFailure(Exception):
    """Retrying cannot help; the job ends with this error recorded."""


class RetryLater(Exception):
    """Transient; retried with backoff."""


def derivative_key(sha256_hex: str, variant: str) -> str:
    return validate_key(f"derived/{variant}/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}.jpg")


# ---------------------------------------------------------------------------------------------- transfer


async def transfer(sha: str, *, engine: Engine[Any], storage: Storage, clock: Callable[[], int]) -> None:
    blob = await Blob.select().where(Blob.sha256 == sha).first()
    if blob is None or blob["state"] == "rejected":
        return
    path = Path(blob["spool_path"]) if blob["spool_path"] else None
    if blob["state"] == "stored":
        await anyio.to_thread.run_sync(spool.remove, path)
        return
    key = blob["storage_key"]
    size = int(blob["size"])
    if path is None or not await anyio.to_thread.run_sync(path.exists):
        # crashed after the copy but before marking? then the object is there with the right size
        if await storage.stat(key) == size:
            await _mark_stored(engine, sha)
            return
        await _lose(engine, clock, sha, "the spool copy is missing and storage does not have it")
        raise PermanentFailure(f"{sha}: spool copy missing; the device must upload it again")
    try:
        stored = await _put(storage, key, path, sha, size, blob["mime"] or None)
    except SourceMismatchError as exc:
        # our verified spool copy changed on disk: throw it away, the device (which keeps photos until the
        # receipt says stored) uploads again. The store refusing or misreporting the body (BadDigest, a size
        # after the write) is an IntegrityError of the store's side: a StorageError, retried with backoff.
        await _lose(engine, clock, sha, f"spool copy damaged: {exc}")
        raise PermanentFailure(f"{sha}: spool copy damaged: {exc}") from exc
    confirmed = await storage.stat(key)
    if confirmed != size:
        raise RetryLater(f"{key}: storage reports {confirmed} bytes after the copy, expected {size}")
    log.info("stored %s (%d bytes, already present: %s)", key, size, stored.already_present)
    await _mark_stored(engine, sha)
    await anyio.to_thread.run_sync(spool.remove, path)


async def _put(storage: Storage, key: str, path: Path, sha: str, size: int, content_type: str | None) -> Any:
    try:
        return await storage.put_file(key, path, sha, size, content_type=content_type)
    except BucketMissingError:
        # the app's start-up could not create it (store down then): create it now, once, and retry
        ensure = getattr(storage, "ensure_bucket", None)
        if ensure is None:
            raise
        log.warning("bucket missing; creating it")
        await ensure()
        return await storage.put_file(key, path, sha, size, content_type=content_type)


async def _mark_stored(engine: Engine[Any], sha: str) -> None:
    async with write_tx(engine):
        await Blob.update(
            {Blob.state: "stored", Blob.spool_path: None, Blob.stored_at: datetime.now(UTC)}
        ).where((Blob.sha256 == sha) & (Blob.state == "spooled"))


async def _lose(engine: Engine[Any], clock: Callable[[], int], sha: str, reason: str) -> None:
    """Forget a blob whose bytes are gone so the receipt asks the device for them again."""
    log.error("blob %s dropped: %s", sha, reason)
    blob = await Blob.select(Blob.spool_path).where(Blob.sha256 == sha).first()
    async with write_tx(engine):
        await Blob.delete().where((Blob.sha256 == sha) & (Blob.state == "spooled"))
        await Job.update({Job.done_at: clock(), Job.last_error: reason}).where(
            (Job.key == sha) & Job.done_at.is_null()
        )
    if blob and blob["spool_path"]:
        await anyio.to_thread.run_sync(spool.remove, Path(blob["spool_path"]))


# ---------------------------------------------------------------------------------------------- derive


async def make_derivatives(
    sha: str, *, engine: Engine[Any], storage: Storage, derive: DeriveFn, clock: Callable[[], int]
) -> None:
    blob = await Blob.select().where(Blob.sha256 == sha).first()
    if blob is None or blob["state"] == "rejected" or (blob["derived"] and blob["phash"] is not None):
        return
    with tempfile.TemporaryDirectory(prefix="fc-derive-") as tmp:
        source = await _source(storage, blob, Path(tmp))
        try:
            derived = await anyio.to_thread.run_sync(derive, source, dict(VARIANTS))
        except DecodeRejected as exc:
            # the upload only checked headers and structure; the first full decode is here
            await _reject(engine, storage, clock, sha, f"{exc.reason}: {exc.detail}")
            raise PermanentFailure(f"{sha}: rejected at decode: {exc.reason}: {exc.detail}") from exc
        except Exception as exc:
            # not the image's fault (memory, a bug): recorded, not retried forever
            async with write_tx(engine):
                await Blob.update({Blob.derive_error: f"{type(exc).__name__}: {exc}"}).where(
                    Blob.sha256 == sha
                )
            raise PermanentFailure(f"{sha}: derivatives failed: {exc}") from exc
        for variant, data in derived.variants.items():
            out = Path(tmp) / f"{variant}.jpg"
            await anyio.to_thread.run_sync(out.write_bytes, data)
            digest, size = await anyio.to_thread.run_sync(spool.sha256_file, out)
            await _put(storage, derivative_key(sha, variant), out, digest, size, "image/jpeg")
    values: dict[Any, Any] = {Blob.derived: True, Blob.derive_error: None}
    if derived.dhash is not None:
        values[Blob.phash] = to_signed(derived.dhash)
        values.update(zip(BAND_COLUMNS, bands(derived.dhash), strict=True))
    async with write_tx(engine):
        await Blob.update(values).where(Blob.sha256 == sha)


async def _reject(
    engine: Engine[Any], storage: Storage, clock: Callable[[], int], sha: str, reason: str
) -> None:
    """The bytes are not a decodable image: the blob (and so every photo of it) becomes ``rejected``
    with the reason, which the receipt shows; the spool and stored copies are removed."""
    log.warning("blob %s rejected at decode: %s", sha, reason)
    blob = await Blob.select(Blob.spool_path, Blob.storage_key).where(Blob.sha256 == sha).first()
    async with write_tx(engine):
        await Blob.update({Blob.state: "rejected", Blob.reject_reason: reason, Blob.spool_path: None}).where(
            Blob.sha256 == sha
        )
        await Job.update({Job.done_at: clock(), Job.last_error: f"rejected: {reason}"}).where(
            (Job.key == sha) & (Job.kind == "transfer") & Job.done_at.is_null()
        )
    if blob is None:
        return
    if blob["spool_path"]:
        await anyio.to_thread.run_sync(spool.remove, Path(blob["spool_path"]))
    if blob["storage_key"]:
        with contextlib.suppress(StorageError):
            await storage.delete(blob["storage_key"])


async def _source(storage: Storage, blob: dict[str, Any], tmp: Path) -> Path:
    """The original: the spool copy while it exists, else downloaded from storage into ``tmp``."""
    if blob["spool_path"]:
        path = Path(blob["spool_path"])
        if await anyio.to_thread.run_sync(path.exists):
            copy = tmp / "original"
            # a private copy: the transfer worker may delete the spool file meanwhile
            await anyio.to_thread.run_sync(_link_or_copy, path, copy)
            return copy
    target = tmp / "original"
    async with aiofiles.open(target, "wb") as handle:
        async for chunk in storage.iter_bytes(blob["storage_key"]):
            await handle.write(chunk)
    return target


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        import shutil

        shutil.copyfile(src, dst)


def image_deriver(*, max_pixels: int, max_bytes: int) -> DeriveFn:
    """PDFs: the first page (media.documents.render_first_page); DOCX/XLSX: nothing. Photos: thumb and
    preview through media.images.make_derivatives (one draft() decode, upright, no EXIF), after
    a JPEG's compressed data is checked whole (media.image_structure.check_jpeg_data)."""

    def derive(path: Path, sizes: dict[str, int]) -> Derived:
        from media.documents import PDF, DocumentRejected, render_first_page, sniff_document
        from media.images import ImageRejected, check_jpeg_data, make_derivatives, sniff_file

        with path.open("rb") as handle:
            document = sniff_document(handle.read(1024))
        if document == PDF:
            # a PDF's first page stands for it (no perceptual hash: near-duplicate photos are about pictures)
            try:
                pages = render_first_page(path, sizes)
            except DocumentRejected as exc:
                raise DecodeRejected(exc.reason, exc.detail) from exc
            return Derived({name: page.data for name, page in pages.items()}, None)
        if document is not None:
            return Derived({}, None)  # DOCX/XLSX: no render, the app shows a type icon
        try:
            if sniff_file(path) == "image/jpeg":
                check_jpeg_data(path)  # damage in the middle that the decode below would paint grey
            made = make_derivatives(path, max_pixels=max_pixels, max_bytes=max_bytes, sizes=sizes)
        except ImageRejected as exc:
            raise DecodeRejected(exc.reason, exc.detail) from exc
        return Derived(
            {name: d.data for name, d in made.items()},
            next((d.dhash for d in made.values() if d.dhash is not None), None),
        )

    return derive
