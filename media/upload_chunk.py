"""One PATCH's bytes onto the end of an upload's part file: received, hashed and written at once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncGenerator, AsyncIterator
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

    Pieces are gathered into blocks of about 1 MiB (:class:`_Blocks`). A refused chunk (bad checksum,
    checksummed and cut, past the declared size) is truncated away again: the offset does not move.
    """
    digest = hashlib.sha256() if checksum is not None else None
    running = whole.copy() if whole is not None else None  # committed only if the chunk is kept
    blocks = _Blocks(fd, offset, digest, running)
    try:
        gone, refused = await _receive(body, remaining, blocks, config)
        await blocks.drain()
        if refused is None and digest is not None and not gone and digest.digest() != checksum:
            refused = ChunkChecksumMismatch(
                "the chunk's sha256 does not match Upload-Checksum; resend it from the same offset",
                offset=offset,
            )
        if refused is None and not (gone and digest is not None):
            # the blocks' write-back is under way already: this waits for it (and the new size) to be durable
            await anyio.to_thread.run_sync(os.fsync, fd)
            return blocks.position - offset, gone, running
    except BaseException:
        await blocks.settle()  # an error while a block was in flight: let it finish first
        # a failed write (disk full, cancelled) must not leave half a chunk: cut back to where it began
        with contextlib.suppress(OSError):
            await anyio.to_thread.run_sync(spool.rollback, fd, offset)
        raise
    # refused, or checksummed and cut: the chunk counts whole or not at all
    await anyio.to_thread.run_sync(spool.rollback, fd, offset)
    if refused is not None:
        raise refused
    return 0, True, whole


async def body_pieces(
    body: AsyncIterator[bytes], remaining: int, config: UploadConfig
) -> AsyncGenerator[bytes]:
    """A chunk's non-empty pieces as they arrive, each within ``idle_timeout_seconds`` (else ``TimeoutError``);
    :class:`UploadError` ``chunk_past_end`` once they go past the ``remaining`` bytes the upload declared.
    Both spools read a PATCH's body through this."""
    received = 0
    iterator = body.__aiter__()
    while True:
        try:
            async with asyncio.timeout(config.idle_timeout_seconds):
                piece = await iterator.__anext__()
        except StopAsyncIteration:
            return
        if not piece:
            continue
        received += len(piece)
        if received > remaining:
            raise UploadError("the chunk goes past the declared size", code="chunk_past_end")
        yield piece


async def _receive(
    body: AsyncIterator[bytes], remaining: int, blocks: _Blocks, config: UploadConfig
) -> tuple[bool, UploadError | None]:
    """Hand the body's pieces to ``blocks``; returns (connection cut, why the chunk is refused)."""
    try:
        async with contextlib.aclosing(body_pieces(body, remaining, config)) as pieces:
            async for piece in pieces:
                await blocks.add(piece)
    except (ClientGone, TimeoutError):
        await blocks.flush()
        return True, None
    except UploadError as refused:
        return False, refused
    await blocks.flush()
    return False, None


class _Blocks:
    """Pieces gathered into blocks of about 1 MiB (the list of pieces, never joined). Each block goes to two
    worker threads at once: one hashes it (chunk checksum and the running whole-file sha256, in order), the
    other writes it with ``pwritev`` and starts its write-back to disk. Hashing, writing back and receiving
    the next block overlap; at most one block per lane plus the one arriving is in memory."""

    def __init__(self, fd: int, position: int, digest: Any, running: Any) -> None:
        self.fd, self.position, self.digest, self.running = fd, position, digest, running
        self.pieces: list[bytes] = []
        self.gathered = 0
        self.hashing: asyncio.Future[None] | None = None
        self.writing: asyncio.Future[None] | None = None

    async def add(self, piece: bytes) -> None:
        self.pieces.append(piece)
        self.gathered += len(piece)
        if self.gathered >= _WRITE_BUFFER or len(self.pieces) >= _MAX_PIECES:
            await self.flush()

    async def flush(self) -> None:
        """Start the gathered pieces on their two lanes (after the block in flight)."""
        if not self.pieces:
            return
        await self.drain()
        block, size = self.pieces, self.gathered
        self.pieces, self.gathered = [], 0
        self.hashing = asyncio.ensure_future(asyncio.to_thread(_hash_block, block, self.digest, self.running))
        self.writing = asyncio.ensure_future(asyncio.to_thread(_write_block, self.fd, block, self.position))
        self.position += size

    async def drain(self) -> None:
        """Wait for the block in flight; on an error the lanes stay set for :meth:`settle`."""
        for lane in (self.hashing, self.writing):
            if lane is not None:
                await lane
        self.hashing = self.writing = None

    async def settle(self) -> None:
        """After an error: let a block still in flight finish, whatever its outcome."""
        for lane in (self.hashing, self.writing):
            if lane is not None:
                with contextlib.suppress(Exception):
                    await lane


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
