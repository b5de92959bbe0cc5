"""The team's evidence (issue 20): the lead's tablet shows a teammate's stored photo after one sync, from the
server's thumbnail kept on the device, and still shows it offline after a reload; the sync centre says how
much the kept thumbnails take of their budget."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Playwright

from tests.backend.media_api.live import LiveServer, live_server
from tests.media.s3servers import make_s3_storage, rgw_available, running_rgw
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    device,
    first_page,
    jpeg_files,
    login,
    open_inspection,
    wait_controlled,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_office_journey import Inspector
from tests.pwa_static.test_office_report import upload_photo

IMG = "[data-testid=photo][data-photo-id='{}'] img"
LOADED = "(img) => img.complete && img.naturalWidth > 0"


def test_the_lead_sees_a_teammates_photo_offline_after_one_sync(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    mate = Api(server.url, "inspector2")
    inspection_id = mate.inspection_id("county")
    upload_photo(mate, Inspector(mate), inspection_id, "1.2.1", jpeg_files(tmp_path / "mate", 1)[0])
    deadline = time.monotonic() + 60
    while not all(p["thumbReady"] for p in mate.receipt(inspection_id)["photos"]):
        assert time.monotonic() < deadline, "the workers made no thumbnail"
        time.sleep(0.3)
    [photo_id] = [p["photoId"] for p in mate.receipt(inspection_id)["photos"]]

    with device(playwright, tmp_path / "lead", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")  # signing in is the one sync
        wait_controlled(page)
        open_inspection(page, inspection_id)
        wait_synced(page)
        img = page.locator(IMG.format(photo_id))
        img.wait_for(timeout=LONG)
        page.wait_for_function(f"() => ({LOADED})(document.querySelector(`{IMG.format(photo_id)}`))")
        assert img.get_attribute("src", timeout=LONG).startswith("blob:")  # kept on the device, not linked
        assert (
            page.locator(
                f"[data-testid=photo][data-photo-id='{photo_id}'] [data-testid=photo-original]"
            ).count()
            == 1
        )

        tablet.set_offline(True)
        page.reload()
        page.wait_for_selector("[data-testid=article]", timeout=LONG)
        page.wait_for_function(
            f"() => ({LOADED})(document.querySelector(`{IMG.format(photo_id)}`) || {{}})", timeout=LONG
        )
        card = page.locator("[data-testid=article][data-item='1.2.1']")
        card.scroll_into_view_if_needed()
        card.screenshot(path=str(SHOTS / "team-photo-offline.png"))
        page.click("[data-testid=nav-sync]")
        cache = page.locator("[data-testid=thumb-cache]")
        cache.wait_for(timeout=LONG)
        assert cache.get_attribute("data-count") == "1"
        assert int(cache.get_attribute("data-bytes") or 0) > 1000
        assert "上限" in cache.inner_text()
    mate.close()


def test_the_dashboard_names_the_device_and_is_fresh_after_its_uploads(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with Api(server.url, "inspector1") as lead:
        inspection_id = lead.inspection_id("county")
    with (
        device(playwright, tmp_path / "tablet", console) as tablet,
        device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 800}) as desk,
    ):
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        page.click("[data-testid=nav-sync]")
        page.fill("[data-testid=device-name]", "三号平板")
        page.click("[data-testid=device-name-save]")
        page.wait_for_selector("[data-testid=device-name][data-saved='三号平板']")
        page.goto(server.url + "/#/tasks")
        open_inspection(page, inspection_id)
        page.set_input_files(
            "[data-testid=article][data-item='1.2.1'] [data-testid=photo-input]",
            [str(p) for p in jpeg_files(tmp_path / "cam", 2)],
        )
        page.wait_for_selector("[data-testid=photo][data-state=stored] >> nth=1", timeout=90_000)
        client_id = page.evaluate(
            """() => new Promise((ok) => { const r = indexedDB.open('fieldcheck'); r.onsuccess = () => {
                 const g = r.result.transaction('meta').objectStore('meta').get('clientId');
                 g.onsuccess = () => { ok(g.result); r.result.close(); }; }; })"""
        )

        office = first_page(desk)
        login(office, server.url, "office")
        row = office.locator(f"[data-testid=device][data-client-id='{client_id}']")
        row.wait_for(timeout=LONG)
        assert row.locator("[data-testid=device-name]").inner_text() == "三号平板"
        # the push reported two photos to send; both arrived since, with no push after them
        assert row.locator("[data-testid=device-queued-photos]").inner_text() == "0"
        row.scroll_into_view_if_needed()
        office.screenshot(path=str(SHOTS / "office-devices-named.png"))


@pytest.mark.skipif(not rgw_available(), reason="Ceph RGW not installed (scripts/s3/install-rgw.sh)")
def test_a_teammates_thumbnail_loads_from_s3(
    playwright: Playwright, console: Console, tmp_path: Path
) -> None:
    """On an S3 deployment the thumbnail's signed URL points at the bucket: the app sets the bucket's CORS rule
    at start and names the endpoint in its CSP, so Chromium fetches it cross-origin. Ceph RGW, which answers
    a cross-origin GET only as the bucket's CORS rules say (moto's server allows every origin)."""
    with running_rgw() as s3:
        bucket = f"fc-thumbs-{uuid.uuid4().hex[:8]}"
        env = {**s3.env(), "FIELDCHECK_STORAGE": "s3", "FIELDCHECK_S3_BUCKET": bucket}
        with live_server(tmp_path, workers=True, extra_env=env) as server:
            # the bucket's CORS rule, set by the app at start
            rules = make_s3_storage(s3, bucket).client().get_bucket_cors(Bucket=bucket)["CORSRules"]
            assert [(r["AllowedOrigins"], r["AllowedMethods"]) for r in rules] == [(["*"], ["GET", "HEAD"])]
            # the app's CSP lets the page fetch from the bucket's endpoint
            csp = httpx.get(server.url + "/").headers["content-security-policy"]
            directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
            assert s3.endpoint_url in directives["connect-src"]
            assert s3.endpoint_url in directives["img-src"]

            mate = Api(server.url, "inspector2")
            inspection_id = mate.inspection_id("county")
            upload_photo(mate, Inspector(mate), inspection_id, "1.2.1", jpeg_files(tmp_path / "mate", 1)[0])
            deadline = time.monotonic() + 60
            while not all(p["thumbReady"] for p in mate.receipt(inspection_id)["photos"]):
                assert time.monotonic() < deadline, "the workers made no thumbnail"
                time.sleep(0.3)
            [photo_id] = [p["photoId"] for p in mate.receipt(inspection_id)["photos"]]
            redirect = mate.http.get(f"/api/photos/{photo_id}/thumb", follow_redirects=False)
            assert redirect.status_code == 307
            assert redirect.headers["location"].startswith(f"{s3.endpoint_url}/{bucket}/")

            with device(playwright, tmp_path / "lead", console) as tablet:
                page = first_page(tablet)
                from_s3: list[int] = []
                page.on(
                    "response",
                    lambda r: from_s3.append(r.status) if r.url.startswith(s3.endpoint_url) else None,
                )
                login(page, server.url, "inspector1")
                open_inspection(page, inspection_id)
                wait_synced(page)
                img = page.locator(IMG.format(photo_id))
                img.wait_for(timeout=LONG)
                page.wait_for_function(f"() => ({LOADED})(document.querySelector(`{IMG.format(photo_id)}`))")
                assert img.get_attribute("src", timeout=LONG).startswith("blob:")
                assert from_s3  # fetched from the bucket itself
                assert set(from_s3) == {200}
                card = page.locator("[data-testid=article][data-item='1.2.1']")
                card.scroll_into_view_if_needed()
                card.screenshot(path=str(SHOTS / "team-photo-s3.png"))
            mate.close()
