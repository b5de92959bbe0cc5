"""Submit's rules on screen (issue 11): a photo without a GPS position says it does not count; the office's
dashboard shows each device's reported queue; the office submits an unfinished review with a reason, and the
stage then says so instead of offering a sign-off."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Playwright

from tests.backend.media_api.helpers import noisy_jpeg
from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    confirm,
    device,
    first_page,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS

REASON = "县级评审组现场核查因道路中断未能完成，经科室研究按现有材料提交。"


def test_not_counted_photo_device_queue_and_submit_incomplete(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    lead_api = Api(server.url, "inspector1")
    review_id = lead_api.inspection_id("county")
    facility_id = lead_api.http.get(f"/api/inspections/{review_id}").json()["facilityId"]
    no_gps = tmp_path / "no-gps.jpg"
    no_gps.write_bytes(noisy_jpeg(1200, 900, taken=datetime(2026, 11, 20, 9, 30, tzinfo=UTC)))

    with (
        device(playwright, tmp_path / "tablet", console) as tablet,
        device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 800}) as desk,
    ):
        # the team's tablet: a photo without a position is uploaded, and it says it does not count
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, review_id)
        wait_synced(page)
        item = page.locator("[data-testid=article][data-item='1.2.1']")
        page.set_input_files(
            "[data-testid=article][data-item='1.2.1'] [data-testid=photo-input]", str(no_gps)
        )
        badge = item.locator("[data-testid=photo-not-counted]")
        badge.wait_for(timeout=LONG)
        assert badge.get_attribute("data-why") == "no_location"
        assert "无拍摄地点" in badge.inner_text()
        item.scroll_into_view_if_needed()
        item.screenshot(path=str(SHOTS / "photo-not-counted.png"))

        # a device that reports its queue with a push
        body = {
            "protocolVersion": 1,
            "clientGroupId": "queue-demo",
            "clientId": "queue-demo",
            "mutations": [
                {
                    "id": 1,
                    "name": "setAnswer",
                    "hlc": "h1",
                    "args": {"inspectionId": review_id, "itemCode": "1.1.1", "field": "value", "value": "B"},
                }
            ],
            "clientState": {
                "appVersion": "test",
                "queuedMutations": 13,
                "queuedPhotos": 4,
                "queuedBytes": 9_000_000,
            },
        }
        assert lead_api.http.post("/api/sync/push", json=body).status_code == 200

        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=nav-office]")
        office.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        row = office.locator("[data-testid=device][data-client-id=queue-demo]")
        row.wait_for(timeout=LONG)
        assert row.locator("[data-testid=device-queued-mutations]").inner_text() == "12"
        assert row.locator("[data-testid=device-queued-photos]").inner_text().startswith("4")
        row.scroll_into_view_if_needed()
        office.screenshot(path=str(SHOTS / "office-dashboard-devices.png"))

        # the office submits the unfinished county review with a written reason
        office.click("[data-testid=office-tab-reconcile]")
        office.click(f"[data-testid=reconcile-facility][data-facility-id='{facility_id}']")
        county = office.locator("[data-testid=stage-conclusion][data-stage=county]")
        county.wait_for(timeout=LONG)
        county.locator("[data-testid=submit-incomplete-open]").click()
        county.locator("[data-testid=submit-incomplete-opinion]").fill(REASON)
        county.locator("[data-testid=submit-incomplete-submit]").click()
        confirm(office)
        mark = county.locator("[data-testid=submitted-incomplete]")
        mark.wait_for(timeout=LONG)
        assert REASON[:10] in mark.inner_text()
        assert county.locator("[data-testid=conclusion-confirm]").count() == 0
        mark.scroll_into_view_if_needed()
        office.screenshot(path=str(SHOTS / "office-submit-incomplete.png"))
    lead_api.close()
