"""One PATCH's bytes onto the end of an upload's part file: received, hashed and written at once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread

from media import spool
from media.upload_errors import ChunkChecksumMismatch, ClientGone, UploadError
from media.upload_types import UploadConfig

_WRITE_BUFFER = 1024 * 1024
_MAX_PIECES = 256  # per block: well below IOV_MAX (1024) for pwritev


async def write_chunk(
    fd: int,
    offset: int,
    remaining: int,
    body: AsyncIterator[bytes],
    checksum: bytes | None,
    whole: Any,
    config: UploadConfig,
) -> tuple[int, bool, Any]:
    """Stream ``body`` onto the end of the part (at ``offset``); returns (bytes kept, connection cut, hash).

    Pieces are gathered into blocks of about 1 MiB (as the list of pieces, never joined). Each block goes to
    two worker threads at once: one hashes it (chunk checksum and the running whole-file sha256, in order),
    the other writes it with ``pwritev`` and starts its write-back to disk. Hashing, writing back and
    receiving the next block overlap; at most one block per lane plus the one arriving is in memory.
    A refused chunk (bad checksum, checksummed and cut, past the declared size) is truncated away again:
    the offset does not move.
    """
    digest = hashlib.sha256() if checksum is not None else None
    running = whole.copy() if whole is not None else None  # committed only if the chunk is kept
    received = 0
    gone = False
    pieces: list[bytes] = []
    gathered = 0
    hashing: asyncio.Future[None] | None = None
    writing: asyncio.Future[None] | None = None
    position = offset
    refused: UploadError | None = None

    async def drain() -> None:
        """Wait for the block in flight; on an error the lanes stay set for the cleanup below."""
        nonlocal hashing, writing
        for lane in (hashing, writing):
            if lane is not None:
                await lane
        hashing = writing = None

    async def flush_block() -> None:
        nonlocal hashing, writing, pieces, gathered, position
        await drain()
        block, pieces, size = pieces, [], gathered
        gathered = 0
        hashing = asyncio.ensure_future(asyncio.to_thread(_hash_block, block, digest, running))
        writing = asyncio.ensure_future(asyncio.to_thread(_write_block, fd, block, position))
        position += size

    try:
        iterator = body.__aiter__()
        while True:
            try:
                async with asyncio.timeout(config.idle_timeout_seconds):
                    piece = await iterator.__anext__()
            except StopAsyncIteration:
                break
            except (ClientGone, TimeoutError):
                gone = True
                break
            if not piece:
                continue
            received += len(piece)
            if received > remaining:
                refused = UploadError("the chunk goes past the declared size", code="chunk_past_end")
                break
            pieces.append(piece)
            gathered += len(piece)
            if gathered >= _WRITE_BUFFER or len(pieces) >= _MAX_PIECES:
                await flush_block()
        if pieces and refused is None:
            await flush_block()
        await drain()
        if refused is None and digest is not None and not gone and digest.digest() != checksum:
            refused = ChunkChecksumMismatch(
                "the chunk's sha256 does not match Upload-Checksum; resend it from the same offset",
                offset=offset,
            )
        if refused is None and not (gone and digest is not None):
            # the blocks' write-back is under way already: this waits for it (and the new size) to be durable
            await anyio.to_thread.run_sync(os.fsync, fd)
            return position - offset, gone, running
    except BaseException:
        for lane in (hashing, writing):  # an error while a block was in flight: let it finish first
            if lane is not None:
                with contextlib.suppress(Exception):
                    await lane
        # a failed write (disk full, cancelled) must not leave half a chunk: cut back to where it began
        with contextlib.suppress(OSError):
            await anyio.to_thread.run_sync(spool.rollback, fd, offset)
        raise
    # refused, or checksummed and cut: the chunk counts whole or not at all
    await anyio.to_thread.run_sync(spool.rollback, fd, offset)
    if refused is not None:
        raise refused
    return 0, True, whole


def _hash_block(pieces: list[bytes], digest: Any, running: Any) -> None:
    """Runs in a worker thread: sha256 releases the GIL for pieces over 2 KiB."""
    for piece in pieces:
        if digest is not None:
            digest.update(piece)
        if running is not None:
            running.update(piece)


def _write_block(fd: int, pieces: list[bytes], position: int) -> None:
    """Runs in a worker thread: one ``pwritev`` for the block's pieces, then start writing them back to disk
    (without waiting) so the chunk's closing fsync finds little left to do."""
    start = position
    views = [memoryview(piece) for piece in pieces]
    while views:
        done = os.pwritev(fd, views, position)
        position += done
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if views and done:
            views[0] = views[0][done:]
    spool.start_writeback(fd, start, position - start)
