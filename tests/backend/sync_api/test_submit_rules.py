"""Submit's rules at the edge (issue 11): every prerequisite and article answered, minimums counted only from
photos that carry what the standard requires (the receipt says which do not), the office's audited "submit
incomplete" that no tier sign-off follows, and the queue each device reports with its pushes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from backend.audit.tables import AuditLog
from backend.db import fetch
from backend.inspections.tables import Inspection
from backend.vocabulary import say
from tests.backend.review.test_conclusions import ARTICLES
from tests.backend.sync_api.sync_support import (
    Devices,
    add_camera_photo,
    answer_everything,
    answered,
    camera_photo,
    push_body,
    upload_all,
)
from tests.conftest import login


async def test_submit_refused_until_every_prerequisite_and_article_is_answered(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    device = await Devices(client).device("inspector1")
    for item in ARTICLES[:3]:
        device.set_answer(review, item, "value", "A")
    device.submit_inspection(review)
    await device.push()
    refused = device.results[4]
    assert (refused.status, refused.reason) == ("rejected", "incomplete")
    # counts and the first few codes, in words the sync centre shows
    assert refused.detail == (
        "not complete: 3 prerequisite(s) not answered (P1, P2, P3); "
        f"40 of 43 article(s) not answered ({', '.join(ARTICLES[3:8])}, …)"
    )
    # everything but the last article: only that one is named
    answer_everything(device, review)
    await device.push()
    device.set_answer(review, ARTICLES[-1], "value", None)
    device.submit_inspection(review)
    await device.push()
    last = device.results[max(device.results)]
    assert (last.status, last.reason) == ("rejected", "incomplete")
    assert last.detail == f"not complete: 1 of 43 article(s) not answered ({ARTICLES[-1]})"
    # complete answers: the next refusal is the evidence (no photos yet), never "incomplete"
    device.set_answer(review, ARTICLES[-1], "value", "C")
    device.submit_inspection(review)
    await device.push()
    last = device.results[max(device.results)]
    assert (last.status, last.reason) == ("rejected", "evidence_missing")
    rows = await fetch("SELECT status FROM inspection WHERE id = {}", [review])
    assert rows[0]["status"] == "in_progress"
    audited = await AuditLog.select(AuditLog.details).where(AuditLog.action == "sync.rejected")
    reasons = [
        msgspec.json.decode(r["details"]) if isinstance(r["details"], str) else r["details"] for r in audited
    ]
    assert sum(1 for d in reasons if d.get("reason") == "incomplete") == 2


async def test_minimums_count_only_photos_with_capture_time_and_location(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    device, headers, needs = await answered(client, review)
    short_item = next(item for item, n in needs.items() if n == 2)
    good, bad = [], {}
    for item, count in needs.items():
        for _ in range(count):
            if item == short_item:
                # one without GPS, one without a capture time: neither counts
                photo = camera_photo(gps=False) if not bad else camera_photo(taken=False)
                bad[photo.id] = photo
            else:
                photo = camera_photo()
                good.append(photo)
            add_camera_photo(device, review, item, photo)
    waiting = camera_photo()  # added, its file not uploaded yet
    add_camera_photo(device, review, short_item, waiting)
    await device.push()
    await upload_all(client, headers, [*good, *bad.values()])

    device.submit_inspection(review)
    await device.push()
    refused = device.results[max(device.results)]
    assert (refused.status, refused.reason) == ("rejected", "evidence_missing")
    assert refused.detail is not None
    assert refused.detail.startswith(f"1 item(s) short of their minimum photos: {short_item} (0/2)")
    assert "3 photo(s) of these do not count" in refused.detail

    receipt = (await client.get(f"/api/inspections/{review}/receipt", headers=headers)).json()
    why = {p["photoId"]: p["notCounted"] for p in receipt["photos"]}
    no_gps, no_time = bad
    assert why[str(no_gps)] == ["no_location"]
    assert why[str(no_time)] == ["no_capture_time"]
    assert why[str(waiting.id)] == ["not_received"]
    assert all(why[str(p.id)] == [] for p in good)
    assert [(s["itemCode"], s["have"], s["required"]) for s in receipt["shortArticles"]] == [
        (short_item, 0, 2)
    ]

    # two photos that count, and the submit goes through
    fixes = [camera_photo(), camera_photo()]
    for photo in fixes:
        add_camera_photo(device, review, short_item, photo)
    await device.push()
    await upload_all(client, headers, fixes)
    device.submit_inspection(review)
    await device.push()
    assert device.results[max(device.results)].status == "applied"
    receipt = (await client.get(f"/api/inspections/{review}/receipt", headers=headers)).json()
    assert receipt["shortArticles"] == []


async def test_office_submits_incomplete_with_a_reason_and_no_tier_is_signed_off(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    office = await login(client, "office")
    device = await Devices(client).device("inspector1")
    for item in ARTICLES[:3]:
        device.set_answer(review, item, "value", "A")
    await device.push()
    await device.pull()
    url = f"/api/inspections/{review}/submit-incomplete"

    blank = await client.post(url, headers=office, json={"reason": "  "})
    assert (blank.status_code, blank.json()["code"]) == (422, "reason_required")
    unknown_field = await client.post(url, headers=office, json={"reason": "x", "tier": "basic"})
    assert unknown_field.status_code == 400
    own = await client.post(
        f"/api/inspections/{demo['self_inspections'][0]}/submit-incomplete",
        headers=office,
        json={"reason": "x"},
    )
    assert (own.status_code, own.json()["code"]) == (409, "not_a_review")
    inspector = await client.post(url, headers=await login(client, "inspector1"), json={"reason": "x"})
    assert inspector.status_code == 403

    reason = "现场核查因道路中断未能完成，经科室研究按现有材料提交"
    done = await client.post(url, headers=office, json={"reason": reason})
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["reason"] == reason
    assert body["missing"].startswith("prerequisite(s) not answered: P1, P2, P3; 40 not answered")
    said = body["missingMessage"]  # what a person reads, in their language
    assert say(said["code"], "zh", **said["params"]).startswith("前置条件未填写：P1, P2, P3；40 条未评定")
    again = await client.post(url, headers=office, json={"reason": reason})
    assert (again.status_code, again.json()["code"]) == (409, "inspection_locked")

    # audited: who, when, why
    entry = await AuditLog.select().where(AuditLog.action == "inspection.submit_incomplete").first()
    assert entry is not None
    details = (
        entry["details"] if isinstance(entry["details"], dict) else msgspec.json.decode(entry["details"])
    )
    assert details["reason"] == reason
    assert details["from"] == "in_progress"
    assert entry["entity"] == f"inspection/{review}"
    assert entry["at"] is not None
    office_user = (await client.get("/api/me", headers=office)).json()
    assert entry["user_id"] == office_user["id"]

    # the team's devices learn the new status through a pull
    await device.pull()
    assert device.store[f"inspection/{review}"]["status"] == "submitted"
    # the conclusion says so, and no tier is signed off from it
    view = (await client.get(f"/api/inspections/{review}/conclusion", headers=office)).json()
    assert view["submittedIncomplete"]["reason"] == reason
    refused = await client.post(f"/api/inspections/{review}/conclusion/confirm", headers=office)
    assert (refused.status_code, refused.json()["code"]) == (409, "submitted_incomplete")

    # returned, the mark no longer describes the inspection
    returned = await client.post(
        f"/api/inspections/{review}/return", headers=office, json={"opinion": "请补全"}
    )
    assert returned.status_code == 201
    view = (await client.get(f"/api/inspections/{review}/conclusion", headers=office)).json()
    assert view["submittedIncomplete"] is None
    # a later ordinary submit (as the push writes it) is not the office's: the sign-off judges the answers again
    await Inspection.update(
        {Inspection.status: "submitted", Inspection.submitted_at: datetime.now(UTC)}
    ).where(Inspection.id == review)
    view = (await client.get(f"/api/inspections/{review}/conclusion", headers=office)).json()
    assert view["submittedIncomplete"] is None
    judged = await client.post(f"/api/inspections/{review}/conclusion/confirm", headers=office)
    assert (judged.status_code, judged.json()["code"]) == (409, "conclusion_incomplete")


async def _push_with_state(client: httpx.AsyncClient, headers: dict[str, str], state: Any) -> httpx.Response:
    body = msgspec.json.decode(
        push_body(
            "dev-state",
            [
                {
                    "id": 1,
                    "name": "setAnswer",
                    "hlc": "h1",
                    "args": {
                        "inspectionId": "00000000-0000-4000-8000-000000000000",
                        "itemCode": "1.1.1",
                        "field": "value",
                        "value": "A",
                        "baseVersion": 0,
                    },
                }
            ],
        )
    )
    body["clientState"] = state
    return await client.post(
        "/api/sync/push",
        content=msgspec.json.encode(body),
        headers={**headers, "Content-Type": "application/json"},
    )


async def test_client_state_is_checked_stored_and_shown_on_the_dashboard(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await login(client, "inspector1")
    for bad in (
        {"queuedMutations": -1},
        {"queuedMutations": "5"},
        {"queuedPhotos": 2_000_000_000},
        {"queuedBytes": 1.5},
        {"appVersion": "x" * 101},
        {"appVersion": "1.0\u0000"},
        [],
        "full",
    ):
        response = await _push_with_state(client, headers, bad)
        assert response.status_code == 400, (bad, response.text)
    assert await fetch("SELECT client_id FROM sync_client WHERE client_id = {}", ["dev-state"]) == []

    state = {"appVersion": "2026.11.1", "queuedMutations": 5, "queuedPhotos": 2, "queuedBytes": 3_000_000}
    response = await _push_with_state(client, headers, state)
    assert response.status_code == 200, response.text
    office = await login(client, "office")
    dash = (await client.get(f"/api/rounds/{demo['round']}/dashboard", headers=office)).json()
    device = next(d for d in dash["devices"] if d["clientId"] == "dev-state")
    # what the device still holds once this push (one mutation) is taken
    assert (device["queuedMutations"], device["queuedPhotos"], device["queuedBytes"]) == (4, 2, 3_000_000)
    assert device["appVersion"] == "2026.11.1"
    assert device["username"] == "inspector1"
    assert device["lastSyncAt"]


async def test_the_dashboard_names_the_device_and_counts_photos_that_arrived_after_its_report(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await login(client, "inspector1")
    review = str(demo["review_inspection"])
    photos = [camera_photo(), camera_photo()]
    adds = [
        {
            "id": n,
            "name": "addPhoto",
            "hlc": f"h{n}",
            "args": {
                "inspectionId": review,
                "itemCode": "1.2.1",
                "photoId": str(p.id),
                "sha256": p.sha256,
                "size": p.size,
                "mime": "image/jpeg",
            },
        }
        for n, p in enumerate(photos, start=1)
    ]
    body = msgspec.json.decode(push_body("dev-named", adds))
    body["clientState"] = {
        "appVersion": "2026.12.1",
        "deviceName": "三号平板",
        "queuedMutations": 2,
        "queuedPhotos": 2,
        "queuedBytes": sum(p.size for p in photos),
    }
    response = await client.post("/api/sync/push", content=msgspec.json.encode(body), headers=headers)
    assert response.status_code == 200, response.text
    office = await login(client, "office")

    async def device() -> dict[str, Any]:
        dash = (await client.get(f"/api/rounds/{demo['round']}/dashboard", headers=office)).json()
        found: dict[str, Any] = next(d for d in dash["devices"] if d["clientId"] == "dev-named")
        return found

    before = await device()
    assert (before["deviceName"], before["queuedPhotos"]) == ("三号平板", 2)
    await upload_all(client, headers, photos[:1])  # an upload, and no push after it
    after = await device()
    assert (after["queuedPhotos"], after["queuedBytes"]) == (1, photos[1].size)
    assert after["queuedMutations"] == 0


async def test_a_photo_of_bytes_already_on_the_server_gets_their_capture_time_and_place(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    """The same file added again by its owner (another article, another device): no upload happens, so the
    push itself hands the blob's EXIF facts to the new photo (its offset-less EXIF time placed in the device's
    zone). Another user would have to upload the bytes first (proof of possession, docs/security.md)."""
    from uuid import uuid4

    from media.tables import Blob
    from sync.tables import Photo
    from tests.backend.media_api.helpers import PhotoFile

    devices = Devices(client)
    review = demo["review_inspection"]
    first = camera_photo()
    tablet = await devices.device("inspector1")
    add_camera_photo(tablet, review, "1.2.1", first)
    await tablet.push()
    await upload_all(client, await devices.auth("inspector1"), [first])
    await Blob.update({Blob.state: "stored"}).where(Blob.sha256 == first.sha256)  # the transfer done

    again = PhotoFile(uuid4(), first.data, first.sha256)
    phone = await devices.device("inspector1")
    add_camera_photo(phone, review, "1.2.2", again)
    await phone.push()
    assert phone.results[1].upload_required is False
    row = await Photo.select(Photo.capture_time, Photo.gps_lat).where(Photo.id == again.id).first()
    assert row is not None
    assert row["capture_time"] is not None
    assert row["gps_lat"] is not None
    office = await login(client, "office")
    receipt = (await client.get(f"/api/inspections/{review}/receipt", headers=office)).json()
    [entry] = [p for p in receipt["photos"] if p["photoId"] == str(again.id)]
    assert entry["notCounted"] == []
