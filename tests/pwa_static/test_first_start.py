"""A device's first start: a failed sign-in says why and keeps the name, the device is asked its name once;
and the office's screens offline say what they show and what cannot be done."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import LONG, Console, cold_start, device, first_page, login, wait_controlled
from tests.pwa_static.conftest import SHOTS

DESK = {"width": 1280, "height": 800}

# A readwrite transaction on `meta` kept open for a few seconds from a second connection, as a sync's pull holds
# it while it applies a page (the first pull after sign-in, an office's above all, takes a moment).
HOLD_META = """(ms) => new Promise((started, failed) => {
  const open = indexedDB.open('fieldcheck');
  open.onerror = () => failed(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction('meta', 'readwrite');
    const until = performance.now() + ms;
    const spin = () => { if (performance.now() < until) tx.objectStore('meta').get('session').onsuccess = spin; };
    spin();
    tx.oncomplete = () => db.close();
    started(true);
  };
})"""


def test_failed_sign_in_then_the_device_is_asked_its_name_once(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    console.expected.append("the server responded with a status of 401")
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        page.goto(server.url + "/")
        page.fill("input[name=username]", "inspector1")
        page.fill("input[name=password]", "wrong-password")
        page.click("[data-testid=login-submit]")
        error = page.wait_for_selector("[data-testid=login-error]", timeout=LONG)
        assert error.inner_text() == "用户名或密码错误"
        # the name stays, the password is emptied and has the focus for the next try
        assert page.input_value("input[name=username]") == "inspector1"
        assert page.input_value("input[name=password]") == ""
        assert page.evaluate("document.activeElement.name") == "password"
        page.screenshot(path=str(SHOTS / "login-failed.png"))

        page.fill("input[name=password]", "demo")
        page.click("[data-testid=login-submit]")
        prompt = page.wait_for_selector("[data-testid=device-name-prompt]", timeout=LONG)
        # the default is the device's model as the browser tells it (headless Chromium on Linux)
        assert page.input_value("[data-testid=device-name-prompt-input]") == "Linux"
        assert "给这台设备起个名字" in prompt.inner_text()
        page.screenshot(path=str(SHOTS / "device-name-prompt.png"))
        page.fill("[data-testid=device-name-prompt-input]", "二号平板")
        page.click("[data-testid=device-name-prompt-save]")
        page.wait_for_selector("[data-testid=device-name-prompt]", state="detached")
        # saved as the sync centre saves it (what the pushes send to the office's dashboard), still editable there
        page.click("[data-testid=nav-sync]")
        page.wait_for_selector("[data-testid=device-name][data-saved='二号平板']")
        page.fill("[data-testid=device-name]", "三号平板")
        page.click("[data-testid=device-name-save]")
        page.wait_for_selector("[data-testid=device-name][data-saved='三号平板']")
        # asked once: not after a reload, nor after signing out and in again (the name is the device's)
        page.reload()
        page.wait_for_selector("[data-testid=sync-status]", timeout=LONG)
        assert page.query_selector("[data-testid=device-name-prompt]") is None
        page.click("[data-testid=logout]")
        page.fill("input[name=username]", "inspector1")
        page.fill("input[name=password]", "demo")
        page.click("[data-testid=login-submit]")
        page.wait_for_selector("[data-testid=sync-status]", timeout=LONG)
        page.click("[data-testid=nav-sync]")
        page.wait_for_selector("[data-testid=device-name][data-saved='三号平板']")
        assert page.query_selector("[data-testid=device-name-prompt]") is None


def test_office_screens_offline_say_what_they_show_and_what_cannot_be_done(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with device(playwright, tmp_path / "desk", console, viewport=DESK) as desk:
        page = first_page(desk)
        page.goto(server.url + "/")
        page.fill("input[name=username]", "office")
        page.fill("input[name=password]", "demo")
        page.click("[data-testid=login-submit]")
        # the first start's prompt may be skipped: it is not asked again
        page.click("[data-testid=device-name-prompt-skip]", timeout=LONG)
        page.wait_for_selector("[data-testid=device-name-prompt]", state="detached")
        page.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        assert page.query_selector("[data-testid=office-offline]") is None

        desk.set_offline(True)
        # the dashboard keeps what it loaded and says as of when
        note = page.wait_for_selector("[data-testid=office-offline][data-copy=true]", timeout=LONG)
        text = note.inner_text()
        assert "离线" in text
        assert "「看板」显示的是" in text
        assert "年" in text
        assert "离线时不能" in text
        assert page.query_selector("[data-testid=dashboard]") is not None
        page.screenshot(path=str(SHOTS / "office-offline.png"))
        # a screen never loaded says it has nothing to show
        page.click("[data-testid=office-tab-rankings]")
        note = page.wait_for_selector("[data-testid=office-offline][data-copy=false]", timeout=LONG)
        assert "尚未联网载入过" in note.inner_text()
        assert "离线时不能" in note.inner_text()

        desk.set_offline(False)  # back online: the screen loads by itself and the note goes
        page.wait_for_selector("[data-testid=office-offline]", state="detached", timeout=LONG)
        page.click("[data-testid=office-tab-dashboard]")
        page.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        assert page.query_selector("[data-testid=office-offline]") is None


def no_prompt_after_a_cold_start(page: Page, context: BrowserContext, base: str, *, offline: bool) -> None:
    cold_start(page, context, base, offline=offline)
    # the first render already knows whether the device was asked (app.js loads it before rendering)
    assert page.query_selector("[data-testid=device-name-prompt]") is None


@pytest.mark.parametrize(("username", "name"), [("office", None), ("inspector1", "前台平板")])
def test_the_answer_to_the_prompt_survives_closing_the_app_while_a_sync_holds_the_store(
    playwright: Playwright,
    server: LiveServer,
    console: Console,
    tmp_path: Path,
    username: str,
    name: str | None,
) -> None:
    """The prompt answered (skipped by the office, a name given by the inspector) and the browser closed at once,
    while a sync's transaction held IndexedDB's `meta`: the answer was queued behind it and lost with the page,
    and the prompt came back at every start. Restarted online and offline, it is not asked again."""
    profile = tmp_path / "device"
    with device(playwright, profile, console, viewport=DESK) as context:
        page = first_page(context)
        login(page, server.url, username)
        wait_controlled(page)
        page.reload()  # under the worker, so that the restart offline has the app's files
        page.wait_for_selector("[data-testid=device-name-prompt]", timeout=LONG)
        page.evaluate(HOLD_META, 4000)
        if name is None:
            page.click("[data-testid=device-name-prompt-skip]")
        else:
            page.fill("[data-testid=device-name-prompt-input]", name)
            page.click("[data-testid=device-name-prompt-save]")
    # the browser closed at once, within the transaction's few seconds

    for offline in (False, True):
        with device(playwright, profile, console, offline=offline, viewport=DESK) as context:
            page = first_page(context)
            no_prompt_after_a_cold_start(page, context, server.url, offline=offline)
            if name is not None:
                page.click("[data-testid=nav-sync]")
                page.wait_for_selector(f"[data-testid=device-name][data-saved='{name}']", timeout=LONG)


def test_a_device_answered_in_indexeddb_before_is_not_asked_again(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    """A device that answered while the answer lived in IndexedDB's `meta` keeps its name and is not asked again."""
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        page.wait_for_selector("[data-testid=device-name-prompt]", timeout=LONG)
        page.evaluate(
            """() => new Promise((done, failed) => {
              localStorage.removeItem('fieldcheck.deviceName');
              localStorage.removeItem('fieldcheck.deviceNameAsked');
              const open = indexedDB.open('fieldcheck');
              open.onsuccess = () => {
                const tx = open.result.transaction('meta', 'readwrite');
                tx.objectStore('meta').put('旧平板', 'deviceName');
                tx.objectStore('meta').put(true, 'deviceNameAsked');
                tx.oncomplete = () => { open.result.close(); done(true); };
                tx.onerror = () => failed(tx.error);
              };
            })"""
        )
        page.reload()
        page.wait_for_selector("[data-testid=sync-status]", timeout=LONG)
        assert page.query_selector("[data-testid=device-name-prompt]") is None
        page.click("[data-testid=nav-sync]")
        page.wait_for_selector("[data-testid=device-name][data-saved='旧平板']", timeout=LONG)
        assert page.evaluate("localStorage.getItem('fieldcheck.deviceName')") == "旧平板"
