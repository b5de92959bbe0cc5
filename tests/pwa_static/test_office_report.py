"""The office opens a facility's report (with real photos the workers stored), prints it to PDF and exports
the round's answers as XLSX, in Chromium; the report page and the PDF's first page are written to docs/."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from pathlib import Path

import openpyxl
import pypdfium2
from playwright.sync_api import Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import LONG, Api, Console, device, first_page, jpeg_files, login
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_office_journey import Inspector


def upload_photo(api: Api, inspector: Inspector, inspection_id: str, item: str, path: Path) -> None:
    """addPhoto through sync, then the bytes through the tus upload, as the app does."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    photo_id = str(uuid.uuid4())
    photo = {"inspectionId": inspection_id, "itemCode": item, "photoId": photo_id, "sha256": digest}
    result = inspector.push(
        [{"name": "addPhoto", "args": {**photo, "size": len(data), "mime": "image/jpeg"}}]
    )
    assert result[0]["status"] == "applied", result
    created = api.http.post(
        "/api/uploads", json={"photoId": photo_id, "sha256": digest, "size": len(data), "mime": "image/jpeg"}
    )
    assert created.status_code in (200, 201), created.text
    if created.status_code == 201:
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        done = api.http.patch(
            created.json()["uploadUrl"],
            content=data,
            headers={
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Tus-Resumable": "1.0.0",
                "Upload-Checksum": f"sha256 {checksum}",
            },
        )
        assert done.status_code == 204, done.text


def test_office_prints_the_report_and_exports_the_round(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    clinic_api = Api(server.url, "clinic1")
    lead_api = Api(server.url, "inspector1")
    self_id = clinic_api.inspection_id("self")
    review_id = lead_api.inspection_id("county")
    facility_id = lead_api.http.get(f"/api/inspections/{review_id}").json()["facilityId"]
    round_id = lead_api.http.get(f"/api/inspections/{review_id}").json()["roundId"]
    team = Inspector(lead_api)
    team.grade_all(review_id)  # A, B, C, C in turn
    clinic = Inspector(clinic_api)
    standard = clinic_api.http.get("/api/standards/cn-thc-capacity-2018").json()
    first = standard["sections"][0]
    articles = [a["number"] for a in first.get("articles", [])] or [
        a["number"] for s in first["sections"] for a in s.get("articles", [])
    ]
    answer = {"inspectionId": self_id, "field": "value"}
    own = [
        {"name": "setAnswer", "args": {**answer, "itemCode": p["id"], "value": True}}
        for p in standard["prerequisites"]
    ]
    own += [{"name": "setAnswer", "args": {**answer, "itemCode": n, "value": "A"}} for n in articles[:12]]
    assert {r["status"] for r in clinic.push(own)} == {"applied"}
    for n, path in enumerate(jpeg_files(tmp_path / "photos", 3)):
        upload_photo(lead_api, team, review_id, articles[n % 2], path)
    upload_photo(clinic_api, clinic, self_id, articles[0], jpeg_files(tmp_path / "own", 1)[0])

    with device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 900}) as desk:
        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=nav-office]")
        office.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        office.click("[data-testid=office-tab-reconcile]")
        office.click(f"[data-testid=reconcile-facility][data-facility-id='{facility_id}']")
        office.click("[data-testid=report-link]", timeout=LONG)
        office.wait_for_selector("[data-testid=report]", timeout=LONG)
        assert office.url.endswith(f"#/office/report/{facility_id}/{round_id}")
        # the workers store the photos and make their thumbnails; the report shows them once they exist
        for _ in range(30):
            if office.locator(".report-photos img").count() >= 4:
                break
            office.wait_for_timeout(1000)
            office.reload()
            office.wait_for_selector("[data-testid=report]", timeout=LONG)
        assert office.locator(".report-photos img").count() >= 4
        assert office.locator("tr[data-wide-gap=true]").count() >= 1
        text = office.locator("[data-testid=report]").inner_text()
        assert "城关镇卫生院" in text
        assert "机构信息" in text
        office.screenshot(path=str(SHOTS / "office-report.png"))
        office.locator(".report-photos").first.scroll_into_view_if_needed()
        office.screenshot(path=str(SHOTS / "office-report-photos.png"))

        # the same report as a PDF, made by the server in the background
        with office.expect_download(timeout=LONG * 4) as pdf_download:
            office.click("[data-testid=report-pdf]")
        pdf_path = tmp_path / "report.pdf"
        pdf_download.value.save_as(pdf_path)
        pdf = pdf_path.read_bytes()
        assert pdf.startswith(b"%PDF")
        document = pypdfium2.PdfDocument(pdf)
        assert len(document) >= 2
        page_text = document[0].get_textpage().get_text_range()
        assert "城关镇卫生院" in page_text
        image = document[0].render(scale=1.4).to_pil()
        image.save(SHOTS / "report-pdf-page1.png")
        # the chart and the start of the table, for a person to look at
        document[1].render(scale=1).to_pil().save(tmp_path / "report-pdf-page2.png")

        # the round's answers as XLSX from the exports tab
        office.goto(f"{server.url}/#/office/exports")
        office.wait_for_selector("[data-testid=exports]", timeout=LONG)
        office.select_option("[data-testid=export-kind]", "answers")
        office.select_option("[data-testid=export-format]", "xlsx")
        office.click("[data-testid=export-start]")
        office.wait_for_selector(
            "[data-testid=export-job][data-kind=answers][data-format=xlsx][data-status=done] >> [data-testid=export-download]",
            timeout=LONG * 4,
        )
        office.screenshot(path=str(SHOTS / "office-exports.png"))
        with office.expect_download(timeout=LONG) as xlsx_download:
            office.click(
                "[data-testid=export-job][data-kind=answers][data-format=xlsx][data-status=done] >> [data-testid=export-download]"
            )
        xlsx_path = tmp_path / "answers.xlsx"
        xlsx_download.value.save_as(xlsx_path)
        # a readable name, Chinese titles, stages spelled out and each article's title
        assert xlsx_download.value.suggested_filename == "2026年度“优质服务基层行”活动-评分明细.xlsx"
        rows = list(
            openpyxl.load_workbook(io.BytesIO(xlsx_path.read_bytes()), read_only=True)["评分明细"].iter_rows(
                values_only=True
            )
        )
        assert rows[0] == ("机构", "县（区）", "阶段", "条款编号", "条款名称", "评定")
        assert {(r[0], r[2]) for r in rows[1:] if r[3] == articles[0]} == {
            ("城关镇卫生院", "自评"),
            ("城关镇卫生院", "县级初审"),
        }
        assert all(r[4] for r in rows[1:] if r[3] == articles[0])

    clinic_api.close()
    lead_api.close()
