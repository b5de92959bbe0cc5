"""Devices that keep working while the server dies under them: they retry from their queues, as the app does.

Each device records what the server acknowledged, so the checks can ask: is every acknowledged mutation still
there after the crash, and is every upload's reported offset at least what a 204 confirmed?
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image

from sync.client import HttpxTransport, SyncClient, SyncHttpError, TransportError

GRADES = "ABCD"
# graded items of the demo standard (tests/backend/sync_api/sync_support.py): one conflict round each
CONFLICT_ITEMS = ["1.1.1", "1.2.1", "1.2.2", "1.2.3"]
RETRY_SECONDS = 0.03


@dataclass
class Faults:
    """What the devices and the killer share: activity since the last start, the mid-body request."""

    activity: asyncio.Event = field(default_factory=asyncio.Event)
    # set while the server is up: devices that lost a request wait for it instead of polling a dead port
    up: asyncio.Event = field(default_factory=asyncio.Event)
    want_mid_body: bool = False
    mid_body_reached: asyncio.Event = field(default_factory=asyncio.Event)
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    server_errors: list[str] = field(default_factory=list)
    transport_errors: int = 0

    def started(self) -> None:
        self.activity.set()

    async def back(self) -> None:
        await self.up.wait()
        await asyncio.sleep(RETRY_SECONDS)


class CountingTransport(HttpxTransport):
    def __init__(self, http: Any, headers: dict[str, str], faults: Faults) -> None:
        super().__init__(http, headers)
        self.faults = faults

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.faults.started()
        try:
            status, content = await super().post(path, body)
        except TransportError:
            self.faults.transport_errors += 1
            raise
        if status >= 500:
            self.faults.server_errors.append(f"{path}: {status} {content[:300]!r}")
            raise TransportError(f"HTTP {status}")
        return status, content


async def login(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    while True:
        try:
            response = await http.post("/api/auth/login", json={"username": username, "password": "demo"})
        except httpx.TransportError:
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if response.status_code >= 500:
            await asyncio.sleep(RETRY_SECONDS)
            continue
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['token']}"}


class Device:
    """A sync client that pushes until its queue is acknowledged, whatever happens to the server."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str], faults: Faults, name: str) -> None:
        self.sync = SyncClient(CountingTransport(http, headers, faults), client_id=f"fault-{name}")
        self.http = http
        self.headers = headers
        self.faults = faults
        self.name = name

    async def flush(self) -> None:
        """Push until every queued mutation is acknowledged (lost answers are simply sent again)."""
        while any(m.id > self.sync.acked for m in self.sync.pending):
            try:
                await self.sync.push()
            except SyncHttpError as exc:  # a 4xx would be a bug in the server or in this test
                raise AssertionError(f"{self.name}: {exc}") from exc
            if any(m.id > self.sync.acked for m in self.sync.pending):
                await self.faults.back()

    async def pull(self) -> None:
        while True:
            try:
                await self.sync.pull()
                return
            except TransportError:
                await self.faults.back()

    @property
    def queued(self) -> int:
        return self.sync.next_id - 1


class NoteDevice(Device):
    """Adds notes in batches of 1–6 per push: a batch applied in part would show as a gap or a duplicate."""

    def __init__(self, *args: Any, inspection: uuid.UUID, rng: random.Random) -> None:
        super().__init__(*args)
        self.inspection = inspection
        self.rng = rng
        self.notes: dict[int, tuple[uuid.UUID, str]] = {}  # mutation id -> (note id, text)

    async def run(self) -> None:
        while not self.faults.stopping:
            for _ in range(self.rng.randint(1, 6)):
                text = f"{self.name} note {self.sync.next_id}"
                note_id = self.sync.add_note(self.inspection, "1.1.1", text)
                self.notes[self.sync.pending[-1].id] = (note_id, text)
            await self.flush()
            if self.rng.random() < 0.3:
                await self.pull()
            await asyncio.sleep(self.rng.uniform(0, 0.05))


class ConflictPair:
    """Two devices edit the same answer from the same base: exactly one conflict must hold both values."""

    def __init__(self, a: Device, b: Device, inspection: uuid.UUID, rng: random.Random) -> None:
        self.a, self.b = a, b
        # set by the killer every few kills, so the rounds meet kills over the whole run
        self.go = asyncio.Semaphore(0)
        self.inspection = inspection
        self.rng = rng
        self.rounds: dict[str, tuple[str, str]] = {}
        self.statuses: dict[str, list[str]] = {}

    async def run(self) -> None:
        for item in CONFLICT_ITEMS:
            await self.go.acquire()
            if self.a.faults.stopping:
                return
            await asyncio.gather(self.a.pull(), self.b.pull())
            key = f"answer/{self.inspection}/{item}/value"
            bases = {
                self.a.sync.store.get(key, {}).get("version", 0),
                self.b.sync.store.get(key, {}).get("version", 0),
            }
            assert len(bases) == 1, (key, bases)
            current = self.a.sync.store.get(key, {}).get("value")
            va, vb = self.rng.sample([g for g in GRADES if g != current], 2)
            ids = (
                self.a.sync.set_answer(self.inspection, item, "value", va),
                self.b.sync.set_answer(self.inspection, item, "value", vb),
            )
            self.rounds[item] = (va, vb)

            async def later(device: Device) -> None:
                await asyncio.sleep(self.rng.uniform(0, 0.3))
                await device.flush()

            await asyncio.gather(later(self.a), later(self.b))
            statuses = sorted(
                str(d.sync.results[i].status) if i in d.sync.results else "answer lost"
                for d, i in zip((self.a, self.b), ids, strict=True)
            )
            self.statuses[item] = statuses


def random_jpeg(rng: random.Random) -> bytes:
    w = rng.randint(180, 420)
    h = rng.randint(140, 320)
    out = io.BytesIO()
    Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3)).save(out, "JPEG", quality=95)
    return out.getvalue()


@dataclass
class PhotoUpload:
    photo_id: uuid.UUID
    data: bytes
    sha256: str
    acked_offset: int = 0  # the highest offset a 204 confirmed
    resumes: int = 0
    done: bool = False


class UploadDevice(Device):
    """Adds a photo (addPhoto), then sends its bytes with tus in small chunks, resuming from HEAD's offset."""

    def __init__(self, *args: Any, inspection: uuid.UUID, rng: random.Random) -> None:
        super().__init__(*args)
        self.inspection = inspection
        self.rng = rng
        self.uploads: list[PhotoUpload] = []
        self.mid_body_cuts = 0
        self.offset_checks = 0

    async def run(self) -> None:
        while not self.faults.stopping:
            data = random_jpeg(self.rng)
            sha = hashlib.sha256(data).hexdigest()
            photo_id = self.sync.add_photo(self.inspection, "1.1.1", sha, len(data))
            upload = PhotoUpload(photo_id, data, sha)
            self.uploads.append(upload)
            await self.flush()
            await self.upload(upload)
            await asyncio.sleep(self.rng.uniform(0, 0.05))

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """One request; None when the connection failed (the server is down or died under it)."""
        self.faults.started()
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TransportError:
            self.faults.transport_errors += 1
            return None
        if response.status_code >= 500:
            self.faults.server_errors.append(f"{method} {url}: {response.status_code} {response.text[:300]}")
            return None
        return response

    async def create(self, upload: PhotoUpload) -> str | None:
        """The session's URL, or None when the server says the bytes are complete."""
        body = {
            "photoId": str(upload.photo_id),
            "sha256": upload.sha256,
            "size": len(upload.data),
            "mime": "image/jpeg",
        }
        while True:
            response = await self.request("POST", "/api/uploads", json=body, headers=self.headers)
            if response is None:
                await self.faults.back()
                continue
            if response.status_code == 200:
                assert response.json()["status"] == "complete", response.text
                return None
            assert response.status_code == 201, response.text
            url: str = response.json()["uploadUrl"]
            return url

    async def offset(self, upload: PhotoUpload, url: str) -> int | None:
        """HEAD until the server answers; None when the session is gone (finished)."""
        while True:
            response = await self.request("HEAD", url, headers={**self.headers, "Tus-Resumable": "1.0.0"})
            if response is None:
                await self.faults.back()
                continue
            if response.status_code == 404:
                return None
            assert response.status_code in (200, 204), response.status_code
            offset = int(response.headers["Upload-Offset"])
            # fsynced bytes count: what a 204 confirmed is never lost, and nothing is invented
            assert upload.acked_offset <= offset <= len(upload.data), (upload.acked_offset, offset)
            self.offset_checks += 1
            return offset

    async def upload(self, upload: PhotoUpload) -> None:
        url = await self.create(upload)
        offset = 0
        while url is not None:
            size = min(self.rng.choice([16, 48, 96, 160]) * 1024, len(upload.data) - offset)
            chunk = upload.data[offset : offset + size]
            headers = {
                **self.headers,
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(chunk)),
            }
            if self.rng.random() < 0.5:
                digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
                headers["Upload-Checksum"] = f"sha256 {digest}"
            content: Any = chunk
            if self.faults.want_mid_body and not self.faults.mid_body_reached.is_set() and len(chunk) > 2:
                self.faults.mid_body_reached.set()
                self.mid_body_cuts += 1
                content = self._half_then_wait(chunk)
            response = await self.request("PATCH", url, content=content, headers=headers)
            if response is None:
                upload.resumes += 1
                await self.faults.back()
                reported = await self.offset(upload, url)
                if reported is None:
                    url = await self.create(upload)  # finished meanwhile: the POST answers complete
                    offset = 0
                else:
                    offset = reported
                continue
            if response.status_code == 404:  # finished by the chunk whose answer was lost
                url = await self.create(upload)
                offset = 0
                continue
            if response.status_code == 409:
                reported = int(response.headers["Upload-Offset"])
                assert upload.acked_offset <= reported, (upload.acked_offset, reported)
                offset = reported
                continue
            assert response.status_code == 204, (response.status_code, response.text)
            offset = int(response.headers["Upload-Offset"])
            upload.acked_offset = offset
            if response.headers.get("Upload-State"):
                break
        upload.done = True

    async def _half_then_wait(self, chunk: bytes) -> Any:
        yield chunk[: len(chunk) // 2]
        # the killer kills now; the rest then meets a dead connection
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.faults.killed.wait(), timeout=5)
        yield chunk[len(chunk) // 2 :]
