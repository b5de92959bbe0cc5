"""The upload contract end to end on both databases: create, HEAD, PATCH, receipt, worker, photo variants."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar
from PIL import Image

from backend.media_api.services import upload_config
from media.storage import blob_key
from media.tables import Blob, Job, Upload
from media.uploads import expire_uploads
from media.worker import MediaWorker
from sync.tables import Photo
from tests.backend.media_api.helpers import add_photo, b64sha, create, noisy_jpeg, patch, upload
from tests.backend.sync_api.sync_support import photo_minimums


def spool_files(app: Litestar) -> list[Path]:
    root = app.state.settings.data_path / "spool"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def stored_files(app: Litestar) -> list[Path]:
    root = app.state.settings.data_path / "storage"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_upload_receipt_transfer_and_variants(
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
    worker: MediaWorker,
) -> None:
    inspection = demo["review_inspection"]
    data = noisy_jpeg(gps=(23.125, 113.25), taken=datetime(2026, 5, 1, 10, 12, 0), orientation=6)
    photo = await add_photo(inspection, data, taken_at="2026-05-01T10:12:05+08:00")

    created = await create(client, inspector, photo)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"uploadUrl", "offset", "expiresAt"}
    assert body["offset"] == 0
    assert created.headers["Location"] == body["uploadUrl"]
    url = body["uploadUrl"]

    head = await client.head(url, headers=inspector)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(photo.size)

    # same photo, same file again: the same session (idempotent POST), and no files of another one
    again = await create(client, inspector, photo)
    assert again.status_code == 201
    assert again.json()["uploadUrl"] == url
    upload_id = url.rsplit("/", 1)[1]
    assert sorted(p.name for p in spool_files(app)) == [f"{upload_id}.json", f"{upload_id}.part"]

    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    assert [p["state"] for p in receipt["photos"]] == ["awaiting_upload"]

    chunk = 300 * 1024
    first = await patch(client, inspector, url, 0, data[:chunk], checksum=b64sha(data[:chunk]))
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == str(chunk)
    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    assert receipt["photos"][0]["uploadedBytes"] == chunk

    offset = chunk
    while offset < photo.size:
        piece = data[offset : offset + chunk]
        response = await patch(client, inspector, url, offset, piece, checksum=b64sha(piece))
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    assert offset == photo.size
    assert (await client.head(url, headers=inspector)).status_code == 404  # session finished

    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    assert blob["state"] == "spooled"
    assert blob["mime"] == "image/jpeg"
    assert (blob["width"], blob["height"]) == (900, 700)
    assert abs(blob["gps_lat"] - 23.125) < 1e-3
    assert abs(blob["gps_lon"] - 113.25) < 1e-3
    row = await Photo.select().where(Photo.id == photo.id).first()
    assert row is not None
    assert abs(row["gps_lat"] - 23.125) < 1e-3
    # EXIF time has no offset: placed in the device's time zone from takenAt (+08:00)
    assert row["capture_time"] is not None
    assert (
        row["capture_time"].astimezone().isoformat()
        == datetime.fromisoformat("2026-05-01T10:12:00+08:00").astimezone().isoformat()
    )

    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    assert [p["state"] for p in receipt["photos"]] == ["received"]

    # before the transfer, the original comes from the spool
    original = await client.get(f"/api/photos/{photo.id}/original", headers=inspector)
    assert original.status_code == 200
    assert original.content == data
    not_yet = await client.get(f"/api/photos/{photo.id}/thumb", headers=inspector)
    assert not_yet.status_code == 404
    assert not_yet.json()["code"] == "variant_not_ready"

    assert await worker.run_once() == 2  # transfer + derive
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    assert blob["state"] == "stored"
    assert blob["spool_path"] is None
    assert blob["derived"]
    assert spool_files(app) == []
    assert await Job.count().where(Job.done_at.is_null()) == 0
    stored = app.state.settings.data_path / "storage" / blob_key(photo.sha256)
    assert stored.read_bytes() == data

    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    assert [p["state"] for p in receipt["photos"]] == ["stored"]

    redirect = await client.get(f"/api/photos/{photo.id}/original", headers=inspector)
    assert redirect.status_code == 307
    signed = redirect.headers["Location"]
    assert signed.startswith("/api/media/signed/")
    got = await client.get(signed)  # no bearer token: the signature is the permission
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/jpeg"

    for variant, side in (("thumb", 320), ("preview", 900)):
        link = await client.get(f"/api/photos/{photo.id}/{variant}", params={"as": "json"}, headers=inspector)
        assert link.status_code == 200
        image_response = await client.get(link.json()["url"])
        assert image_response.status_code == 200
        from io import BytesIO

        with Image.open(BytesIO(image_response.content)) as im:
            assert im.format == "JPEG"
            assert max(im.size) == side
            assert im.size[1] > im.size[0]  # orientation 6 turned upright: portrait
            assert not im.getexif()  # no EXIF (no GPS) in derivatives


async def test_dedupe_returns_complete_and_keeps_each_photo(
    client: httpx.AsyncClient, demo: dict[str, Any], inspector: dict[str, str], worker: MediaWorker
) -> None:
    inspection = demo["review_inspection"]
    data = noisy_jpeg(300, 200)
    first = await add_photo(inspection, data, item_code="1.1.1")
    assert (await upload(client, inspector, first)).status_code == 204
    second = await add_photo(inspection, data, item_code="1.1.2")
    response = await create(client, inspector, second)
    assert response.status_code == 200
    assert response.json() == {"status": "complete"}
    await worker.run_once()
    third = await add_photo(inspection, data, item_code="1.1.1")
    assert (await create(client, inspector, third)).json() == {"status": "complete"}
    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    assert sorted((p["itemCode"], p["state"]) for p in receipt["photos"]) == [
        ("1.1.1", "stored"),
        ("1.1.1", "stored"),
        ("1.1.2", "stored"),
    ]
    assert await Blob.count() == 1


async def test_stale_offset_409_and_bad_chunk_460(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    data = noisy_jpeg(400, 300)
    photo = await add_photo(demo["review_inspection"], data)
    url = (await create(client, inspector, photo)).json()["uploadUrl"]
    chunk = data[:100_000]
    assert (await patch(client, inspector, url, 0, chunk, checksum=b64sha(chunk))).status_code == 204

    stale = await patch(client, inspector, url, 0, chunk)
    assert stale.status_code == 409
    assert stale.headers["Upload-Offset"] == "100000"
    assert stale.json()["offset"] == 100_000

    ahead = await patch(client, inspector, url, 150_000, data[150_000:160_000])
    assert ahead.status_code == 409
    assert ahead.headers["Upload-Offset"] == "100000"

    piece = data[100_000:200_000]
    corrupted = bytearray(piece)
    corrupted[5000] ^= 0xFF
    bad = await patch(client, inspector, url, 100_000, bytes(corrupted), checksum=b64sha(piece))
    assert bad.status_code == 460
    assert bad.json()["code"] == "checksum_mismatch"
    head = await client.head(url, headers=inspector)
    assert head.headers["Upload-Offset"] == "100000"  # the bad chunk did not count

    # resume with the right bytes: the file completes and hashes right
    rest = data[100_000:]
    done = await patch(client, inspector, url, 100_000, rest, checksum=b64sha(rest))
    assert done.status_code == 204, done.text
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    assert Path(blob["spool_path"]).read_bytes() == data  # noqa: ASYNC240 - a test reading a small file

    wrong_type = await client.patch(
        url, content=b"x", headers={**inspector, "Upload-Offset": "0", "Content-Type": "image/jpeg"}
    )
    assert wrong_type.status_code in (400, 404)


async def test_wrong_declared_sha256_is_422_and_spool_deleted(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    data = noisy_jpeg(400, 300)
    declared = "ab" * 32
    photo = await add_photo(demo["review_inspection"], data, declared_sha256=declared)
    created = await create(client, inspector, photo)
    url = created.json()["uploadUrl"]
    assert sorted(p.suffix for p in spool_files(app)) == [".json", ".part"]  # the part and its sidecar
    response = await patch(client, inspector, url, 0, data)
    assert response.status_code == 422
    assert response.json()["code"] == "sha256_mismatch"
    assert spool_files(app) == []
    assert await Upload.count() == 0
    assert await Blob.count() == 0
    assert (await client.head(url, headers=inspector)).status_code == 404
    receipt = (
        await client.get(f"/api/inspections/{demo['review_inspection']}/receipt", headers=inspector)
    ).json()
    assert receipt["photos"][0]["state"] == "awaiting_upload"


async def test_who_may_upload(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    from tests.conftest import login

    data = noisy_jpeg(64, 64)
    review = await add_photo(demo["review_inspection"], data)
    own_self = await add_photo(demo["self_inspections"][0], noisy_jpeg(64, 64))
    other_self = await add_photo(demo["self_inspections"][1], noisy_jpeg(64, 64))
    clinic = await login(client, "clinic1")
    office = await login(client, "office")
    outsider = await login(client, "inspector6")  # not on the review team
    admin = await login(client, "admin")

    assert (await create(client, clinic, review)).status_code == 403
    assert (await create(client, office, review)).status_code == 403
    assert (await create(client, outsider, review)).status_code == 403
    assert (await create(client, clinic, other_self)).status_code == 403
    assert (await create(client, clinic, own_self)).status_code == 201
    assert (await create(client, admin, review)).status_code == 201

    unknown = await client.post(
        "/api/uploads",
        json={"photoId": str(uuid.uuid4()), "sha256": "0" * 64, "size": 10},
        headers=admin,
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_photo"
    mismatch = await client.post(
        "/api/uploads",
        json={"photoId": str(review.id), "sha256": "0" * 64, "size": review.size},
        headers=admin,
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["code"] == "photo_mismatch"

    # the session belongs to its creator: another user cannot see or write it
    url = (await create(client, admin, review)).json()["uploadUrl"]
    inspector = await login(client, "inspector1")
    assert (await client.head(url, headers=inspector)).status_code == 404
    assert (await patch(client, inspector, url, 0, data)).status_code == 404
    assert (await client.post("/api/uploads", json={})).status_code == 401


async def test_receipt_lists_articles_short_of_their_minimum_photos(
    client: httpx.AsyncClient, demo: dict[str, Any], inspector: dict[str, str], worker: MediaWorker
) -> None:
    inspection = demo["review_inspection"]  # cn-thc-capacity-2018: 1.2.1 needs 1 photo, 1.2.2 needs 2
    minimums = await photo_minimums()
    assert minimums["1.2.1"] == 1
    assert minimums["1.2.2"] == 2
    assert "1.1.1" not in minimums  # minimum 0
    before = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    short = {a["itemCode"]: (a["required"], a["have"]) for a in before["shortArticles"]}
    assert short["1.2.2"] == (2, 0)
    assert len(short) == len(minimums)
    assert before["complete"] is False
    assert before["minimumsSource"] == "standard"

    # the standard requires a capture time and a position: only photos whose files carry them count
    def camera() -> bytes:
        return noisy_jpeg(100, 80, gps=(30.6612, 104.0633), taken=datetime(2026, 11, 20, 9, 30))

    device_time = "2026-11-20T09:30:00+08:00"
    stored = await add_photo(inspection, camera(), item_code="1.2.2", taken_at=device_time)
    assert (await upload(client, inspector, stored)).status_code == 204
    await worker.run_once()
    waiting = await add_photo(
        inspection, camera(), item_code="1.2.2", taken_at=device_time
    )  # not uploaded yet
    one = await add_photo(inspection, camera(), item_code="1.2.1", taken_at=device_time)
    assert (await upload(client, inspector, one)).status_code == 204  # received counts: bytes are here
    after = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    short = {a["itemCode"]: (a["required"], a["have"]) for a in after["shortArticles"]}
    assert short["1.2.2"] == (2, 1)  # the photo still awaiting upload does not count
    assert "1.2.1" not in short
    assert after["counts"] == {"awaiting_upload": 1, "received": 1, "stored": 1, "rejected": 0}
    states = {p["photoId"]: p["state"] for p in after["photos"]}
    assert states == {str(stored.id): "stored", str(waiting.id): "awaiting_upload", str(one.id): "received"}


async def test_na_articles_are_never_short_of_photos(
    client: httpx.AsyncClient, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    from sync.tables import AnswerRegister

    inspection = demo["review_inspection"]  # cn-thc-capacity-2018: 1.2.1 needs 1 photo, 1.2.2 needs 2

    async def short() -> set[str]:
        body = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
        return {a["itemCode"] for a in body["shortArticles"]}

    assert {"1.2.1", "1.2.2"} <= await short()
    for code, value in (("1.2.2", "true"), ("1.2.1", "false")):
        await AnswerRegister.insert(
            AnswerRegister(
                key=f"{inspection}/{code}/na",
                inspection_id=inspection,
                item_code=code,
                field="na",
                value=value,
            )
        )
    after = await short()
    assert "1.2.2" not in after  # N/A: no photos needed
    assert "1.2.1" in after  # na = false is not N/A
    await AnswerRegister.update({AnswerRegister.value: "null"}).where(AnswerRegister.item_code == "1.2.2")
    assert "1.2.2" in await short()  # N/A withdrawn: short again


async def test_housekeeping_removes_idle_sessions_and_orphaned_spool_files(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    """Expired sessions go with their files; so do files of a session whose row was never committed (a crash
    between making them and the commit), once idle past the TTL; fresh orphans and live sessions stay."""
    data = noisy_jpeg(300, 200)
    live = (await create(client, inspector, await add_photo(demo["review_inspection"], data))).json()
    live_id = live["uploadUrl"].rsplit("/", 1)[1]
    config = upload_config(app.state.settings)
    parts = config.spool_root / "parts"
    old, fresh = uuid.uuid4(), uuid.uuid4()
    for orphan in (old, fresh):
        (parts / f"{orphan}.part").write_bytes(b"x" * 10)
        (parts / f"{orphan}.json").write_text("{}")
    long_ago = time.time() - config.ttl_seconds - 60
    for name in (f"{old}.part", f"{old}.json"):
        os.utime(parts / name, (long_ago, long_ago))

    assert await expire_uploads(app.state.engine, config) == 1
    assert sorted(p.name for p in parts.iterdir()) == sorted(
        f"{i}.{kind}" for i in (fresh, live_id) for kind in ("json", "part")
    )
    assert await Upload.count() == 1
