"""Kills at exact points of an upload: a real ``fieldcheck serve`` ends itself there (``os._exit``, as a
SIGKILL landing at that line; ``FIELDCHECK_FAULT_EXIT_AT``, media/faults.py), then starts again on the same
data. Whatever the point, a device that resumes as the app does (HEAD, or POST once the session is gone) never
hears an offset below what a 204 acknowledged and ends with its photo stored and readable.

The points: ``upload_finished`` (the last chunk's commit stored the blob and ended the session; no answer
sent; on the S3 spool before its objects are removed, on the local spool after its files are), on both spools; on the S3 spool also ``s3_tail_sent`` (a chunk's bytes are in the tail object, the row
still says less) and ``s3_part_sent`` (the last part is uploaded, the row does not name it).
A file the content check refuses passes ``upload_finished`` too (the refusal recorded with the session's end:
POST answers 422, not a new session). ``upload_finished`` is the open bug of the crash test's S3 variant: the sender became a holder of the blob only
after the answer's commit, so POST opened a new session at offset 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from media.faults import EXIT_AT, EXIT_STATUS
from tests.backend.media_api.live import free_port
from tests.conftest import _pg_admin, pg_dsn
from tests.faults.devices import Device, Faults, login, random_jpeg
from tests.faults.server import KillableServer, Zygote
from tests.media.s3servers import rgw_available, start_rgw

CHUNK = 16 * 1024
TUS = {"Tus-Resumable": "1.0.0"}

needs_rgw = pytest.mark.skipif(
    not rgw_available(), reason="Ceph RGW not installed (scripts/s3/install-rgw.sh)"
)


@pytest.fixture(scope="module")
def rgw() -> Iterator[Any]:
    server = start_rgw(port=0)
    yield server
    server.stop()


class Uploader:
    """A device's upload: the offsets 204s acknowledged, every HEAD checked against them."""

    def __init__(
        self, http: httpx.AsyncClient, headers: dict[str, str], photo: uuid.UUID, data: bytes
    ) -> None:
        self.http, self.headers, self.photo, self.data = http, headers, photo, data
        self.sha = hashlib.sha256(data).hexdigest()
        self.acked = 0

    async def create(self) -> str | None:
        body = {"photoId": str(self.photo), "sha256": self.sha, "size": len(self.data), "mime": "image/jpeg"}
        response = await self.http.post("/api/uploads", json=body, headers=self.headers)
        if response.status_code == 200:
            assert response.json()["status"] == "complete"
            return None
        assert response.status_code == 201, response.text
        # a new session of a file the server had acknowledged in part would start below the acknowledged offset
        assert int(response.headers["Upload-Offset"]) >= self.acked, (self.acked, response.headers)
        url: str = response.json()["uploadUrl"]
        return url

    async def head(self, url: str) -> int | None:
        response = await self.http.head(url, headers={**self.headers, **TUS})
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.status_code
        offset = int(response.headers["Upload-Offset"])
        assert self.acked <= offset <= len(self.data), (self.acked, offset)
        return offset

    async def patch(self, url: str, offset: int) -> bool:
        """One chunk from ``offset``; True when the file is complete, raises TransportError when cut."""
        chunk = self.data[offset : offset + CHUNK]
        headers = {
            **self.headers,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        }
        response = await self.http.patch(url, content=chunk, headers=headers)
        assert response.status_code == 204, (response.status_code, response.text)
        self.acked = int(response.headers["Upload-Offset"])
        return bool(response.headers.get("Upload-State"))


async def exited(server: KillableServer, pid: int) -> dict[str, Any]:
    """The zygote's answer once the child is gone (the socket closes a moment before it is reaped)."""
    for _ in range(500):
        answer = server.zygote.ask({"poll": pid})
        if not answer["running"]:
            return answer
        await asyncio.sleep(0.01)
    raise AssertionError(f"the server did not end itself at the crash point: {answer}")


async def send_until_cut(uploader: Uploader, url: str, point: str) -> None:
    """Chunks from 0 until the server ends itself under one (the connection is cut, no answer)."""
    offset = 0
    while True:
        try:
            done = await uploader.patch(url, offset)
        except httpx.TransportError:
            return
        assert not done, f"the upload finished without passing {point}"
        offset = uploader.acked


async def scenario(server: KillableServer, point: str, refused: bool) -> dict[str, Any]:
    faults = Faults()
    await server.start()
    faults.up.set()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        headers = await login(http, "inspector1")
        device = Device(http, headers, faults, f"points-{uuid.uuid4().hex[:6]}")
        await device.pull()
        [key] = [k for k in device.sync.store if k.startswith("inspection/")]
        data = random_jpeg(random.Random(point))
        if refused:  # cut short: the content check refuses it (truncated) once the last byte arrives
            data = data[: len(data) * 3 // 4]
        assert len(data) > 2 * CHUNK
        sha = hashlib.sha256(data).hexdigest()
        photo = device.sync.add_photo(uuid.UUID(key.split("/", 1)[1]), "1.1.1", sha, len(data))
        await device.flush()
        uploader = Uploader(http, headers, photo, data)
        url = await uploader.create()
        assert url is not None
        await send_until_cut(uploader, url, point)
        # the process ended itself at the point (no SIGKILL from here)
        assert server.pid is not None
        answer = await exited(server, server.pid)
        assert answer["status"] >> 8 == EXIT_STATUS, answer
        server.pid = None
        server.extra_env.pop(EXIT_AT)
        await server.start()
        seen = await uploader.head(url)
        resumed_at = seen
        if refused:
            # the refusal was committed with the session's end: POST says so, it opens no new session
            assert seen is None
            body = {"photoId": str(photo), "sha256": sha, "size": len(data), "mime": "image/jpeg"}
            again = await http.post("/api/uploads", json=body, headers=headers)
            assert again.status_code == 422, (again.status_code, again.text)
            server.stop()
            return {"acked": uploader.acked, "resumed_at": resumed_at, "size": len(data)}
        while seen is not None:
            if await uploader.patch(url, seen):
                break
            seen = uploader.acked
        else:
            url = await uploader.create()  # the session is gone: POST says whether the bytes are here
            assert url is None, f"after {point}: a new session for a file the server had whole"
        response = await http.get(f"/api/photos/{photo}/original", headers=headers, follow_redirects=True)
        assert response.status_code == 200, response.text
        assert hashlib.sha256(response.content).hexdigest() == sha
    server.stop()
    return {"acked": uploader.acked, "resumed_at": resumed_at, "size": len(data)}


S3 = [needs_rgw, pytest.mark.s3]
POINTS = [
    pytest.param("upload_finished", "local", False, id="upload_finished-local-sqlite"),
    pytest.param("upload_finished", "s3", False, id="upload_finished-s3", marks=S3),
    pytest.param("s3_tail_sent", "s3", False, id="s3_tail_sent", marks=S3),
    pytest.param("s3_part_sent", "s3", False, id="s3_part_sent", marks=S3),
    # a file the content check refuses: the refusal and the session's end commit together
    pytest.param("upload_finished", "local", True, id="refused-local-sqlite"),
    pytest.param("upload_finished", "s3", True, id="refused-s3", marks=S3),
]


@pytest.mark.parametrize(("point", "spool", "refused"), POINTS)
def test_an_upload_killed_at_a_point_resumes_without_losing_what_was_acknowledged(
    point: str, spool: str, refused: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {EXIT_AT: point}
    database = ""
    if spool == "s3":
        rgw = request.getfixturevalue("rgw")
        database = f"fc_points_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
        env |= {
            "FIELDCHECK_DATABASE_URL": pg_dsn(database),
            "FIELDCHECK_STORAGE": "s3",
            "FIELDCHECK_UPLOAD_SPOOL": "s3",
            "FIELDCHECK_S3_ENDPOINT_URL": rgw.endpoint_url,
            "FIELDCHECK_S3_REGION": rgw.region,
            "FIELDCHECK_S3_BUCKET": f"fc-points-{uuid.uuid4().hex[:8]}",
            "FIELDCHECK_S3_ACCESS_KEY": rgw.access_key,
            "FIELDCHECK_S3_SECRET_KEY": rgw.secret_key,
        }
    zygote = Zygote()
    server = KillableServer(zygote, tmp_path / "data", free_port(), tmp_path, env)
    try:
        summary = asyncio.run(scenario(server, point, refused))
    finally:
        server.stop()
        zygote.close()
        if database:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    if point == "upload_finished":
        # the session ended: HEAD answers 404 and POST must say the bytes are here
        assert summary["resumed_at"] is None, summary
    else:
        assert summary["resumed_at"] is not None, summary
        assert summary["resumed_at"] < summary["size"], summary
