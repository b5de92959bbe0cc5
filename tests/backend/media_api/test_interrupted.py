"""Connections cut at random offsets: every upload resumes and the stored bytes hash to the declared sha256.

The cut is made where the app sees it: the ASGI ``receive`` hands over part of the body and then reports
``http.disconnect`` (what uvicorn does when the socket dies). tests/backend/media_api/test_live_server.py
does the same over real sockets against a uvicorn process.
"""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

import httpx
from litestar import Litestar

from media.storage import blob_key
from media.tables import Blob
from media.worker import MediaWorker
from tests.backend.media_api.helpers import OFFSET_TYPE, add_photo, b64sha, create, noisy_jpeg, patch

RUNS = 25


async def cut_patch(
    app: Litestar,
    headers: dict[str, str],
    url: str,
    offset: int,
    chunk: bytes,
    cut_after: int,
    checksum: str | None,
) -> list[dict[str, Any]]:
    """PATCH ``chunk`` at ``offset`` but let the connection die after ``cut_after`` bytes."""
    raw_headers = [
        (b"host", b"testserver"),
        (b"authorization", headers["Authorization"].encode()),
        (b"upload-offset", str(offset).encode()),
        (b"content-type", OFFSET_TYPE.encode()),
        (b"content-length", str(len(chunk)).encode()),
        (b"tus-resumable", b"1.0.0"),
    ]
    if checksum is not None:
        raw_headers.append((b"upload-checksum", f"sha256 {checksum}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50001),
        "server": ("testserver", 80),
    }
    sent_part = chunk[:cut_after]
    pieces = [sent_part[i : i + 16384] for i in range(0, len(sent_part), 16384)]
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pieces:
            return {"type": "http.request", "body": pieces.pop(0), "more_body": True}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    return messages


async def test_cut_connections_resume_and_hash_right(
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
    worker: MediaWorker,
) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    seed_note = f"seed {rng.random()}"
    inspection = demo["review_inspection"]
    for run in range(RUNS):
        data = noisy_jpeg(rng.randint(120, 520), rng.randint(120, 420), quality=rng.choice([85, 95]))
        photo = await add_photo(inspection, data, item_code=f"1.1.{run}")
        created = await create(client, inspector, photo)
        assert created.status_code == 201, created.text
        url = created.json()["uploadUrl"]
        known = 0  # what the client believes the server has
        confirmed = 0  # the last offset the server told us
        ceiling = 0  # the most the server can hold: confirmed bytes plus any unchecksummed bytes it was sent
        for attempt in range(200):
            if known >= photo.size:
                break
            chunk_size = rng.choice([256 * 1024, 300_000, 512 * 1024, 1024 * 1024])
            chunk = data[known : known + chunk_size]
            checksum = b64sha(chunk) if rng.random() < 0.5 else None
            # every run's first try is cut, later ones at random: each run resumes at least once
            if attempt == 0 or rng.random() < 0.6:
                cut_after = rng.randrange(0, len(chunk))
                await cut_patch(app, inspector, url, known, chunk, cut_after, checksum)
                if checksum is None:
                    ceiling = max(ceiling, known + cut_after)
                if rng.random() < 0.5:
                    # a device that lost the answer asks where to resume
                    head = await client.head(url, headers=inspector)
                    assert head.status_code == 200, (seed_note, head.status_code)
                    server = int(head.headers["Upload-Offset"])
                    # bytes of a cut chunk are kept only without a checksum, never more than were sent
                    assert confirmed <= server <= max(ceiling, confirmed), seed_note
                    known = confirmed = server
                continue  # otherwise it simply retries from its stale offset
            response = await patch(client, inspector, url, known, chunk, checksum=checksum)
            if response.status_code == 409:
                known = confirmed = int(response.headers["Upload-Offset"])
                continue
            assert response.status_code == 204, (seed_note, response.status_code, response.text)
            known = confirmed = int(response.headers["Upload-Offset"])
            ceiling = max(ceiling, known)
        assert known == photo.size, seed_note
        blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
        assert blob is not None, seed_note
        assert blob["state"] == "spooled", seed_note
    await worker.run_once()
    root = app.state.settings.data_path / "storage"
    for row in await Blob.select():
        assert row["state"] == "stored"
        stored = (root / blob_key(row["sha256"])).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == row["sha256"]
        assert len(stored) == row["size"]
    assert await Blob.count() == RUNS
