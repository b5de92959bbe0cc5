"""Issue 21, item 7: knowing a photo's sha256 and size is no right to its bytes. A new owner of a stored blob
must upload it (verified, then discarded: storage stays deduplicated) before the photo counts as received
or its original is served; until then nothing tells it that the hash exists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from media.tables import Blob
from tests.backend.media_api.helpers import PhotoFile, noisy_jpeg, sha, upload
from tests.backend.sync_api.sync_support import Devices, push_body


def add(mid: int, inspection: Any, photo: PhotoFile) -> dict[str, Any]:
    args = {
        "inspectionId": str(inspection),
        "itemCode": "1.1.1",
        "photoId": str(photo.id),
        "sha256": photo.sha256,
        "size": photo.size,
        "mime": "image/jpeg",
    }
    return {"id": mid, "name": "addPhoto", "hlc": "h", "args": args}


async def test_a_known_hash_gets_no_bytes_without_the_bytes(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    inspector, clinic = await devices.auth("inspector1"), await devices.auth("clinic1")
    data = noisy_jpeg(96, 64)
    original = PhotoFile(uuid.uuid4(), data, sha(data))
    first = await client.post(
        "/api/sync/push",
        content=push_body("c-a", [add(1, demo["review_inspection"], original)]),
        headers=inspector,
    )
    assert first.json()["results"][0]["uploadRequired"] is True
    assert (await upload(client, inspector, original)).status_code == 204

    # the clinic claims the same bytes for its own self-assessment, knowing only the hash and size
    claimed = PhotoFile(uuid.uuid4(), data, original.sha256)
    pushed = await client.post(
        "/api/sync/push",
        content=push_body("c-b", [add(1, demo["self_inspections"][0], claimed)]),
        headers=clinic,
    )
    assert pushed.json()["results"][0] == pushed.json()["results"][0] | {
        "status": "applied",
        "uploadRequired": True,
    }
    started = await client.post(
        "/api/uploads",
        json={
            "photoId": str(claimed.id),
            "sha256": claimed.sha256,
            "size": claimed.size,
            "mime": "image/jpeg",
        },
        headers=clinic,
    )
    assert started.status_code == 201, started.text  # not 200 "complete": the bytes must come
    receipt = await client.get(f"/api/inspections/{demo['self_inspections'][0]}/receipt", headers=clinic)
    [state] = [p["state"] for p in receipt.json()["photos"] if p["photoId"] == str(claimed.id)]
    assert state == "awaiting_upload"  # as for a hash the server never saw
    refused = await client.get(f"/api/photos/{claimed.id}/original", headers=clinic)
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_uploaded"
    # other bytes under that hash are refused
    forged = PhotoFile(claimed.id, data[:-16] + bytes(16), claimed.sha256)
    assert (await upload(client, clinic, forged)).status_code == 422

    # the bytes themselves: proven, served, and stored once
    assert (await upload(client, clinic, claimed)).status_code == 204
    receipt = await client.get(f"/api/inspections/{demo['self_inspections'][0]}/receipt", headers=clinic)
    [state] = [p["state"] for p in receipt.json()["photos"] if p["photoId"] == str(claimed.id)]
    assert state in ("received", "stored")
    served = await client.get(f"/api/photos/{claimed.id}/original", headers=clinic, follow_redirects=True)
    assert served.status_code == 200
    assert served.content == data
    assert await Blob.count().where(Blob.sha256 == original.sha256) == 1
    # the holder adds it again elsewhere: nothing more to send
    again = PhotoFile(uuid.uuid4(), data, original.sha256)
    repeat = await client.post(
        "/api/sync/push",
        content=push_body("c-b", [add(2, demo["self_inspections"][0], again)]),
        headers=clinic,
    )
    assert repeat.json()["results"][0]["status"] == "applied"
    assert (await upload(client, clinic, again)).status_code == 200  # "complete", no bytes
