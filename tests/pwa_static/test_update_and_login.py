"""Queued work survives what happens around it: a new app version deployed, a sign-in that expires."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Playwright

from tests.backend.media_api.live import free_port, live_server
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    device,
    first_page,
    idb_counts,
    jpeg_files,
    login,
    open_inspection,
    session_expiry,
    wait_controlled,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS

ITEMS = {"1.1.1": "A", "1.2.1": "B", "1.2.2": "C"}


def test_new_version_deployed_while_changes_are_queued(
    playwright: Playwright, console: Console, tmp_path: Path, pwa_copy: Path
) -> None:
    port = free_port()
    env = {"FIELDCHECK_PWA_DIR": str(pwa_copy)}
    photo = jpeg_files(tmp_path / "camera", 1)[0]
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        with live_server(
            tmp_path, workers=True, extra_env=env, port=port, demo_copy=True, fork=True
        ) as server:
            with Api(server.url, "inspector1") as api:
                inspection_id = api.inspection_id("county")
            login(page, server.url, "inspector1")
            wait_controlled(page)
            open_inspection(page, inspection_id)
            wait_synced(page)
            old_version = page.evaluate("caches.keys()")
            # the server cannot be reached for data while the work is done: it stays queued
            tablet.route("**/api/sync/**", lambda route: route.abort("connectionrefused"))
            tablet.route("**/api/uploads**", lambda route: route.abort("connectionrefused"))
            for item, grade in ITEMS.items():
                answer(page, item, grade)
            page.set_input_files(
                "[data-testid=article][data-item='1.1.1'] [data-testid=photo-input]", str(photo)
            )
            page.wait_for_selector("[data-testid=photo][data-state=queued]")
            assert idb_counts(page) == {"mutations": 4, "photos": 1}

        # a deploy: one file of the app changed, the server restarted on the same data
        css = pwa_copy / "app.css"
        css.write_text(css.read_text() + "\n/* release 2 */\n")
        with live_server(
            tmp_path, workers=True, extra_env=env, port=port, demo_copy=True, fork=True
        ) as server:
            page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
            page.wait_for_selector("[data-testid=update-ready]", timeout=LONG)
            # deep in the inspection, the toast is still in view (fixed at the bottom of the viewport)
            page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.6)")
            page.wait_for_function("() => window.scrollY > 1000")
            box = page.locator("[data-testid=update-ready]").bounding_box()
            viewport = page.viewport_size
            assert box is not None
            assert viewport is not None
            assert page.evaluate("window.scrollY") > 1000
            assert box["y"] >= 0, box
            assert box["y"] + box["height"] <= viewport["height"], box
            page.screenshot(path=str(SHOTS / "update-ready.png"))
            # "later" folds it into a small button in the corner; the update stays one click away
            page.click("[data-testid=update-later]")
            page.wait_for_selector("[data-testid=update-ready][data-compact=true]")
            small = page.locator("[data-testid=update-ready]").bounding_box()
            assert small is not None
            assert small["width"] < box["width"], (small, box)
            with page.expect_event("load", timeout=LONG):
                page.click("[data-testid=update-apply]")
            page.wait_for_selector("[data-testid=article]", timeout=LONG)
            new_version = page.evaluate("caches.keys()")
            assert new_version != old_version
            assert page.evaluate("fetch('/static/app.css').then((r) => r.text())").endswith(
                "/* release 2 */\n"
            )
            assert idb_counts(page) == {"mutations": 4, "photos": 1}  # nothing queued was lost

            tablet.unroute("**/api/sync/**")
            tablet.unroute("**/api/uploads**")
            page.click("[data-testid=sync-now]")
            wait_synced(page)
            page.wait_for_selector("[data-testid=photo][data-state=stored]", timeout=LONG)
            with Api(server.url, "inspector1") as api:
                state = api.pull()
            for item, grade in ITEMS.items():
                assert state[f"answer/{inspection_id}/{item}/value"]["value"] == grade
            assert len([k for k in state if k.startswith("photo/")]) == 1


def test_expired_login_keeps_the_queue_and_syncs_after_signing_in_again(
    playwright: Playwright, console: Console, tmp_path: Path
) -> None:
    ttl = 12
    console.expected.append("the server responded with a status of 401")
    with (
        live_server(
            tmp_path,
            workers=True,
            extra_env={"FIELDCHECK_TOKEN_TTL_SECONDS": str(ttl)},
            demo_copy=True,
            fork=True,
        ) as server,
        device(playwright, tmp_path / "tablet", console) as tablet,
    ):
        with Api(server.url, "inspector1") as api:
            inspection_id = api.inspection_id("county")
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        wait_synced(page)
        tablet.set_offline(True)
        for item, grade in ITEMS.items():
            answer(page, item, grade)
        expires = datetime.fromisoformat(session_expiry(page))
        time.sleep(
            max(0.0, (expires - datetime.now(UTC)).total_seconds() + 1.5)
        )  # the token expires meanwhile

        tablet.set_offline(False)  # back online: the app syncs by itself and learns the sign-in expired
        page.wait_for_selector("[data-testid=login-expired]", timeout=LONG)
        assert idb_counts(page)["mutations"] == 3  # the queue is left alone
        page.screenshot(path=str(SHOTS / "login-expired.png"))
        page.fill("input[name=password]", "demo")
        page.click("[data-testid=login-submit]")
        wait_synced(page)
        assert idb_counts(page)["mutations"] == 0
        with Api(server.url, "inspector1") as api:
            state = api.pull()
        for item, grade in ITEMS.items():
            assert state[f"answer/{inspection_id}/{item}/value"]["value"] == grade
