"""Uploads on a flaky network: connections cut mid-upload; every photo resumes and is stored once."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Playwright, Route

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    Api,
    Console,
    device,
    first_page,
    jpeg_files,
    login,
    open_inspection,
    wait_synced,
)


def test_photos_resume_after_cut_connections_and_are_stored_once(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "inspector1")
    inspection_id = api.inspection_id("county")
    photos = jpeg_files(tmp_path / "camera", 3)
    seen = {"patch": 0, "cut": 0, "head": 0}

    def flaky(route: Route) -> None:
        method = route.request.method
        if method == "HEAD":
            seen["head"] += 1
        if method == "PATCH":
            seen["patch"] += 1
            if seen["patch"] in (1, 3, 4, 6):  # cut the first chunk of each photo, and a second chunk
                seen["cut"] += 1
                route.abort("connectionreset")
                return
        route.continue_()

    with device(playwright, tmp_path / "tablet", console) as tablet:
        tablet.route("**/api/uploads/**", flaky)
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        page.set_input_files(
            "[data-testid=article][data-item='1.1.1'] [data-testid=photo-input]", [str(p) for p in photos]
        )
        page.wait_for_selector("[data-testid=photo][data-state=stored] >> nth=2", timeout=120_000)
        wait_synced(page)

    assert seen["cut"] == 4
    assert seen["head"] >= 1  # a cut upload asks the server for its offset before resuming
    receipt = api.receipt(inspection_id)
    assert [p["state"] for p in receipt["photos"]] == ["stored"] * 3
    blobs = [p for p in (server.data_dir / "storage").rglob("*") if p.is_file() and "blobs" in p.parts]
    assert len(blobs) == 3, blobs  # each photo stored once, byte for byte
    assert sorted(p.stat().st_size for p in blobs) == sorted(p.stat().st_size for p in photos)
    api.close()
