"""School logistics in the app (seed 004): the duty officer ticks the canteen and shop checklist on a phone
offline, a failed critical item raises a fix, the next visit's photo of the fix closes it, and the term report's
PDF (printed by the server) is read back."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pypdfium2
from playwright.sync_api import Page, Playwright

from tests.backend.media_api.live import LiveServer
from tests.media.document_files import pdf_bytes
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
from tests.pwa_static.test_office_journey import office_tab

PHONE = {"width": 390, "height": 844}
ITEMS = [f"1.{n}" for n in range(1, 12)] + [f"2.{n}" for n in range(1, 8)]
CRITICAL = "1.3"  # 食具天天消毒
LEDGER = "2.7"  # 认真做好台帐，接受上级检查: one document


def _tick(page: Page, fails: set[str]) -> None:
    for item in ITEMS:
        answer(page, item, "fail" if item in fails else "pass")


def _ledger(page: Page, path: Path) -> None:
    """Attach the shop's ledger to 2.7 and wait until the server has its whole file."""
    here = page.locator(f"[data-testid=article][data-item='{LEDGER}']")
    here.locator("[data-testid=document-input]").set_input_files(str(path))
    here.locator("[data-testid=document][data-state=stored]").wait_for(timeout=90_000)
    evidence = here.locator("[data-testid=document-evidence]")
    assert (evidence.get_attribute("data-have"), evidence.get_attribute("data-need")) == ("1", "1")


def _submit(page: Page) -> None:
    page.click("[data-testid=submit-inspection]")
    confirm(page)
    page.wait_for_selector("[data-testid=submitted]", timeout=LONG)


def test_a_duty_officer_ticks_offline_and_a_critical_failure_gets_its_fix_photo(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "school1")
    first_id = api.inspection_id("self")
    first = api.http.get(f"/api/inspections/{first_id}").json()
    school, term = first["facilityId"], first["roundId"]
    schedule = api.http.get(f"/api/schools/{school}/rounds/{term}/schedule").json()
    visits = [v["inspectionId"] for v in schedule["visits"]]
    assert len(visits) == 5
    assert schedule["everyDays"] == 7
    photos = jpeg_files(tmp_path / "camera", 2)
    ledger = tmp_path / "小卖部台帐.pdf"
    ledger.write_bytes(pdf_bytes())

    with device(playwright, tmp_path / "phone", console, viewport=PHONE) as phone:
        page = first_page(phone)
        login(page, server.url, "school1")
        wait_controlled(page)
        page.wait_for_selector(
            f"[data-testid=inspection-card][data-inspection-id='{visits[1]}']", timeout=LONG
        )

        # the first visit: the shop's ledger (2.7 asks for a document, seed 004) is attached while online, then
        # offline everything passes but the dishes were not disinfected (critical)
        open_inspection(page, visits[0])
        _ledger(page, ledger)
        phone.set_offline(True)
        page.reload()
        page.wait_for_selector("[data-testid=article]", timeout=LONG)
        _tick(page, {CRITICAL})
        page.set_input_files(
            f"[data-testid=article][data-item='{CRITICAL}'] [data-testid=photo-input]", str(photos[0])
        )
        page.wait_for_selector("[data-testid=photo][data-state=queued]", timeout=LONG)
        page.locator(f"[data-testid=article][data-item='{CRITICAL}']").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "canteen-phone-offline.png"))
        _submit(page)
        assert (
            int(page.get_attribute("[data-testid=sync-status]", "data-pending") or 0)
            == len(ITEMS) + 1 + 1 + 1
        )

        # a connection: the visit reaches the server; the failed critical item is a fix due in 3 days
        phone.set_offline(False)
        page.click("[data-testid=sync-now]")
        wait_synced(page)
        fix = page.locator(f"[data-testid=fix][data-item='{CRITICAL}']")
        fix.wait_for(timeout=LONG)
        assert fix.get_attribute("data-status") == "open"

        # the next visit: the dishes are disinfected now, with a photo of it
        page.goto(server.url + "/#/")
        page.wait_for_selector(
            f"[data-testid=inspection-card][data-inspection-id='{visits[1]}']", timeout=LONG
        )
        open_inspection(page, visits[1])
        _tick(page, set())
        page.set_input_files(
            f"[data-testid=article][data-item='{CRITICAL}'] [data-testid=photo-input]", str(photos[1])
        )
        page.wait_for_selector(
            f"[data-testid=article][data-item='{CRITICAL}'] [data-testid=photo]", timeout=LONG
        )
        blockers = page.locator("[data-testid=submit-blockers]")
        blockers.wait_for(timeout=LONG)
        assert "条款 2.7 缺少台账文档（0/1）" in blockers.inner_text()  # said before the tap, not after
        _ledger(page, ledger)  # a submit counts the ledger once its file has arrived
        blockers.wait_for(state="detached", timeout=LONG)
        _submit(page)
        wait_synced(page)
        page.wait_for_selector("[data-testid=photo][data-state=stored]", timeout=90_000)
        page.reload()
        fix = page.locator(f"[data-testid=fix][data-item='{CRITICAL}'][data-status=closed]")
        fix.wait_for(timeout=LONG)
        fix.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "canteen-phone-fixed.png"))

        # the term report, printed to PDF by the server, downloaded and read back
        with page.expect_download(timeout=LONG * 4) as term_pdf:
            page.click("[data-testid=term-pdf]")
        text = (
            pypdfium2.PdfDocument(Path(term_pdf.value.path()).read_bytes())[0].get_textpage().get_text_range()
        )

        # the staff appraisal beside the visit: the school registers its cook and a student's score
        appraisal = page.locator("[data-testid=appraisal]")
        appraisal.scroll_into_view_if_needed()
        appraisal.locator("[data-testid=staff-name]").fill("赵师傅")
        appraisal.locator("[data-testid=staff-post]").select_option("canteen")
        appraisal.locator("[data-testid=staff-add]").click()
        cook = appraisal.locator("[data-testid=appraisal-staff]").filter(has_text="赵师傅")
        cook.wait_for(timeout=LONG)
        cook.locator("[data-testid=appraisal-rater-select]").select_option("students")
        cook.locator("[data-testid=appraisal-rater-name]").fill("初二（3）班生活委员")
        cook.locator("[data-testid=appraisal-score]").fill("85")
        cook.locator("[data-testid=appraisal-record]").click()
        cook.locator("[data-testid=appraisal-rater][data-rater=students][data-score='85']").wait_for(
            timeout=LONG
        )
        duty = cook.locator("[data-testid=appraisal-rater][data-rater=duty_officer]").get_attribute(
            "data-score"
        )
        assert duty == str(round(21 / 22 * 100, 2)), (
            duty
        )  # canteen items passed over the two submitted visits
        said = appraisal.inner_text()
        assert "学生（各班生活委员）" in said, said
        assert "由日常检查合格率得出" in said, said
        assert "缺：班主任、各班学生代表" in said, said
        cook.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "canteen-appraisal.png"))

    # the office's logistics tab: the school's visits and fixes at the term, its appraisal and term report
    with device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 800}) as desk:
        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=nav-office]")
        office.wait_for_selector("[data-testid=round-select]", timeout=LONG)
        office.select_option("[data-testid=round-select]", term)
        office_tab(office, "logistics")
        row = office.locator(
            f"[data-testid=logistics-school][data-facility-id='{school}'][data-scheduled=true]"
        )
        row.wait_for(timeout=LONG)
        assert row.locator("[data-testid=logistics-visits]").inner_text() == "已提交 2/5（每 7 天）"
        assert "未整改 0（逾期 0），已整改 1" in row.locator("[data-testid=logistics-fixes]").inner_text()
        row.locator(f"[data-testid=logistics-fix][data-item='{CRITICAL}'][data-status=closed]").wait_for()
        row.locator("[data-testid=logistics-open]").click()
        staff = office.locator("[data-testid=appraisal-staff]").filter(has_text="赵师傅")
        staff.wait_for(timeout=LONG)
        staff.locator("[data-testid=appraisal-rater-select]").select_option("class_teachers")
        staff.locator("[data-testid=appraisal-rater-name]").fill("初二（3）班班主任")
        staff.locator("[data-testid=appraisal-score]").fill("70")
        staff.locator("[data-testid=appraisal-record]").click()
        staff.locator("[data-testid=appraisal-rater][data-rater=class_teachers][data-score='70']").wait_for(
            timeout=LONG
        )
        office.locator("[data-testid=logistics]").scroll_into_view_if_needed()
        office.screenshot(path=str(SHOTS / "office-logistics.png"))
        with office.expect_download(timeout=LONG * 4) as term_xlsx:
            office.click("[data-testid=office-term-xlsx]")
        book = openpyxl.load_workbook(io.BytesIO(Path(term_xlsx.value.path()).read_bytes()))
        assert [c.value for c in book.worksheets[2][1]][:2] == ["姓名", "岗位"]
        posts = {r[0].value: r[1].value for r in book.worksheets[2].iter_rows(min_row=2)}
        assert posts == {
            "李阿姨": "小卖部",
            "王师傅": "食堂",
            "赵师傅": "食堂",
        }  # the demo's two and the new cook

    assert "学期后勤服务报告" in text
    assert "城关第一中学" in text
    assert "食具天天消毒" in text
    assert "已整改" in text
    fixes = api.http.get(f"/api/schools/{school}/rounds/{term}/fixes").json()
    closing = [p["photoId"] for p in api.receipt(visits[1])["photos"] if p["itemCode"] == CRITICAL]
    assert [(f["article"], f["status"], f["closingPhotoId"]) for f in fixes] == [
        (CRITICAL, "closed", closing[0])
    ]
    state = api.pull()
    assert state[f"answer/{visits[0]}/{CRITICAL}/value"]["value"] is False
    api.close()
