"""Submit's rules on screen (issue 11): a photo without a GPS position says it does not count; the office's
dashboard shows each device's reported queue; the office submits an unfinished review with a reason, and the
stage then says so instead of offering a sign-off."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Playwright

from backend.programme.demo import CANTEEN_STANDARD
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
from tests.pwa_static.test_navigation_and_undo import grade, push

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


def test_a_rater_answered_both_ways_is_said_invalid_not_unanswered(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    """The duty officer gave the canteen appraisal an overall score and answered its 18 articles too: the submit
    panel says those articles are answered but invalid, naming them, beside 已评 18/18; it said "18 条未评定"."""
    school = Api(server.url, "school1")
    visit = school.http.get(f"/api/inspections/{school.inspection_id('self')}").json()
    schedule = school.http.get(
        f"/api/schools/{visit['facilityId']}/rounds/{visit['roundId']}/schedule"
    ).json()
    appraisal = schedule["visits"][-1]["inspectionId"]  # a draft: its standard may still change
    with Api(server.url, "admin") as admin:
        changed = admin.http.patch(
            f"/api/admin/inspections/{appraisal}", json={"standardVersionId": CANTEEN_STANDARD}
        )
        assert changed.status_code == 200, changed.text
    checklist = school.http.get(f"/api/standards/{CANTEEN_STANDARD}/checklist").json()
    duty = checklist["raters"][0]
    numbers = [a["number"] for a in checklist["articles"]]
    both = [grade(appraisal, duty["overall"], 80)]
    both += [grade(appraisal, a["items"][duty["code"]], True) for a in checklist["articles"]]
    push(school, both)  # from another device of the school

    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "school1")
        open_inspection(page, appraisal)
        wait_synced(page)
        page.wait_for_selector("[data-testid=progress]:has-text('已评 18 / 18 条')", timeout=LONG)
        blockers = page.locator("[data-testid=submit-blockers]")
        blockers.locator("li", has_text="答案与标准不符").wait_for(timeout=LONG)
        said = blockers.inner_text()
        assert (
            f"答案与标准不符：{duty['label']}既填了总分，又逐条评了 {len(numbers)} 条（{'、'.join(numbers[:8])}…）："
            "这些条款已评，但两种评法并存无效，请删去总分或逐条的评定，只保留一种"
        ) in said
        assert "未评定" not in said
        links = blockers.locator("[data-testid=blocker-link]")
        assert links.evaluate_all("els => els.map((e) => e.dataset.item)") == numbers
        blockers.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "submit-rater-both-ways.png"))
    school.close()
