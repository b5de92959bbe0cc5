"""Ceilings for the upload bench: the same requests to a bare uvicorn ASGI app (no Litestar, no database, no
session files), so the report can say what any Python server here reaches doing less than the protocol asks.

Run by bench/media_bench.py (``floor_rates``); the app is served in a child process:
``python bench/upload_floor.py PORT MODE DIR``. Modes, each a strict subset of a real PATCH's work:

- ``receive``: the body is read and dropped;
- ``hash``: the body is hashed with sha256 in a worker thread, 1 MiB blocks, overlapped with receiving;
- ``write``: the product's own chunk writer (``media.upload_chunk.write_chunk``: hashed, written, fsynced).

Same server settings as ``fieldcheck serve``: uvloop, httptools, the malloc settings of backend.allocator;
no access log (a ceiling).
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backend.allocator import tune_for_large_bodies  # noqa: E402
from bench.serving import serving  # noqa: E402
from media.upload_chunk import write_chunk  # noqa: E402
from media.upload_types import UploadConfig  # noqa: E402

MODES = ("receive", "hash", "write")
_BLOCK = 1024 * 1024


async def _pieces(receive: Callable[[], Any]) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


async def _hash_overlapped(body: AsyncIterator[bytes], digest: Any) -> int:
    """sha256 of the body in a worker thread, one block behind the receiving (as write_chunk's hash lane)."""
    received, gathered, block, lane = 0, 0, [], None
    async for piece in body:
        received += len(piece)
        gathered += len(piece)
        block.append(piece)
        if gathered >= _BLOCK:
            if lane is not None:
                await lane
            lane = asyncio.ensure_future(asyncio.to_thread(lambda b=block: [digest.update(p) for p in b]))
            block, gathered = [], 0
    if lane is not None:
        await lane
    for piece in block:
        digest.update(piece)
    return received


def make_app(mode: str, folder: Path) -> Callable[..., Any]:
    uploads: dict[str, tuple[int, int, Any]] = {}  # path -> (fd, offset, running sha256)
    config = UploadConfig(spool_root=folder, max_upload_bytes=1 << 40)

    async def app(scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if scope["method"] == "GET":  # /health, for bench.serving
            status, headers = 200, []
        elif scope["method"] == "POST":
            fd = os.open(folder / path.rsplit("/", 1)[1], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            uploads[path] = (fd, 0, hashlib.sha256())
            async for _ in _pieces(receive):
                pass
            status, headers = 201, [(b"location", path.encode())]
        else:
            fd, offset, digest = uploads[path]
            length = int(dict(scope["headers"])[b"upload-length"])
            body = _pieces(receive)
            if mode == "receive":
                written = 0
                async for piece in body:
                    written += len(piece)
            elif mode == "hash":
                written = await _hash_overlapped(body, digest)
            else:
                written, _, digest = await write_chunk(
                    fd, offset, length - offset, body, None, digest, config
                )
            offset += written
            uploads[path] = (fd, offset, digest)
            if offset == length:
                digest.hexdigest()
                os.close(fd)
                del uploads[path]
            status, headers = 204, [(b"upload-offset", str(offset).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    return app


def floor_upload(port: int, data: bytes, chunk: int, name: str) -> float:
    """Seconds for the POST and the PATCHes, the same requests (and client) as the real bench's upload."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        started = time.perf_counter()
        connection.request("POST", f"/api/uploads/{name}", body=b"{}")
        connection.getresponse().read()
        view, offset = memoryview(data), 0
        while offset < len(data):
            headers = {
                "Upload-Offset": str(offset),
                "Upload-Length": str(len(data)),
                "Content-Type": "application/offset+octet-stream",
            }
            connection.request(
                "PATCH", f"/api/uploads/{name}", body=view[offset : offset + chunk], headers=headers
            )
            response = connection.getresponse()
            response.read()
            assert response.status == 204, response.status
            offset = int(response.headers["Upload-Offset"])
        return time.perf_counter() - started
    finally:
        connection.close()


def floor_rates(data: bytes, chunk: int, folder: Path, runs: int, port: int) -> dict[str, list[float]]:
    """MiB/s per mode, ``runs`` uploads each (after one warm-up), each mode on its own fresh server."""
    rates: dict[str, list[float]] = {}
    for mode in MODES:
        with serving([sys.executable, __file__, str(port), mode, str(folder)], port, timeout=30):
            floor_upload(port, data, chunk, "warm-up")
            for run in range(runs):
                seconds = floor_upload(port, data, chunk, f"{mode}-{run}")
                rates.setdefault(mode, []).append(len(data) / (1024 * 1024) / seconds)
        for leftover in folder.glob(f"{mode}-*"):
            leftover.unlink()
    return rates


def main() -> None:
    import uvicorn

    port, mode, folder = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    tune_for_large_bodies()
    uvicorn.run(
        make_app(mode, folder),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
