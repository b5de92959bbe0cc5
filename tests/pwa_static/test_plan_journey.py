"""The clinic's improvement plan in real Chromium: suggestions from weak grades, worked on offline (accept,
edit, a fix marked done with a photo), synced, and seen by the county office (incl. the needs-support list)."""

from __future__ import annotations

from pathlib import Path

import pypdfium2
from playwright.sync_api import Page, Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    confirm,
    device,
    first_page,
    jpeg_files,
    login,
    open_inspection,
    wait_controlled,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_office_journey import Inspector

GRADES = {"1.1.1": "D", "1.2.1": "C", "1.2.2": "D"}


def item(page: Page, code: str) -> str:
    return f"[data-testid=improvement][data-item='{code}']"


def edit(page: Page, code: str, **fields: str) -> None:
    page.click(f"{item(page, code)} [data-testid=improvement-edit]")
    form = f"{item(page, code)} [data-testid=improvement-form]"
    page.wait_for_selector(form)
    if "kind" in fields:
        page.select_option(f"{form} [data-testid=improvement-kind]", fields["kind"])
    if "owner" in fields:
        page.fill(f"{form} [data-testid=improvement-owner]", fields["owner"])
    if "due" in fields:
        page.fill(f"{form} [data-testid=improvement-due]", fields["due"])
    page.click(f"{form} [data-testid=improvement-save]")
    page.wait_for_selector(form, state="detached")


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_clinic_plans_offline_and_the_office_sees_it(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with Api(server.url, "clinic1") as api:
        self_id = api.inspection_id("self")
    photo = jpeg_files(tmp_path / "camera", 1)[0]
    with device(playwright, tmp_path / "clinic", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "clinic1")
        wait_controlled(page)
        open_inspection(page, self_id)
        for code, grade in GRADES.items():
            answer(page, code, grade)
        wait_synced(page)
        page.click("[data-testid=plan-link]")
        # graded below the floor of the tier aimed at (C): offered as drafts
        page.wait_for_selector("[data-testid=suggestion][data-item='1.2.2']", timeout=LONG)
        suggested = page.locator("[data-testid=suggestion]").evaluate_all(
            "els => els.map(e => e.dataset.item)"
        )
        assert suggested == ["1.1.1", "1.2.2"]

        # no signal from here on: the plan is worked on offline
        tablet.set_offline(True)
        page.reload()
        page.wait_for_selector("[data-testid=suggestion][data-item='1.1.1']", timeout=LONG)
        assert page.get_attribute("[data-testid=sync-status]", "data-online") == "false"
        page.click("[data-testid=suggestion][data-item='1.1.1'] [data-testid=suggestion-accept]")
        page.click("[data-testid=suggestion][data-item='1.2.2'] [data-testid=suggestion-accept]")
        page.wait_for_selector(item(page, "1.2.2"))
        assert page.locator("[data-testid=suggestion]").count() == 0
        # a gap found by hand, due last year: overdue
        page.click("[data-testid=plan-add]")
        page.select_option("[data-testid=plan-new-article]", "1.2.3")
        page.fill("[data-testid=plan-new-gap]", "全科医生不足，每万服务人口不到 2 名")
        page.select_option("[data-testid=plan-new-kind]", "continuous")
        page.click("[data-testid=plan-new-save]")
        page.wait_for_selector(item(page, "1.2.3"))
        edit(page, "1.2.3", owner="医务科 李主任", due="2025-06-30")
        edit(page, "1.2.2", kind="needs_support", owner="院长", due="2027-12-31")
        edit(page, "1.1.1", owner="院办 王主任", due="2027-03-31")
        page.wait_for_selector(f"{item(page, '1.2.3')}[data-overdue=true]")
        page.wait_for_selector(f"{item(page, '1.2.2')}[data-status=needs_support]")

        # the fix: started, photographed, done; then the article is graded again
        page.click(f"{item(page, '1.1.1')} [data-testid=improvement-set-status][data-value=in_progress]")
        page.wait_for_selector(f"{item(page, '1.1.1')}[data-status=in_progress]")
        page.set_input_files(f"{item(page, '1.1.1')} [data-testid=improvement-photo-input]", str(photo))
        page.wait_for_selector(
            f"{item(page, '1.1.1')} [data-testid=improvement-photo][data-state=queued]", timeout=LONG
        )
        page.click(f"{item(page, '1.1.1')} [data-testid=improvement-set-status][data-value=done]")
        page.wait_for_selector(f"{item(page, '1.1.1')}[data-status=done]")
        assert page.get_attribute("[data-testid=plan-progress] [data-kind=soon]", "data-done") == "1"
        shoot(page, "plan-offline")

        page.click("text=返回自评")
        page.wait_for_selector("[data-testid=article]", timeout=LONG)
        answer(page, "1.1.1", "B")
        page.click("[data-testid=plan-link]")
        page.wait_for_selector(item(page, "1.1.1"))

        # a connection appears: everything reaches the server, the photo ends stored
        tablet.set_offline(False)
        page.click("[data-testid=sync-now]")
        wait_synced(page)
        page.wait_for_selector(
            f"{item(page, '1.1.1')} [data-testid=improvement-photo][data-state=stored]", timeout=90_000
        )
        # the article's grade went up after the fix: the two are linked
        page.wait_for_selector(f"{item(page, '1.1.1')} [data-testid=improved]", timeout=LONG)
        assert page.inner_text(f"{item(page, '1.1.1')} [data-testid=improved]") == "已改进 D→B"
        shoot(page, "plan")
        page.emulate_media(media="print")
        shoot(page, "plan-print", full_page=True)
        page.emulate_media(media="screen")
        # the same plan as a PDF, printed by the server like the office's report
        with page.expect_download(timeout=LONG * 4) as plan_pdf:
            page.click("[data-testid=plan-pdf]")
        document = pypdfium2.PdfDocument(Path(plan_pdf.value.path()).read_bytes())
        assert "整改计划" in document[0].get_textpage().get_text_range()
        # the clinic finishes its self-assessment (the articles it has not graded, their photos; then submits:
        # an application needs it finished) and applies online; its plan's progress goes with the application
        with Api(server.url, "clinic1") as finishing:
            graded = frozenset(
                key.split("/")[2] for key in finishing.pull() if key.startswith(f"answer/{self_id}/")
            )
            clinic_team = Inspector(finishing)
            clinic_team.grade_all(self_id, keep=graded)
            assert clinic_team.submit(self_id)["status"] == "applied"
        page.click("[data-testid=sync-now]")
        wait_synced(page)
        page.click("text=返回自评")
        page.click("[data-testid=apply-basic]", timeout=LONG)
        confirm(page)
        page.wait_for_selector("[data-testid=application-status][data-status=applied]", timeout=LONG)
        page.goto(server.url + "/#/")
        page.wait_for_selector(f"[data-testid=plan-link][data-inspection-id='{self_id}']", timeout=LONG)
        assert "1/3" in page.inner_text(f"[data-testid=plan-link][data-inspection-id='{self_id}']")
        shoot(page, "plan-assignments")

    with Api(server.url, "clinic1") as api:
        state = api.pull()
        receipt = api.receipt(self_id)
    items = {v["itemCode"]: v for k, v in state.items() if k.startswith("improvement/")}
    assert set(items) == {"1.1.1", "1.2.2", "1.2.3"}
    assert (items["1.1.1"]["status"], items["1.1.1"]["gradeBefore"], items["1.1.1"]["owner"]) == (
        "done",
        "D",
        "院办 王主任",
    )
    assert [p["state"] for p in receipt["photos"] if p["photoId"] in items["1.1.1"]["photoIds"]] == ["stored"]
    assert (items["1.2.2"]["kind"], items["1.2.2"]["status"]) == ("needs_support", "needs_support")

    with device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 800}) as desk:
        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=nav-office]")
        office.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        office.click("[data-testid=office-tab-improvement]")
        facility = items["1.1.1"]["facilityId"]
        row = office.locator(f"[data-testid=office-plan-row][data-facility-id='{facility}']")
        row.wait_for(timeout=LONG)
        assert (row.get_attribute("data-total"), row.get_attribute("data-done")) == ("3", "1")
        assert (row.get_attribute("data-overdue"), row.get_attribute("data-needs-support")) == ("1", "1")
        support = office.locator("[data-testid=needs-support] [data-testid=office-improvement-item]")
        support.first.wait_for(timeout=LONG)
        assert support.count() == 1
        assert support.first.get_attribute("data-id") == items["1.2.2"]["id"]
        row.locator("[data-testid=office-plan-open]").click()
        office.wait_for_selector("[data-testid=office-plan] [data-testid=improved]", timeout=LONG)
        shoot(office, "office-improvement", full_page=True)
        office.click("[data-testid=office-tab-applications]")
        progress = office.locator("[data-testid=application] [data-testid=application-plan]").first
        progress.wait_for(timeout=LONG)
        office.wait_for_function(
            "() => document.querySelector('[data-testid=application-plan]')?.textContent.includes('1/3')",
            timeout=LONG,
        )
        shoot(office, "plan-office-application")
