"""Helpers for the sync HTTP tests: signed-in reference clients and raw push/pull bodies."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import httpx
import msgspec

from backend.standards import load_shipped
from backend.standards.validation import walk_articles
from sync.client import HttpxTransport, SyncClient
from tests.backend.media_api.helpers import PhotoFile, noisy_jpeg, upload
from tests.backend.media_api.helpers import sha as file_sha
from tests.conftest import login

GRADED_ITEMS = ["1.1.1", "1.2.1", "1.2.2", "1.2.3", "1.3.1"]


class Devices:
    """Signs each user in once and hands out reference clients for them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.headers: dict[str, dict[str, str]] = {}

    async def auth(self, username: str) -> dict[str, str]:
        if username not in self.headers:
            self.headers[username] = await login(self.http, username)
        return self.headers[username]

    async def device(self, username: str, **kwargs: Any) -> SyncClient:
        return SyncClient(HttpxTransport(self.http, await self.auth(username)), **kwargs)


def sha(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def push_body(client_id: str, mutations: list[dict[str, Any]], group: str = "g-1") -> bytes:
    return msgspec.json.encode(
        {"protocolVersion": 1, "clientGroupId": group, "clientId": client_id, "mutations": mutations}
    )


def set_answer(
    mid: int, inspection: UUID, item: str, value: Any, base: int = 0, field: str = "value"
) -> dict[str, Any]:
    return {
        "id": mid,
        "name": "setAnswer",
        "hlc": f"h{mid}",
        "args": {
            "inspectionId": str(inspection),
            "itemCode": item,
            "field": field,
            "value": value,
            "baseVersion": base,
        },
    }


def answer_everything(device: SyncClient, inspection: UUID, standard: str = "township-2018") -> None:
    """Queue an answer for every prerequisite (met) and every article (grade B) of a shipped standard."""
    std = load_shipped(standard)
    for prerequisite in std.prerequisites:
        device.set_answer(inspection, prerequisite.id, "value", True)
    for _, article, _ in walk_articles(std):
        device.set_answer(inspection, article.number, "value", "B")


async def photo_minimums(standard_id: str = "cn-thc-capacity-2018") -> dict[str, int]:
    """Article → minimum photos (articles needing any), from the rules the push applies."""
    from backend.sync_api.rules import BackendStandardRules

    rules = await BackendStandardRules().for_standard(standard_id)
    assert rules is not None
    return {item: n for item, n in rules.min_photos().items() if n > 0}


class Answered(NamedTuple):
    """A device with an answer queued for every prerequisite and article of an inspection (pushed with what
    the test adds next), its user's Authorization header, and article → minimum photos of the standard."""

    device: SyncClient
    headers: dict[str, str]
    needs: dict[str, int]


async def answered(
    http: httpx.AsyncClient,
    inspection: UUID,
    *,
    username: str = "inspector1",
    standard_id: str = "cn-thc-capacity-2018",
) -> Answered:
    devices = Devices(http)
    headers = await devices.auth(username)
    device = await devices.device(username)
    answer_everything(device, inspection)
    return Answered(device, headers, await photo_minimums(standard_id))


_serial = [0]


def camera_photo(*, gps: bool = True, taken: bool = True) -> PhotoFile:
    """A small JPEG whose EXIF carries (or lacks) a capture time and a GPS position, as a camera writes it."""
    _serial[0] += 1
    data = noisy_jpeg(
        64 + _serial[0] % 50,
        48,
        gps=(30.6612, 104.0633) if gps else None,  # 30.65 rounds to 38′60″, which EXIF readers refuse
        taken=datetime(2026, 11, 20, 9, _serial[0] % 60, tzinfo=UTC) if taken else None,
    )
    return PhotoFile(uuid4(), data, file_sha(data))


def add_camera_photo(device: SyncClient, inspection: UUID, item: str, photo: PhotoFile) -> None:
    # the app sends the device's takenAt: it places the EXIF wall-clock time in the device's time zone
    device.add_photo(
        inspection, item, photo.sha256, photo.size, photo_id=photo.id, taken_at="2026-11-20T09:00:00+08:00"
    )


async def upload_all(http: httpx.AsyncClient, headers: dict[str, str], photos: list[PhotoFile]) -> None:
    """Upload the files of photos already added (their EXIF facts then reach the photo rows)."""
    for photo in photos:
        response = await upload(http, headers, photo)
        assert response.status_code in (200, 204), response.text
