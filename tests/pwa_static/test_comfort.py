"""Comfort outdoors (issue 20): axe-core finds no violation of any impact on the main screens in the default
and the high-contrast theme; the theme and the text size are remembered across a reload; a phone's header is
one row (≤ 64 px) and no screen is wider than the phone."""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    device,
    first_page,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS

PHONE = {"width": 390, "height": 844}


def violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


def set_theme(page: Page, theme: str) -> None:
    if (page.get_attribute("html", "data-theme") or "default") != theme:
        if page.locator("[data-testid=menu-toggle]").is_visible():
            page.click("[data-testid=menu-toggle]")
        page.click("[data-testid=theme-toggle]")
        if page.locator("[data-testid=menu-toggle]").is_visible():
            page.click("[data-testid=menu-toggle]")
    page.wait_for_function(f"() => document.documentElement.dataset.theme === '{theme}'")


def test_axe_is_clean_in_both_themes_and_the_choices_are_remembered(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with Api(server.url, "inspector1") as api:
        inspection_id = api.inspection_id("county")
    found: dict[str, list[str]] = {}
    with device(playwright, tmp_path / "phone", console, viewport=PHONE) as phone:
        page = first_page(phone)
        page.goto(server.url + "/")
        page.wait_for_selector("input[name=username]")
        found["login"] = violations(page)
        login(page, server.url, "inspector1")
        wait_synced(page)
        page.wait_for_selector("[data-testid=offline-ready]", state="detached", timeout=LONG)
        for theme in ("default", "contrast"):
            set_theme(page, theme)
            page.goto(server.url + "/#/tasks")
            page.wait_for_selector(f"[data-testid=inspection-card][data-inspection-id='{inspection_id}']")
            found[f"assignments {theme}"] = violations(page)
            open_inspection(page, inspection_id)
            header = page.evaluate("() => document.querySelector('.top').getBoundingClientRect().height")
            assert header <= 64, header
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], width
            found[f"inspection {theme}"] = violations(page)
            page.screenshot(path=str(SHOTS / f"inspection-phone-{theme}.png"))
            page.click("[data-testid=index-open]")
            page.wait_for_selector("[data-testid=section-index] [data-testid=index-article]")
            found[f"index {theme}"] = violations(page)
            page.click("[data-testid=index-close]")
            page.click("[data-testid=menu-toggle]")
            found[f"menu {theme}"] = violations(page)
            page.click("[data-testid=nav-sync]")
            page.wait_for_selector("[data-testid=sync-centre]")
            found[f"sync centre {theme}"] = violations(page)

        # larger text and the contrast theme stay after a reload
        page.click("[data-testid=menu-toggle]")
        page.select_option("[data-testid=text-size]", "xlarge")
        page.reload()
        page.wait_for_selector("[data-testid=sync-centre]", timeout=LONG)
        assert page.get_attribute("html", "data-theme") == "contrast"
        assert page.get_attribute("html", "data-text-size") == "xlarge"
        size = page.evaluate("() => getComputedStyle(document.body).fontSize")
        assert size == "20px", size
    assert found == {name: [] for name in found}, found
