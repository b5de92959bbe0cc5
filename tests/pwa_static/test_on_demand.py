"""The precache holds what the offline roles need; the office's screens load on demand and are kept once loaded:
an office user who opened them online opens them again after a cold start with no network, and a screen never
opened says so offline and loads by itself back online. The app stays installable (the 512 px icons are
fetched by the browser, not precached)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Console,
    cold_start,
    device,
    first_page,
    login,
    wait_controlled,
    wait_pulled,
)
from tests.pwa_static.conftest import SHOTS

DESK = {"width": 1280, "height": 800}

CACHED = """async () => {
  const out = {};
  for (const key of await caches.keys()) {
    if (key.startsWith('fieldcheck-')) {
      out[key.split('-').slice(0, 2).join('-')] = (await (await caches.open(key)).keys()).map((r) => new URL(r.url).pathname);
    }
  }
  return out;
}"""


def cached(page: Page) -> dict[str, list[str]]:
    result: dict[str, list[str]] = page.evaluate(CACHED)
    return result


def installability_errors(page: Page) -> list[Any]:
    cdp = page.context.new_cdp_session(page)
    errors: list[Any] = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    cdp.detach()
    return errors


def test_office_screens_are_kept_once_opened_and_open_offline_after_a_cold_start(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    profile = tmp_path / "desk"
    with device(playwright, profile, console, viewport=DESK) as desk:
        page = first_page(desk)
        login(page, server.url, "office")
        page.click("[data-testid=device-name-prompt-skip]", timeout=LONG)
        page.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        wait_controlled(page)
        assert installability_errors(page) == []
        page.reload()  # now under the worker: the office's modules go through it and are kept
        page.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        caches = cached(page)
        assert not [p for p in caches["fieldcheck-static"] if p.startswith("/static/views/office/")]
        assert "/static/views/office/index.js" in caches["fieldcheck-ondemand"]
        assert "/static/vocabulary/office.json" in caches["fieldcheck-ondemand"]

    # the browser closed, the desk restarts with no network: the office's screens still open (the data they
    # showed was kept in memory only, so each says it has nothing to show yet and what needs a connection)
    with device(playwright, profile, console, offline=True, viewport=DESK) as desk:
        page = first_page(desk)
        cold_start(page, desk, server.url, offline=True)
        page.wait_for_selector("[data-testid=office-offline][data-copy=false]", timeout=LONG)
        assert page.query_selector("[data-testid=screen-not-loaded]") is None
        # from the worker's cache, not the network: a file it never kept does not load
        never_kept = "fetch('/static/views/result.js').then(() => 'loaded', () => 'failed')"
        assert page.evaluate(never_kept) == "failed"
        page.screenshot(path=str(SHOTS / "office-cold-offline.png"))


def test_a_clinic_starts_offline_with_the_precache_alone_and_its_result_loads_when_back_online(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    profile = tmp_path / "tablet"
    with device(playwright, profile, console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "clinic1")
        page.click("[data-testid=device-name-prompt-skip]", timeout=LONG)
        wait_pulled(page)
        wait_controlled(page)
        assert installability_errors(page) == []
        caches = cached(page)
        assert "/static/views/inspection.js" in caches["fieldcheck-static"]
        assert "/static/vocabulary/inspection.json" in caches["fieldcheck-static"]
        assert not [p for p in caches["fieldcheck-static"] if p.startswith("/static/views/office/")]
        result = page.get_attribute("[data-testid=result-link]", "href")
        assert result

    with device(playwright, profile, console, offline=True) as tablet:
        page = first_page(tablet)
        cold_start(page, tablet, server.url, offline=True)
        page.click("[data-testid=inspection-card]", timeout=LONG)
        page.wait_for_selector("[data-testid=article]", timeout=LONG)
        page.screenshot(path=str(SHOTS / "inspection-cold-offline.png"))
        # the result is read online and was never opened here: said so in Chinese, loaded once back online
        page.goto(server.url + "/" + result)
        note = page.wait_for_selector("[data-testid=screen-not-loaded]", timeout=LONG)
        assert "尚未下载到本设备" in note.inner_text()
        page.screenshot(path=str(SHOTS / "result-not-on-device.png"))
        tablet.set_offline(False)
        page.wait_for_selector("[data-testid=clinic-result]", timeout=LONG)
        assert page.query_selector("[data-testid=screen-not-loaded]") is None
