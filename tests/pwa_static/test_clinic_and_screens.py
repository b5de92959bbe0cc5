"""The clinic's self-assessment with evidence; every main screen checked by axe-core and photographed."""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    device,
    first_page,
    jpeg_files,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS

SELF_GRADES = {"1.1.1": "B", "1.2.1": "C", "1.2.2": "D", "1.2.3": "A", "2.1.1": "B"}
SERIOUS = ("serious", "critical")


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_clinic_self_assessment_reaches_the_server(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with Api(server.url, "clinic1") as api:
        inspection_id = api.inspection_id("self")
    photos = jpeg_files(tmp_path / "camera", 2)
    with device(playwright, tmp_path / "clinic-tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "clinic1")
        open_inspection(page, inspection_id)
        page.wait_for_selector("[data-testid=opinions]")
        for item, grade in SELF_GRADES.items():
            answer(page, item, grade)
        page.set_input_files(
            "[data-testid=article][data-item='1.2.1'] [data-testid=photo-input]", [str(p) for p in photos]
        )
        wait_synced(page)
        page.wait_for_selector("[data-testid=photo][data-state=stored] >> nth=1", timeout=LONG)
        shoot(page, "self-assessment")
    with Api(server.url, "clinic1") as api:
        state = api.pull()
        receipt = api.receipt(inspection_id)
    for item, grade in SELF_GRADES.items():
        assert state[f"answer/{inspection_id}/{item}/value"]["value"] == grade
    assert [(p["itemCode"], p["state"]) for p in receipt["photos"]] == [("1.2.1", "stored")] * 2


def test_main_screens_pass_axe_and_are_photographed(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with Api(server.url, "inspector1") as api:
        inspection_id = api.inspection_id("county")
    found: dict[str, list[str]] = {}
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        page.goto(server.url + "/")
        page.wait_for_selector("input[name=username]")
        found["login"] = serious_violations(page)
        shoot(page, "login")
        login(page, server.url, "inspector1")
        page.wait_for_selector(
            f"[data-testid=inspection-card][data-inspection-id='{inspection_id}']", timeout=LONG
        )
        wait_synced(page)
        page.wait_for_selector("[data-testid=offline-ready]", state="detached", timeout=LONG)
        found["assignments"] = serious_violations(page)
        shoot(page, "assignments")
        open_inspection(page, inspection_id)
        answer(page, "1.1.1", "B")
        page.set_input_files(
            "[data-testid=article][data-item='1.1.1'] [data-testid=photo-input]",
            str(jpeg_files(tmp_path / "cam", 1)[0]),
        )
        page.wait_for_selector("[data-testid=photo][data-state=stored]", timeout=LONG)
        found["inspection"] = serious_violations(page)
        shoot(page, "inspection")
        page.locator("[data-testid=submit-inspection]").scroll_into_view_if_needed()
        shoot(page, "submit-blockers")
        page.click("[data-testid=nav-sync]")
        page.wait_for_selector("[data-testid=sync-centre]")
        found["sync centre"] = serious_violations(page)
        shoot(page, "sync-centre")
        page.click("[data-testid=lang-toggle] >> nth=0")
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        shoot(page, "sync-centre-en")
        page.click("[data-testid=lang-toggle] >> nth=0")
    with device(playwright, tmp_path / "phone", console, viewport={"width": 390, "height": 844}) as phone:
        page = first_page(phone)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        shoot(page, "inspection-phone")
        small = page.evaluate(
            """() => [...document.querySelectorAll('button, a, input:not(.visually-hidden), select, textarea, label.btn')]
                 .filter((e) => e.offsetParent !== null)
                 .map((e) => [e.dataset.testid || e.textContent.trim().slice(0, 20), e.getBoundingClientRect()])
                 .filter(([, r]) => r.width < 44 || r.height < 44).map(([n, r]) => `${n} ${r.width}x${r.height}`)"""
        )
        assert small == [], small  # touch targets of at least 44 px
    assert found == {name: [] for name in found}, found
