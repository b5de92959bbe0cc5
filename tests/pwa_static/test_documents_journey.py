"""Documents as evidence in the app: an inspector attaches a PDF ledger, a DOCX and a macro-enabled workbook to
an article offline; back online they sync and upload, the workbook is refused in words, the PDF gets its
first-page thumbnail; the office opens the PDF beside the photos in reconciliation."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Playwright

from tests.backend.media_api.live import LiveServer
from tests.media.document_files import docx_bytes, pdf_bytes, xlsx_bytes
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    article,
    device,
    first_page,
    login,
    open_inspection,
    wait_controlled,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS


def test_a_ledger_attached_offline_reaches_the_office(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "inspector1")
    inspection_id = api.inspection_id("county")
    facility_id = api.http.get(f"/api/inspections/{inspection_id}").json()["facilityId"]
    folder = tmp_path / "ledgers"
    folder.mkdir()
    pdf = folder / "消毒登记台账.pdf"
    pdf.write_bytes(pdf_bytes(pages=2))
    docx = folder / "科室设置文件.docx"
    docx.write_bytes(docx_bytes())
    locked = folder / "加密台账.pdf"
    locked.write_bytes(pdf_bytes(encrypt=(b"1234", b"owner")))
    xlsm = folder / "床位统计.xlsm"
    xlsm.write_bytes(xlsx_bytes(macro=True, vba=True))

    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        wait_controlled(page)
        page.wait_for_selector(
            f"[data-testid=inspection-card][data-inspection-id='{inspection_id}']", timeout=LONG
        )
        open_inspection(page, inspection_id)
        item = page.locator("[data-testid=article]").first.get_attribute("data-item")
        assert item is not None
        here = article(page, item)

        tablet.set_offline(True)
        page.reload()
        page.wait_for_selector("[data-testid=article]", timeout=LONG)
        here.locator("[data-testid=document-input]").set_input_files(
            [str(pdf), str(docx), str(locked), str(xlsm)]
        )
        page.wait_for_selector("[data-testid=document][data-state=queued] >> nth=2", timeout=LONG)
        formats = here.locator("[data-testid=document] [data-testid=document-icon]").evaluate_all(
            "els => els.map(e => e.dataset.format)"
        )
        assert sorted(formats) == ["DOCX", "PDF", "PDF"]
        # a macro-enabled workbook is not even queued: said at once, offline
        not_taken = here.locator("[data-testid=document-not-taken][data-code=macro_enabled]")
        assert "含有宏" in not_taken.inner_text()
        assert here.locator("[data-testid=photo]").count() == 0  # documents are not counted as photos

        console.expected.append("status of 422 (Unprocessable")  # the encrypted PDF's refusal
        tablet.set_offline(False)
        page.click("[data-testid=sync-now]")
        wait_synced(page)
        page.wait_for_selector("[data-testid=document][data-state=stored] >> nth=1", timeout=90_000)
        here.locator("[data-testid=document][data-format=DOCX][data-state=stored]").wait_for(timeout=LONG)
        # the encrypted PDF is refused by the server's check of its bytes, and said in words
        refused = here.locator("[data-testid=document][data-state=rejected] [data-testid=document-refused]")
        refused.wait_for(timeout=LONG)
        assert "已加密" in refused.inner_text()
        here.scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        here.screenshot(path=str(SHOTS / "documents-article.png"))

    receipt = api.receipt(inspection_id)
    kinds = sorted((p["kind"], p["mime"].rsplit(".", 1)[-1], p["state"]) for p in receipt["photos"])
    assert kinds == [
        ("document", "application/pdf", "rejected"),
        ("document", "application/pdf", "stored"),
        ("document", "document", "stored"),
    ]

    with device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 800}) as desk:
        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=nav-office]")
        office.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        office.click("[data-testid=office-tab-reconcile]")
        office.click(f"[data-testid=reconcile-facility][data-facility-id='{facility_id}']")
        tile = office.locator("[data-testid=reconcile-document][data-format=PDF][data-state=stored]")
        tile.wait_for(timeout=LONG)
        # the first page, rendered by the server, stands for the PDF
        tile.locator("img").wait_for(timeout=LONG)
        office.wait_for_function(
            "() => { const i = document.querySelector('[data-testid=reconcile-document][data-format=PDF][data-state=stored] img');"
            " return i && i.complete && i.naturalWidth > 0 && i.naturalHeight > i.naturalWidth; }",
            timeout=LONG,
        )
        assert (
            office.locator(
                "[data-testid=reconcile-document][data-format=DOCX] [data-testid=document-icon]"
            ).count()
            == 1
        )
        tile.scroll_into_view_if_needed()
        office.screenshot(path=str(SHOTS / "office-reconcile-documents.png"))
        with desk.expect_page(timeout=LONG) as opened:
            tile.locator("[data-testid=reconcile-document-open]").click()
        tab = opened.value
        tab.wait_for_url("blob:**", timeout=LONG)
        assert tab.url.startswith("blob:")
        # the tab shows the ledger itself, fetched whole with the office's session
        office.wait_for_selector(
            "[data-testid=reconcile-document][data-format=PDF][data-state=stored]"
            f"[data-opened-size='{pdf.stat().st_size}']",
            timeout=LONG,
        )
    api.close()
