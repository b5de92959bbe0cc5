"""Issue 21, item 13: signing out with nothing unsent leaves nothing of the person's work on the device; with
something unsent the app says so and asks, and keeps it only when told to."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, Playwright, Route

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    device,
    first_page,
    idb_counts,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS

# plain IndexedDB from the page (the test does not rely on the app's modules)
COUNTS = """async () => {
  const ask = (request) => new Promise((ok, err) => { request.onsuccess = () => ok(request.result); request.onerror = err; });
  const db = await ask(indexedDB.open('fieldcheck'));
  const count = (store) => ask(db.transaction(store).objectStore(store).count());
  try {
    return JSON.stringify({ meta: await count('meta'), state: await count('state'),
                            mutations: await count('mutations'), photos: await count('photos') });
  } finally { db.close(); }
}"""


def stored(page: Page) -> dict[str, int]:
    result: str = page.evaluate(COUNTS)
    counts: dict[str, int] = json.loads(result)
    return counts


def test_sign_out_clears_the_device_or_asks(
    playwright: Playwright, console: Console, tmp_path: Path, server: LiveServer
) -> None:
    with Api(server.url, "inspector1") as api:
        inspection_id = api.inspection_id("county")
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        answer(page, "1.1.1", "A")
        wait_synced(page)
        assert stored(page)["state"] > 0
        # nothing unsent: signing out leaves nothing behind
        page.click("[data-testid=logout]")
        page.wait_for_selector("input[name=username]", timeout=LONG)
        assert stored(page) == {"meta": 0, "state": 0, "mutations": 0, "photos": 0}

        # something unsent: the app says so and asks
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        tablet.route("**/api/sync/**", lambda route: route.abort("connectionrefused"))
        answer(page, "1.2.1", "B")
        page.wait_for_selector("[data-testid=sync-status][data-pending='1']", timeout=LONG)
        page.click("[data-testid=logout]")
        confirm = page.wait_for_selector("[data-testid=logout-confirm]", timeout=LONG)
        assert "1" in confirm.inner_text()
        page.screenshot(path=str(SHOTS / "sign-out-unsent.png"))
        page.click("[data-testid=logout-cancel]")
        assert page.query_selector("[data-testid=logout-confirm]") is None
        assert page.query_selector("[data-testid=sync-status]") is not None  # still signed in
        page.click("[data-testid=logout]")
        page.click("[data-testid=logout-keep]")
        page.wait_for_selector("input[name=username]", timeout=LONG)
        assert idb_counts(page)["mutations"] == 1  # kept for the next sign-in


def test_a_page_reloaded_during_sign_out_starts_signed_out(
    playwright: Playwright, console: Console, tmp_path: Path, server: LiveServer
) -> None:
    """The device forgets the token before the server revokes it: reloaded while the sign-out is on its way,
    the app starts at the sign-in form, not signed in with a token about to be revoked (whose first sync met a
    401 and said the sign-in had expired)."""
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        wait_synced(page)
        held: list[Route] = []

        def hold(route: Route) -> None:
            held.append(route)  # the revocation is on its way and stays there

        page.route("**/api/auth/logout", hold)
        page.click("[data-testid=logout]")
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the sign-out sent no logout"
        page.goto(server.url + "/")
        page.wait_for_selector("input[name=username]", timeout=LONG)
        assert page.query_selector("[data-testid=sync-status]") is None
