"""Every main screen in Chinese, in Chromium: the visible text holds no English word, server messages included
(a login lockout, a conclusion and its explanation, evidence flags, the report page).

Allowed: user names, device models (a device's name until it is given one), file formats, units, EXIF/GPS,
and the language switch ("English"). A word is a run of two or more Latin letters standing alone; codes mixing
letters and digits (a licence number, a seed) are data.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from playwright.sync_api import Page, Playwright

from tests.backend.media_api.helpers import noisy_jpeg
from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    TABLET,
    Api,
    Console,
    answer,
    device,
    first_page,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_office_journey import Inspector

USERS = {"admin", "office", "inspector1", "inspector2", "inspector3", "inspector4", "inspector5", "clinic1"}
FORMATS = {"PDF", "CSV", "XLSX", "Excel", "JPEG", "PNG", "WebP", "HEIC", "KB", "MB", "GB", "EXIF", "GPS"}
ALLOWED = USERS | FORMATS | {"English"}
WORD = re.compile(r"\b[A-Za-z][A-Za-z'’]+\b")
# what a person sees: the text, and the placeholders and values of fields
VISIBLE = """() => [document.body.innerText,
  ...[...document.querySelectorAll('input[placeholder], textarea[placeholder]')].map((e) => e.placeholder),
  ...[...document.querySelectorAll('input[type=submit], input[type=button]')].map((e) => e.value)].join('\\n')"""
OFFICE_TABS = (
    "dashboard",
    "stages",
    "applications",
    "titles",
    "reconcile",
    "conflicts",
    "resolvers",
    "evidence",
    "rankings",
    "improvement",
    "lists",
    "thresholds",
    "exports",
)
# FIELDCHECK_SCREENSHOTS=1 (make screenshots): every screen walked is also photographed at the tablet's size
# (768×1024) into docs/screenshots/zh-tablet-<screen>.png, which docs/app.md shows
TABLET_SHOTS = os.environ.get("FIELDCHECK_SCREENSHOTS") == "1"


# a date written the US way (12/3/2026) instead of the zh-CN form (2026年12月3日)
SLASHED_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")


# a device unnamed in its sync centre goes by its model as the browser tells it (Linux, iPad, SM-T500): data
# like a user name, read from the app's own rule so that no other English word passes with it
DEVICE_MODEL = "async () => (await import('/static/lib/device.js')).deviceModel()"


def english(page: Page) -> list[str]:
    text: str = page.evaluate(VISIBLE)
    model: str = page.evaluate(DEVICE_MODEL)
    allowed = ALLOWED | set(WORD.findall(model))
    return sorted({w for w in WORD.findall(text) if w not in allowed} | set(SLASHED_DATE.findall(text)))


def tablet_shot(page: Page, screen: str) -> None:
    """The screen as a 768×1024 tablet shows it (the page's own size is put back after)."""
    if not TABLET_SHOTS:
        return
    size = page.viewport_size
    if size != TABLET:
        page.set_viewport_size(TABLET)
        page.wait_for_timeout(300)  # the layout settles at the new width
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"zh-tablet-{screen}.png"))
    if size is not None and size != TABLET:
        page.set_viewport_size(size)


def skip_device_name(page: Page) -> None:
    """The first start's prompt for the device's name is answered (skipped): it is walked once, then out of
    the way of the screens photographed."""
    assert english(page) == [], english(page)
    page.click("[data-testid=device-name-prompt-skip]")
    page.wait_for_selector("[data-testid=device-name-prompt]", state="detached")


def settle(page: Page) -> None:
    """Let the screen finish loading (no 加载中… left)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.body.innerText.includes('加载中')", timeout=LONG)


def test_every_main_screen_speaks_chinese(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    console.expected.append("the server responded with a status of 401")  # the wrong passwords
    console.expected.append("the server responded with a status of 429")  # the lockout
    lead_api = Api(server.url, "inspector1")
    clinic_api = Api(server.url, "clinic1")
    review_id = lead_api.inspection_id("county")
    self_id = clinic_api.inspection_id("self")
    facility_id = lead_api.http.get(f"/api/inspections/{review_id}").json()["facilityId"]
    round_id = lead_api.http.get(f"/api/inspections/{review_id}").json()["roundId"]
    team = Inspector(lead_api)
    team.client_id = uuid.uuid4().hex  # a device id as a device makes it (the dashboard lists it)
    team.grade_all(review_id)  # a whole review: its conclusion and the standings explained
    no_exif = tmp_path / "no-exif.jpg"
    no_exif.write_bytes(noisy_jpeg(1000, 800))  # no capture time, no position: two flags
    seen: dict[str, list[str]] = {}

    with device(playwright, tmp_path / "tablet", console) as tablet:
        # the inspector: assignments, the review, the sync centre
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        skip_device_name(page)
        page.wait_for_selector(
            f"[data-testid=inspection-card][data-inspection-id='{review_id}']", timeout=LONG
        )
        wait_synced(page)
        seen["assignments"] = english(page)
        tablet_shot(page, "assignments")
        open_inspection(page, review_id)
        seen["inspection"] = english(page)
        tablet_shot(page, "inspection")
        # a change the server refuses (the office closed the review meanwhile), said in Chinese
        tablet.set_offline(True)
        answer(page, "1.1.1", "D")
        with Api(server.url, "office") as office_api:
            closed = office_api.http.post(
                f"/api/inspections/{review_id}/submit-incomplete", json={"reason": "道路中断，按现有材料提交"}
            )
            assert closed.status_code in (200, 201), closed.text
        tablet.set_offline(False)
        page.click("[data-testid=nav-sync]")
        page.wait_for_selector("[data-testid=sync-centre]")
        page.click("[data-testid=sync-now]")
        refused = page.locator("[data-testid=rejection][data-reason=inspection_locked]")
        refused.wait_for(timeout=LONG)
        assert "该评审已提交或锁定，不能再修改" in refused.inner_text(), refused.inner_text()
        seen["sync centre"] = english(page)
        tablet_shot(page, "sync-centre")

    with device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 900}) as desk:
        page = first_page(desk)
        page.goto(server.url + "/")
        page.wait_for_selector("input[name=username]")
        seen["login"] = english(page)
        tablet_shot(page, "login")
        # the login lockout, said by the app from the server's code and its seconds
        for _ in range(6):
            page.fill("input[name=username]", "inspector5")
            page.fill("input[name=password]", "wrong")
            page.click("[data-testid=login-submit]")
            page.wait_for_selector(".login .banner.error", timeout=LONG)
            page.wait_for_function("() => !document.querySelector('[data-testid=login-submit]').disabled")
        banner = page.locator(".login .banner.error").inner_text()
        assert re.fullmatch(r"登录失败次数过多，请 \d+ 秒后再试", banner), banner
        seen["login lockout"] = english(page)
        page.screenshot(path=str(SHOTS / "chinese-lockout.png"))

        # the office: every tab, a conclusion with what is known, the report page
        login(page, server.url, "office")
        skip_device_name(page)
        page.click("[data-testid=nav-office]")
        page.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        for tab in OFFICE_TABS:
            page.click(f"[data-testid=office-tab-{tab}]")
            settle(page)
            seen[f"office {tab}"] = english(page)
            tablet_shot(page, f"office-{tab}")
        page.click("[data-testid=office-tab-reconcile]")
        page.click(f"[data-testid=reconcile-facility][data-facility-id='{facility_id}']")
        known = page.locator("[data-testid=conclusion-known]").first
        known.wait_for(timeout=LONG)
        settle(page)
        assert re.search(r"[\u4e00-\u9fff]", known.inner_text()), known.inner_text()
        missing = page.get_by_text("提交时缺：")  # the office's "submit incomplete" says what was missing
        assert "条未评定" in missing.first.inner_text() or "前置条件" in missing.first.inner_text()
        when = page.get_by_text("未完成强制提交").first.inner_text()
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", when), when  # the one date formatter
        seen["office conclusion"] = english(page)
        tablet_shot(page, "office-conclusion")
        known.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "chinese-conclusion.png"))
        page.goto(f"{server.url}/#/office/report/{facility_id}/{round_id}")
        page.wait_for_selector("[data-testid=report]", timeout=LONG)
        settle(page)
        seen["report"] = english(page)
        tablet_shot(page, "report")
        page.click("[data-testid=nav-sync]")
        page.wait_for_selector("[data-testid=sync-centre]")
        seen["office sync centre"] = english(page)

    with device(playwright, tmp_path / "phone", console, viewport={"width": 390, "height": 844}) as phone:
        # the clinic on a phone: its self-assessment with a flagged photo, and its plan
        page = first_page(phone)
        login(page, server.url, "clinic1")
        skip_device_name(page)
        open_inspection(page, self_id)
        page.set_input_files(
            "[data-testid=article][data-item='1.1.1'] [data-testid=photo-input]", str(no_exif)
        )
        flag = page.locator("[data-testid=article][data-item='1.1.1'] [data-testid=photo-flag]").first
        flag.wait_for(timeout=LONG * 2)
        assert "：" in flag.inner_text(), flag.inner_text()  # the flag and why, in Chinese
        seen["self-assessment with flags"] = english(page)
        tablet_shot(page, "self-assessment")
        page.locator("[data-testid=article][data-item='1.1.1']").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "chinese-flags-phone.png"))
        page.goto(f"{server.url}/#/plan/{self_id}")
        page.wait_for_selector("[data-testid=plan]", timeout=LONG)
        seen["plan"] = english(page)
        tablet_shot(page, "plan")

    lead_api.close()
    clinic_api.close()
    assert seen == {screen: [] for screen in seen}, seen
