"""A PATCH's body as both spools read it (media/upload_chunk.py: body_pieces): non-empty pieces, refused past
the declared size, a stall past the idle timeout a TimeoutError (the local spool keeps what arrived, the S3
spool answers ClientGone)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media.upload_chunk import body_pieces
from media.upload_errors import UploadError
from media.upload_types import UploadConfig


def config(tmp_path: Path, idle: float = 5.0) -> UploadConfig:
    return UploadConfig(spool_root=tmp_path, max_upload_bytes=1 << 20, idle_timeout_seconds=idle)


async def body(*pieces: bytes, stall_after: int | None = None) -> AsyncIterator[bytes]:
    for n, piece in enumerate(pieces):
        if n == stall_after:
            await asyncio.sleep(3600)
        yield piece


async def read(pieces: AsyncIterator[bytes], seen: list[bytes] | None = None) -> list[bytes]:
    seen = [] if seen is None else seen
    async for piece in pieces:
        seen.append(piece)
    return seen


async def test_pieces_pass_through_without_the_empty_ones(tmp_path: Path) -> None:
    got = await read(body_pieces(body(b"ab", b"", b"cde"), 5, config(tmp_path)))
    assert got == [b"ab", b"cde"]


async def test_a_piece_past_the_declared_size_is_refused(tmp_path: Path) -> None:
    seen: list[bytes] = []
    with pytest.raises(UploadError) as refused:
        await read(body_pieces(body(b"ab", b"cd"), 3, config(tmp_path)), seen)
    assert refused.value.code == "chunk_past_end"
    assert seen == [b"ab"]  # what came before stays the caller's to keep or cut


async def test_a_stall_past_the_idle_timeout_is_a_timeout(tmp_path: Path) -> None:
    seen: list[bytes] = []
    with pytest.raises(TimeoutError):
        await read(body_pieces(body(b"ab", b"cd", stall_after=1), 10, config(tmp_path, idle=0.05)), seen)
    assert seen == [b"ab"]
