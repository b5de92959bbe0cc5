"""On-device checks at capture (issue 20): offline, a photo whose file has no GPS position is said at once not
to count for an article that requires the place (and the article's count leaves it out), one with time and
place counts; the location permission is asked where an article needs it; once online, the server agrees."""

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
    article,
    device,
    first_page,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS

ITEM = "1.2.2"  # two photos, each with capture time and place (the standard's evidence defaults)


def test_a_photo_without_its_place_is_said_not_to_count_at_once_offline(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    taken = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    no_gps = tmp_path / "no-gps.jpg"
    no_gps.write_bytes(noisy_jpeg(1000, 750, taken=taken))
    good = tmp_path / "good.jpg"
    good.write_bytes(noisy_jpeg(1000, 750, taken=taken, gps=(30.6612, 104.0633)))
    with Api(server.url, "inspector1") as api:
        inspection_id = api.inspection_id("county")
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        wait_synced(page)
        card = article(page, ITEM)
        # its articles need the place: the app asks for the location permission, once, under the title
        page.locator("[data-testid=location-ask-note]").wait_for(timeout=LONG)
        assert page.locator("[data-testid=location-ask]").is_visible()
        tablet.grant_permissions(["geolocation"], origin=server.url)  # as the person's "allow" would
        page.locator("[data-testid=location-ask-note]").wait_for(state="detached", timeout=LONG)

        tablet.set_offline(True)
        page.set_input_files(
            f"[data-testid=article][data-item='{ITEM}'] [data-testid=photo-input]", str(no_gps)
        )
        badge = card.locator("[data-testid=photo][data-state=queued] [data-testid=photo-not-counted]")
        badge.wait_for(timeout=LONG)
        assert badge.get_attribute("data-why") == "no_location"
        assert "无拍摄地点" in badge.inner_text()
        page.set_input_files(
            f"[data-testid=article][data-item='{ITEM}'] [data-testid=photo-input]", str(good)
        )
        page.wait_for_selector(f"[data-testid=article][data-item='{ITEM}'] [data-testid=photo] >> nth=1")
        evidence = card.locator("[data-testid=evidence]")
        assert (evidence.get_attribute("data-have"), evidence.get_attribute("data-need")) == ("1", "2")
        assert card.locator("[data-testid=photo-not-counted]").count() == 1
        card.scroll_into_view_if_needed()
        card.screenshot(path=str(SHOTS / "capture-check-offline.png"))

        # online: the server reads the originals and says the same
        tablet.set_offline(False)
        page.click("[data-testid=sync-now]")
        page.wait_for_selector(
            f"[data-testid=article][data-item='{ITEM}'] [data-testid=photo][data-state=stored] >> nth=1",
            timeout=90_000,
        )
        assert card.locator("[data-testid=photo-not-counted]").get_attribute("data-why") == "no_location"
        assert evidence.get_attribute("data-have") == "1"
    with Api(server.url, "inspector1") as api:
        receipt = api.receipt(inspection_id)
    assert sorted(tuple(p["notCounted"]) for p in receipt["photos"]) == [(), ("no_location",)]
