"""The inspector's day: log in online, work offline through a reload and a browser restart, then sync."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    article,
    device,
    first_page,
    idb_counts,
    jpeg_files,
    login,
    open_inspection,
    wait_controlled,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS

GRADES = ["A", "B", "C", "D", "B", "C", "A", "B", "C", "D"]


def test_offline_journey(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "inspector1")
    inspection_id = api.inspection_id("county")
    profile = tmp_path / "tablet"
    photos = jpeg_files(tmp_path / "camera", 3)

    with device(playwright, profile, console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        wait_controlled(page)
        page.wait_for_selector(
            f"[data-testid=inspection-card][data-inspection-id='{inspection_id}']", timeout=LONG
        )
        open_inspection(page, inspection_id)
        items = page.locator("[data-testid=article]").evaluate_all("els => els.map(e => e.dataset.item)")[:10]

        tablet.set_offline(True)
        page.reload()
        page.wait_for_selector("[data-testid=article]", timeout=LONG)
        assert page.get_attribute("[data-testid=sync-status]", "data-online") == "false"

        for item, grade in zip(items, GRADES, strict=True):
            answer(page, item, grade)
        page.set_input_files(
            f"[data-testid=article][data-item='{items[0]}'] [data-testid=photo-input]", str(photos[0])
        )
        page.set_input_files(
            f"[data-testid=article][data-item='{items[1]}'] [data-testid=photo-input]",
            [str(p) for p in photos[1:]],
        )
        note = article(page, items[0])
        note.locator("[data-testid=note-input]").fill("发热门诊未设置独立通道，已拍照留存。")
        note.locator("[data-testid=note-save]").click()
        page.wait_for_selector("[data-testid=photo][data-state=queued] >> nth=2", timeout=LONG)
        page.wait_for_selector("[data-testid=note]")
        assert idb_counts(page) == {"mutations": 10 + 3 + 1, "photos": 3}
        assert int(page.get_attribute("[data-testid=sync-status]", "data-pending") or 0) == 14 + 3
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "inspection-offline.png"))

    # the browser is closed and the tablet restarts with no signal: everything is still there
    with device(playwright, profile, console, offline=True) as tablet:
        page = first_page(tablet)
        page.goto(server.url + "/")
        page.wait_for_selector(
            f"[data-testid=inspection-card][data-inspection-id='{inspection_id}']", timeout=LONG
        )
        open_inspection(page, inspection_id)
        for item, grade in zip(items, GRADES, strict=True):
            pressed = article(page, item).locator(f"[data-testid=answer][data-value='{grade}']")
            assert pressed.get_attribute("aria-pressed") == "true", item
        assert page.locator("[data-testid=photo][data-state=queued]").count() == 3
        assert page.locator("[data-testid=note]").count() == 1
        assert idb_counts(page) == {"mutations": 14, "photos": 3}

        # a connection appears: everything reaches the server and the photos end stored
        tablet.set_offline(False)
        page.click("[data-testid=sync-now]")
        wait_synced(page)
        page.wait_for_selector("[data-testid=photo][data-state=stored] >> nth=2", timeout=90_000)
        photo_ids = page.locator("[data-testid=photo]").evaluate_all("els => els.map(e => e.dataset.photoId)")

    state = api.pull()
    for item, grade in zip(items, GRADES, strict=True):
        assert state[f"answer/{inspection_id}/{item}/value"]["value"] == grade
    notes = [v for k, v in state.items() if k.startswith("note/")]
    assert [n["text"] for n in notes] == ["发热门诊未设置独立通道，已拍照留存。"]
    receipt = api.receipt(inspection_id)
    stored = {p["photoId"]: p["state"] for p in receipt["photos"]}
    assert sorted(stored) == sorted(photo_ids)
    assert set(stored.values()) == {"stored"}
    api.close()
