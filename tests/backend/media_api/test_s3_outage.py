"""S3 outage: uploads keep landing in the spool; when the store is back everything is stored exactly once.

Ceph RGW (the real server: signatures, expiry) has the gateway stopped mid-run and started again, with the
data surviving in its OSD. moto is the fast variant: the store is unreachable from the start, then comes up.
Presigned GET expiry is checked against RGW (moto does not enforce expiry).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from litestar import Litestar

from backend.media_api import services
from media.blob_jobs import derivative_key
from media.storage import S3Storage, blob_key
from media.tables import Blob, Job
from media.uploads import now_ms
from tests.backend.media_api.helpers import PhotoFile, add_photo, noisy_jpeg, upload
from tests.backend.media_api.test_worker import Clock, make_worker
from tests.media.s3servers import make_s3_storage, rgw_available, start_moto, start_rgw

pytestmark = pytest.mark.s3
needs_rgw = pytest.mark.skipif(
    not rgw_available(), reason="Ceph RGW not installed (scripts/s3/install-rgw.sh)"
)


@pytest.fixture(scope="module")
def rgw_server() -> Iterator[Any]:
    server = start_rgw(port=0)
    yield server
    server.stop()


def list_objects(server: Any, bucket: str) -> dict[str, bytes]:
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    found: dict[str, bytes] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


async def receipt_states(
    client: httpx.AsyncClient, demo: dict[str, Any], headers: dict[str, str]
) -> dict[str, str]:
    body = (await client.get(f"/api/inspections/{demo['review_inspection']}/receipt", headers=headers)).json()
    return {p["photoId"]: p["state"] for p in body["photos"]}


async def upload_batch(
    client: httpx.AsyncClient, demo: dict[str, Any], headers: dict[str, str], n: int
) -> list[PhotoFile]:
    photos = []
    for _ in range(n):
        photo = await add_photo(demo["review_inspection"], noisy_jpeg(320, 240))
        response = await upload(client, headers, photo)
        assert response.status_code == 204, response.text
        photos.append(photo)
    return photos


def check_bucket(objects: dict[str, bytes], photos: list[PhotoFile]) -> None:
    expected = {blob_key(p.sha256) for p in photos}
    expected |= {derivative_key(p.sha256, v) for p in photos for v in ("thumb", "preview")}
    assert set(objects) == expected  # nothing missing, nothing extra (keys are content addresses)
    for photo in photos:
        assert hashlib.sha256(objects[blob_key(photo.sha256)]).hexdigest() == photo.sha256


@needs_rgw
async def test_rgw_stopped_mid_run_then_everything_stored_once(
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
    rgw_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage = make_s3_storage(rgw_server)
    await storage.ensure_bucket()
    app.state.storage = storage
    clock = Clock()
    worker = make_worker(app, storage, clock, "rgw-worker")

    before = await upload_batch(client, demo, inspector, 3)
    clock.now = now_ms() + 1
    assert await worker.run_once() == 6
    assert set((await receipt_states(client, demo, inspector)).values()) == {"stored"}

    await asyncio.to_thread(rgw_server.stop_gateway)  # the outage
    try:
        during = await upload_batch(client, demo, inspector, 3)
        states = await receipt_states(client, demo, inspector)
        assert {states[str(p.id)] for p in before} == {"stored"}
        assert {states[str(p.id)] for p in during} == {"received"}
        clock.now = now_ms() + 1
        assert await worker.run_once() == 6  # all six jobs tried, all failed, none lost
        pending = await Job.select().where(Job.done_at.is_null())
        assert len(pending) == 6
        assert all(r["last_error"].startswith("StorageUnavailableError") for r in pending)
        assert {
            b["state"] for b in await Blob.select().where(Blob.sha256.is_in([p.sha256 for p in during]))
        } == {"spooled"}
        # the originals are still readable (from the spool) during the outage
        original = await client.get(f"/api/photos/{during[0].id}/original", headers=inspector)
        assert original.status_code == 200
        assert original.content == during[0].data
    finally:
        await asyncio.to_thread(rgw_server.start_gateway)

    clock.now += 3_600_000  # past any backoff
    assert await worker.run_once() == 6
    assert await Job.count().where(Job.done_at.is_null()) == 0
    assert set((await receipt_states(client, demo, inspector)).values()) == {"stored"}
    check_bucket(await asyncio.to_thread(list_objects, rgw_server, storage.bucket), before + during)
    spool = app.state.settings.data_path / "spool"
    assert [p for p in spool.rglob("*") if p.is_file()] == []

    # presigned GET through the photo endpoint, then expiry enforced by RGW
    monkeypatch.setattr(services, "SIGNED_URL_TTL_SECONDS", 2)
    link = await client.get(f"/api/photos/{before[0].id}/original", headers=inspector)
    assert link.status_code == 307
    url = link.headers["Location"]
    assert url.startswith(rgw_server.endpoint_url)
    assert "X-Amz-Signature" in url
    async with httpx.AsyncClient() as plain:
        fresh = await plain.get(url)
        assert fresh.status_code == 200
        assert fresh.content == before[0].data
        assert fresh.headers["content-type"] == "image/jpeg"
        tampered = await plain.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
        assert tampered.status_code == 403
        await asyncio.sleep(3.5)
        expired = await plain.get(url)
        assert expired.status_code == 403


async def test_moto_down_from_the_start_then_up(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    from tests.media.s3servers import moto

    port = moto.free_port()
    storage = S3Storage(
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        bucket="fc-outage",
        access_key="testing",
        secret_key="testing",
        verify_readback=True,  # moto ignores Content-MD5: read back and re-hash
        connect_timeout=1,
        max_attempts=1,
    )
    app.state.storage = storage
    clock = Clock()
    worker = make_worker(app, storage, clock, "moto-worker")
    photos = await upload_batch(client, demo, inspector, 4)
    assert set((await receipt_states(client, demo, inspector)).values()) == {"received"}
    clock.now = now_ms() + 1
    assert await worker.run_once() == 8
    assert await Job.count().where(Job.done_at.is_null()) == 8

    server = start_moto(port=port)
    try:
        await storage.ensure_bucket()
        clock.now += 3_600_000
        assert await worker.run_once() == 8
        assert set((await receipt_states(client, demo, inspector)).values()) == {"stored"}
        check_bucket(await asyncio.to_thread(list_objects, server, "fc-outage"), photos)
        # a second pass (say, a lost lease replayed) writes nothing new
        await Job.update({Job.done_at: None, Job.lease_until: None}).where(Job.kind == "transfer")
        assert await worker.run_once() == 4
        check_bucket(await asyncio.to_thread(list_objects, server, "fc-outage"), photos)
    finally:
        server.stop()


async def test_moto_down_at_start_up_then_worker_creates_the_bucket(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    """prepare_storage only logs when S3 is down at start-up; the transfer worker meets NoSuchBucket later
    and creates the bucket itself (nobody calls ensure_bucket by hand here)."""
    from backend.storage import prepare_storage
    from tests.media.s3servers import moto

    port = moto.free_port()
    storage = S3Storage(
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        bucket="fc-created-late",
        access_key="testing",
        secret_key="testing",
        verify_readback=True,
        connect_timeout=1,
        max_attempts=1,
    )
    await prepare_storage(storage)  # store down: logged, no bucket, no exception
    app.state.storage = storage
    clock = Clock()
    worker = make_worker(app, storage, clock, "moto-late-bucket")
    photos = await upload_batch(client, demo, inspector, 2)
    server = start_moto(port=port)  # up, but empty: no bucket
    try:
        clock.now = now_ms() + 1
        assert await worker.run_once() == 4
        assert await Job.count().where(Job.done_at.is_null()) == 0
        assert set((await receipt_states(client, demo, inspector)).values()) == {"stored"}
        check_bucket(await asyncio.to_thread(list_objects, server, "fc-created-late"), photos)
    finally:
        server.stop()
