"""Evidence flags end to end (both databases): uploads → worker → flags in the receipt, the pull and the
office's list; GPS and time flags at the edges; a clinic never sees another facility's photo ids."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from litestar import Litestar
from PIL import Image

from backend.audit.tables import AuditLog
from backend.inspections.tables import Round
from backend.registry.tables import Facility
from backend.workers import build_media_worker
from bench.near_duplicates import load_rgb, original, transformed
from media.worker import MediaWorker, WorkerConfig
from sync.tables import Photo
from tests.backend.media_api.helpers import add_photo, noisy_jpeg, upload
from tests.conftest import login

# 1 km of latitude in degrees (mean Earth radius 6371.0088 km)
KM = 1 / 111.19508


@pytest.fixture
def worker(app: Litestar) -> MediaWorker:
    return build_media_worker(app.state.settings, app.state.engine, app.state.storage, WorkerConfig())


@pytest.fixture
async def admin(client: httpx.AsyncClient, demo: dict[str, Any]) -> dict[str, str]:
    return await login(client, "admin")


async def _send(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    inspection_id: uuid.UUID,
    data: bytes,
    *,
    item_code: str = "1.1.1",
    taken_at: str | None = None,
) -> uuid.UUID:
    photo = await add_photo(inspection_id, data, item_code=item_code, taken_at=taken_at)
    response = await upload(client, headers, photo)
    assert response.status_code in (200, 204), response.text
    return photo.id


async def _flags(photo_id: uuid.UUID) -> dict[str, list[str]]:
    """code → related photo ids, as stored (everything, before any reader's scope)."""
    import json

    row = await Photo.select(Photo.flags).where(Photo.id == photo_id).first()
    assert row is not None
    return {f["code"]: [r["photoId"] for r in f.get("related", [])] for f in json.loads(row["flags"] or "[]")}


def _exif_photo(*, gps: tuple[float, float] | None = None, taken: str | None = None) -> bytes:
    from datetime import datetime

    return noisy_jpeg(64, 48, gps=gps, taken=None if taken is None else datetime.fromisoformat(taken))


async def test_copies_at_another_facility_are_near_duplicates_and_distinct_photos_are_not(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    astronaut = load_rgb("astronaut.png")
    elsewhere = await _send(client, admin, demo["self_inspections"][1], original(astronaut))
    copies = {
        kind: await _send(client, admin, demo["self_inspections"][0], transformed(astronaut, kind))
        for kind in ("quality70", "half", "crop2", "exif_rotated", "png_border", "screenshot")
    }
    distinct = await _send(client, admin, demo["self_inspections"][0], original(load_rgb("coffee.png")))
    await worker.run_once()

    for kind, photo_id in copies.items():
        flags = await _flags(photo_id)
        # related: the original at the other facility (copies of one article at one facility are not)
        assert flags["near_duplicate"] == [str(elsewhere)], kind
    assert sorted((await _flags(elsewhere))["near_duplicate"]) == sorted(str(p) for p in copies.values())
    assert "near_duplicate" not in await _flags(distinct)

    # the clinic sees the flag and the reason, never the other facility's photo id
    clinic = await login(client, "clinic1")
    receipt = (
        await client.get(f"/api/inspections/{demo['self_inspections'][0]}/receipt", headers=clinic)
    ).json()
    shown = {p["photoId"]: p["flags"] for p in receipt["photos"]}
    flag = next(f for f in shown[str(copies["half"])] if f["code"] == "near_duplicate")
    assert flag["relatedPhotoIds"] == []
    assert "another facility" in flag["detail"]
    assert str(elsewhere) not in str(receipt)
    pulled = (
        await client.post(
            "/api/sync/pull",
            json={"protocolVersion": 1, "clientGroupId": "g-clinic", "cookie": None},
            headers=clinic,
        )
    ).json()
    assert str(elsewhere) not in str(pulled)
    value = next(op["value"] for op in pulled["patch"] if op["key"] == f"photo/{copies['crop2']}")
    assert [f["code"] for f in value["flags"]][:1] == ["near_duplicate"]
    assert value["flags"][0]["relatedPhotoIds"] == []

    # the admin (allowed to see both) gets the ids in the receipt
    receipt = (
        await client.get(f"/api/inspections/{demo['self_inspections'][0]}/receipt", headers=admin)
    ).json()
    flag = next(f for p in receipt["photos"] if p["photoId"] == str(copies["half"]) for f in p["flags"])
    assert flag == {
        "code": "near_duplicate",
        "detail": flag["detail"],
        "relatedPhotoIds": [str(elsewhere)],
        # what a person reads: a code of the vocabulary with its numbers, no English
        "message": {"code": "flagDetail_near_duplicate_exact", "params": {"elsewhere": 1, "here": 0}},
    }

    # the office may read both facilities: its pull names the original
    office = await login(client, "office")
    pulled = (
        await client.post(
            "/api/sync/pull",
            json={"protocolVersion": 1, "clientGroupId": "g-office", "cookie": None},
            headers=office,
        )
    ).json()
    value = next(op["value"] for op in pulled["patch"] if op["key"] == f"photo/{copies['crop2']}")
    assert value["flags"][0]["relatedPhotoIds"] == [str(elsewhere)]

    # the office's list for the round: both photos side by side, with facility and article
    listed = (
        await client.get(
            f"/api/evidence/rounds/{demo['round']}/flags", params={"code": "near_duplicate"}, headers=office
        )
    ).json()
    by_photo = {f["photo"]["photoId"]: f for f in listed["flags"]}
    assert set(by_photo) == {str(elsewhere), *(str(p) for p in copies.values())}
    entry = by_photo[str(copies["png_border"])]
    assert entry["related"][0]["photoId"] == str(elsewhere)
    assert entry["related"][0]["facilityId"] == str(demo["facilities"][1])
    assert entry["related"][0]["itemCode"] == "1.1.1"
    assert entry["related"][0]["thumbUrl"] == f"/api/photos/{elsewhere}/thumb"
    assert entry["photo"]["facilityId"] == str(demo["facilities"][0])
    assert listed["counts"]["near_duplicate"] == 7
    # filtered by facility
    only = (
        await client.get(
            f"/api/evidence/rounds/{demo['round']}/flags",
            params={"facilityId": str(demo["facilities"][1]), "code": "near_duplicate"},
            headers=office,
        )
    ).json()
    assert [f["photo"]["photoId"] for f in only["flags"]] == [str(elsewhere)]


async def test_another_article_at_the_same_facility_is_a_near_duplicate(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    data = original(load_rgb("chelsea.png"))
    first = await _send(client, admin, demo["self_inspections"][0], data, item_code="1.1.1")
    second = await _send(client, admin, demo["self_inspections"][0], data, item_code="1.1.2")
    same_article_review = await _send(client, admin, demo["review_inspection"], data, item_code="1.1.1")
    await worker.run_once()
    assert (await _flags(first))["near_duplicate"] == [str(second)]
    # the county review re-using the clinic's photo of the same article in the same round is expected
    assert (await _flags(same_article_review))["near_duplicate"] == [str(second)]


async def test_gps_flags_at_the_edge_of_the_radius_and_when_coordinates_change(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    facility = demo["facilities"][0]
    lat, lon = 30.0, 120.0
    response = await client.patch(
        f"/api/admin/facilities/{facility}", json={"latitude": lat, "longitude": lon}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["latitude"] == lat
    inside = await _send(client, admin, demo["self_inspections"][0], _exif_photo(gps=(lat + 2.95 * KM, lon)))
    outside = await _send(client, admin, demo["self_inspections"][0], _exif_photo(gps=(lat + 3.05 * KM, lon)))
    nowhere = await _send(client, admin, demo["self_inspections"][0], _exif_photo())
    await worker.run_once()
    assert "far_from_facility" not in await _flags(inside)
    assert "far_from_facility" in await _flags(outside)
    assert "no_location" in await _flags(nowhere)
    assert "far_from_facility" not in await _flags(nowhere)

    # the facility's surveyed position moves 1 km north: both photos are now within 3 km
    csv = f"licenceNumber,latitude,longitude\nPDY440000C,{lat + 1 * KM},{lon}\n"
    response = await client.post(
        "/api/admin/facilities/coordinates", content=csv, headers={**admin, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == 1
    assert "far_from_facility" not in await _flags(outside)


async def test_time_flags_at_the_edges_of_the_round(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    await Round.update({Round.starts_on: date(2026, 4, 1), Round.ends_on: date(2026, 6, 30)}).where(
        Round.id == demo["round"]
    )
    times = {
        "first_second": ("2026-04-01T00:00:00", False),
        "day_before": ("2026-03-31T23:59:59", True),
        "last_second": ("2026-06-30T23:59:59", False),
        "day_after": ("2026-07-01T00:00:00", True),
    }
    ids = {
        name: await _send(
            client,
            admin,
            demo["self_inspections"][0],
            _exif_photo(taken=when),
            taken_at="2026-05-01T08:00:00+08:00",
        )
        for name, (when, _) in times.items()
    }
    no_time = await _send(client, admin, demo["self_inspections"][0], _exif_photo(gps=(30.0, 120.0)))
    await worker.run_once()
    for name, (_, flagged) in times.items():
        assert ("outside_period" in await _flags(ids[name])) is flagged, name
    missing = await _flags(no_time)
    assert "no_capture_time" in missing
    assert "no_location" not in missing


async def test_photo_without_any_exif_gets_both_missing_flags(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(out, "PNG")
    photo = await _send(client, admin, demo["self_inspections"][0], out.getvalue())
    await worker.run_once()
    assert set(await _flags(photo)) == {"no_capture_time", "no_location"}


async def test_a_person_reviews_a_flag_and_it_is_audited(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    photo = await _send(client, admin, demo["self_inspections"][0], _exif_photo())
    await worker.run_once()
    office = await login(client, "office")
    url = f"/api/evidence/photos/{photo}/flags/no_location/review"
    body = {"status": "disputed", "reason": "the tablet's GPS was off; the inspector saw the room"}
    response = await client.put(url, json=body, headers=office)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "disputed"
    audit = await AuditLog.select().where(AuditLog.action == "evidence.review")
    assert len(audit) == 1
    assert audit[0]["entity"] == f"photo/{photo}"
    listed = (await client.get(f"/api/evidence/rounds/{demo['round']}/flags", headers=office)).json()
    reviewed = next(f for f in listed["flags"] if f["code"] == "no_location")
    assert reviewed["review"]["reason"] == body["reason"]
    # a flag the photo does not have, a clinic, an empty reason: refused, nothing recorded
    assert (
        await client.put(
            f"/api/evidence/photos/{photo}/flags/far_from_facility/review", json=body, headers=office
        )
    ).status_code == 409
    clinic = await login(client, "clinic1")
    assert (await client.put(url, json=body, headers=clinic)).status_code == 403
    assert (
        await client.put(url, json={"status": "accepted", "reason": ""}, headers=office)
    ).status_code == 400
    assert len(await AuditLog.select().where(AuditLog.action == "evidence.review")) == 1


async def test_coordinates_csv_is_all_or_nothing_with_a_reason_per_row(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str]
) -> None:
    csv = (
        "licenceNumber,name,latitude,longitude\n"
        "PDY440000C,城关,30.1,120.2\n"
        "PDY440001C,x,91,120\n"
        "NOPE,y,30,120\n"
        "PDY440003C,z,30,\n"
        "PDY440000C,again,30,120\n"
    )
    headers = {**admin, "Content-Type": "text/csv"}
    response = await client.post("/api/admin/facilities/coordinates", content=csv, headers=headers)
    assert response.status_code == 422, response.text
    problems = response.json()["problems"]
    assert [p["line"] for p in problems] == [3, 4, 5, 6]
    assert "outside" in problems[0]["message"]
    assert "no facility" in problems[1]["message"]
    assert "go together" in problems[2]["message"]
    assert "also on line 2" in problems[3]["message"]
    rows = await Facility.select(Facility.latitude).where(Facility.latitude.is_not_null())
    assert rows == []
    bad_header = await client.post(
        "/api/admin/facilities/coordinates", content="id,lat,lon\n", headers=headers
    )
    assert bad_header.status_code == 400
    office = await login(client, "office")
    forbidden = await client.post(
        "/api/admin/facilities/coordinates", content=csv, headers={**office, "Content-Type": "text/csv"}
    )
    assert forbidden.status_code == 403
    good = "\ufefffacilityId,latitude,longitude\n" + "".join(
        f"{fid},{30 + i / 10},{120 + i / 10}\n" for i, fid in enumerate(demo["facilities"][:3])
    )
    response = await client.post("/api/admin/facilities/coordinates", content=good, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 3, "unchanged": 0, "flagsRecomputed": 0}
    half = await client.patch(
        f"/api/admin/facilities/{demo['facilities'][0]}", json={"latitude": 1.0}, headers=admin
    )
    assert half.status_code == 422  # schema-valid, refused by a rule across fields
    assert half.json()["code"] == "coordinates_incomplete"


async def test_blobs_stored_before_hashes_existed_get_one(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    from backend.workers import housekeeping
    from media.tables import Blob

    data = original(load_rgb("rocket.jpg"))
    first = await _send(client, admin, demo["self_inspections"][1], data)
    await worker.run_once()
    row = await Blob.select(Blob.sha256, Blob.phash).first()
    assert row is not None
    assert row["phash"] is not None
    # as a blob derived by an older version looks
    await Blob.update(
        {Blob.phash: None, Blob.ph0: None, Blob.ph1: None, Blob.ph2: None, Blob.ph3: None}
    ).where(Blob.sha256 == row["sha256"])
    copy = await _send(
        client, admin, demo["self_inspections"][0], transformed(load_rgb("rocket.jpg"), "half")
    )
    await worker.run_once()
    assert "near_duplicate" not in await _flags(copy)  # the old blob has no hash to be found by
    await housekeeping(app.state.engine, app.state.settings)
    await worker.run_once()
    assert (await Blob.select(Blob.phash).where(Blob.sha256 == row["sha256"]).first()) == {
        "phash": row["phash"]
    }
    assert (await _flags(copy))["near_duplicate"] == [str(first)]
    await housekeeping(app.state.engine, app.state.settings)  # nothing left to queue
    assert await worker.run_once() == 0


async def test_changing_a_rounds_dates_recomputes_outside_period(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    async def dates(starts_on: str, ends_on: str) -> None:
        response = await client.patch(
            f"/api/admin/rounds/{demo['round']}",
            json={"startsOn": starts_on, "endsOn": ends_on},
            headers=admin,
        )
        assert response.status_code == 200, response.text

    await dates("2026-04-01", "2026-06-30")
    early = await _send(client, admin, demo["self_inspections"][0], _exif_photo(taken="2026-03-20T10:00:00"))
    inside = await _send(client, admin, demo["self_inspections"][0], _exif_photo(taken="2026-05-20T10:00:00"))
    await worker.run_once()
    assert "outside_period" in await _flags(early)
    assert "outside_period" not in await _flags(inside)
    version = (await Photo.select(Photo.version).where(Photo.id == early).first() or {})["version"]

    await dates("2026-03-01", "2026-06-30")  # the round now began before the photo was taken
    assert "outside_period" not in await _flags(early)
    assert "outside_period" not in await _flags(inside)
    # the photo's version moved, so devices pull it again without the flag
    assert (await Photo.select(Photo.version).where(Photo.id == early).first() or {})["version"] > version

    await dates("2026-05-21", "2026-06-30")
    assert "outside_period" in await _flags(early)
    assert "outside_period" in await _flags(inside)


async def test_a_removed_photo_leaves_its_near_duplicates_flags(
    client: httpx.AsyncClient, demo: dict[str, Any], admin: dict[str, str], worker: MediaWorker
) -> None:
    import msgspec

    astronaut = load_rgb("astronaut.png")
    elsewhere = await _send(client, admin, demo["self_inspections"][1], original(astronaut))
    copy = await _send(client, admin, demo["self_inspections"][0], transformed(astronaut, "half"))
    same_bytes = await _send(
        client, admin, demo["self_inspections"][0], original(astronaut), item_code="1.1.2"
    )
    await worker.run_once()
    assert sorted((await _flags(copy))["near_duplicate"]) == sorted([str(elsewhere), str(same_bytes)])

    body = {
        "protocolVersion": 1,
        "clientGroupId": "g-remove",
        "clientId": "c-remove",
        "mutations": [
            {"id": 1, "name": "removePhoto", "hlc": "h1", "args": {"photoId": str(elsewhere)}},
        ],
    }
    response = await client.post("/api/sync/push", content=msgspec.json.encode(body), headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "applied"
    # the removed photo is no longer named; the other photo of the same bytes still is
    assert (await _flags(copy))["near_duplicate"] == [str(same_bytes)]
    assert (await _flags(same_bytes))["near_duplicate"] == [str(copy)]

    body["mutations"] = [{"id": 2, "name": "removePhoto", "hlc": "h2", "args": {"photoId": str(same_bytes)}}]
    response = await client.post("/api/sync/push", content=msgspec.json.encode(body), headers=admin)
    assert response.status_code == 200, response.text
    assert "near_duplicate" not in await _flags(copy)
