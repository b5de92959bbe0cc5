"""The office runs a round in the app: an application, a review returned with an opinion that reaches the
clinic's app, the review submitted again and its preliminary conclusion signed off."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright

from tests.backend.media_api.helpers import noisy_jpeg
from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    confirm,
    device,
    first_page,
    login,
    open_inspection,
    wait_thumbs,
)
from tests.pwa_static.conftest import SHOTS

OPINION = "院感管理佐证不足：请补充医疗废物交接记录的照片后重新提交。"
APPLICATION_OPINION = "申请材料不全：请补充执业许可证复印件。"


class Inspector:
    """The county team grading over the sync API (the app's journeys are covered elsewhere)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.client_id = f"team-{uuid.uuid4().hex[:8]}"
        self.next_id = 1

    def push(self, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        batch = []
        for m in mutations:
            batch.append({"id": self.next_id, **m})
            self.next_id += 1
        body = {
            "protocolVersion": 1,
            "clientGroupId": self.client_id,
            "clientId": self.client_id,
            "mutations": batch,
        }
        response = self.api.http.post("/api/sync/push", json=body)
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def grade_all(self, inspection_id: str, keep: frozenset[str] = frozenset()) -> None:
        """Grade every prerequisite and article (but those in ``keep``) and add the photos still short."""
        standard = self.api.http.get("/api/standards/cn-thc-capacity-2018").json()
        articles: list[str] = []

        def walk(sections: list[dict[str, Any]]) -> None:
            for section in sections:
                articles.extend(a["number"] for a in section.get("articles", []))
                walk(section.get("sections", []))

        walk(standard["sections"])
        answer = {"inspectionId": inspection_id, "field": "value"}
        mutations = [
            {"name": "setAnswer", "args": {**answer, "itemCode": p["id"], "value": True}}
            for p in standard["prerequisites"]
            if p["id"] not in keep
        ]
        # enough A and B for the verified 合格 thresholds (80 % ≥ C, 20 % ≥ B, 5 % ≥ A)
        grades = ["A", "B", "C", "C"]
        mutations += [
            {"name": "setAnswer", "args": {**answer, "itemCode": n, "value": grades[i % 4]}}
            for i, n in enumerate(articles)
            if n not in keep
        ]
        # photos that count: real files whose EXIF carries a capture time and a GPS position (the standard
        # requires both), uploaded after their addPhoto as the app does
        files: dict[str, bytes] = {}
        for short in self.api.receipt(inspection_id)["shortArticles"]:
            for _ in range(short["required"] - short["have"]):
                data = noisy_jpeg(
                    80 + len(files),
                    60,
                    gps=(30.6612, 104.0633),
                    taken=datetime(2026, 11, 20, 9, len(files) % 60),
                )
                photo = {
                    "inspectionId": inspection_id,
                    "itemCode": short["itemCode"],
                    "photoId": str(uuid.uuid4()),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "mime": "image/jpeg",
                    "takenAt": "2026-11-20T09:00:00+08:00",
                }
                files[photo["photoId"]] = data
                mutations.append({"name": "addPhoto", "args": photo})
        results = self.push(mutations)
        assert {r["status"] for r in results} == {"applied"}, [
            r for r in results if r["status"] != "applied"
        ][:3]
        for photo_id, data in files.items():
            self.upload(photo_id, data)

    def upload(self, photo_id: str, data: bytes) -> None:
        body = {
            "photoId": photo_id,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "mime": "image/jpeg",
        }
        created = self.api.http.post("/api/uploads", json=body)
        if created.status_code == 200:
            return  # the server holds these bytes already
        assert created.status_code == 201, created.text
        sent = self.api.http.patch(
            created.json()["uploadUrl"],
            content=data,
            headers={
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Tus-Resumable": "1.0.0",
            },
        )
        assert sent.status_code == 204, sent.text

    def submit(self, inspection_id: str) -> dict[str, Any]:
        return self.push([{"name": "submitInspection", "args": {"inspectionId": inspection_id}}])[0]


def office_tab(page: Page, tab: str) -> None:
    page.click(f"[data-testid=office-tab-{tab}]")


def test_office_runs_a_round_and_the_clinic_reads_the_returned_opinion(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with Api(server.url, "clinic1") as clinic_api:
        self_id = clinic_api.inspection_id("self")
        # an application needs the self-assessment finished (graded, evidence uploaded, submitted)
        clinic_team = Inspector(clinic_api)
        clinic_team.grade_all(self_id)
        assert clinic_team.submit(self_id)["status"] == "applied"
    lead_api = Api(server.url, "inspector1")
    review_id = lead_api.inspection_id("county")
    facility_id = lead_api.http.get(f"/api/inspections/{review_id}").json()["facilityId"]
    team = Inspector(lead_api)

    with (
        device(playwright, tmp_path / "clinic", console) as clinic_tablet,
        device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 800}) as desk,
    ):
        clinic = first_page(clinic_tablet)
        login(clinic, server.url, "clinic1")
        open_inspection(clinic, self_id)
        clinic.click("[data-testid=apply-basic]")
        confirm(clinic)
        clinic.wait_for_selector("[data-testid=application-status][data-status=applied]", timeout=LONG)

        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=nav-office]")
        office.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        office_tab(office, "applications")
        office.click("[data-testid=application-accept]", timeout=LONG)
        office.wait_for_selector("[data-testid=application-accept]", state="detached", timeout=LONG)

        team.grade_all(review_id)
        assert team.submit(review_id)["status"] == "applied"
        with Api(server.url, "admin") as admin:
            wait_thumbs(admin, self_id, review_id)  # the reconciliation shows them

        # the office reads self vs county side by side and returns the review with a written opinion
        office_tab(office, "reconcile")
        office.click(f"[data-testid=reconcile-facility][data-facility-id='{facility_id}']")
        county = office.locator("[data-testid=stage-conclusion][data-stage=county]")
        county.wait_for(timeout=LONG)
        county.locator("[data-testid=inspection-return-open]").click()
        county.locator("[data-testid=inspection-return-opinion]").fill(OPINION)
        county.locator("[data-testid=inspection-return-submit]").click()
        confirm(office)
        office.wait_for_selector(
            "[data-testid=stage-conclusion][data-stage=county] >> text=已退回", timeout=LONG
        )

        # the opinion reaches the clinic's app through sync
        clinic.click("[data-testid=sync-now]")
        clinic.wait_for_selector(f"[data-testid=opinion] >> text={OPINION[:10]}", timeout=LONG)
        # named as the review's return (not an application's, not a removal), from the kind sync carries
        card = clinic.locator("[data-testid=opinion]", has_text=OPINION[:10])
        assert (card.get_attribute("data-kind"), card.get_attribute("data-removal")) == ("review", "false")
        assert "复核退回意见（县级初审）" in card.inner_text()
        clinic.locator("[data-testid=opinions]").scroll_into_view_if_needed()
        clinic.screenshot(path=str(SHOTS / "clinic-opinion.png"))

        # the team submits again; the office signs off the preliminary conclusion
        assert team.submit(review_id)["status"] == "applied"
        office.reload()
        county = office.locator("[data-testid=stage-conclusion][data-stage=county]")
        county.wait_for(timeout=LONG)
        county.locator("[data-testid=conclusion-known]").wait_for(timeout=LONG)
        known = county.locator("[data-testid=conclusion-known]").inner_text()
        assert "合格" in known, known
        county.locator("[data-testid=conclusion-confirm]").click()
        signing = office.locator("[data-testid=confirm-dialog] >> visible=true")
        # the dialog names the tier the sign-off records: the verdict's, decided here by the demo province's
        # thresholds (基本标准), beside the national conclusion's 合格 shown above
        happens = signing.locator("[data-testid=confirm-happens]").inner_text()
        assert "签发县级初审的初步结论：基本标准" in happens, happens
        # what the verdict finds short, each tier said once (not "合格标准：合格标准…")
        said = signing.inner_text()
        assert not re.search(r"([^\s：]{2,})：\1", said), said
        office.screenshot(path=str(SHOTS / "confirm-sign-off.png"))
        signing.locator("[data-testid=confirm-cancel]").click()
        signing.wait_for(state="hidden")
        assert county.locator("[data-testid=signed-off]").count() == 0  # cancel signed off nothing
        county.locator("[data-testid=conclusion-confirm]").click()
        confirm(office)
        office.wait_for_selector(
            "[data-testid=stage-conclusion][data-stage=county] >> [data-testid=signed-off]", timeout=LONG
        )
        office.evaluate("window.scrollTo(0, 0)")
        office.screenshot(path=str(SHOTS / "office-reconciliation.png"))

        office_tab(office, "dashboard")
        office.wait_for_selector("[data-testid=tier-chart]", timeout=LONG)
        office.screenshot(path=str(SHOTS / "office-dashboard.png"))
        office_tab(office, "rankings")
        office.wait_for_selector("[data-testid=ranking-table]", timeout=LONG)
        office.screenshot(path=str(SHOTS / "office-rankings.png"))
        office_tab(office, "evidence")
        office.wait_for_selector("[data-testid=evidence-flags]", timeout=LONG)
        office_tab(office, "applications")
        office.wait_for_selector("[data-testid=applications] [data-testid=application]", timeout=LONG)
        office.screenshot(path=str(SHOTS / "office-applications.png"))

        # the office returns the application itself: the clinic's app names it apart from the review's return
        office.click("[data-testid=application-return-open]")
        office.fill("[data-testid=application-return-opinion]", APPLICATION_OPINION)
        office.click("[data-testid=application-return-submit]")
        confirm(office)
        office.wait_for_selector("[data-testid=application-return-open]", state="detached", timeout=LONG)
        clinic.reload()
        clinic.wait_for_selector("[data-testid=application-status][data-status=returned]", timeout=LONG)
        returns = clinic.locator("[data-testid=apply] [data-testid=return-opinion]")
        returns.nth(1).wait_for(timeout=LONG)
        said = {
            (r.get_attribute("data-kind"), r.get_attribute("data-removal")): r.inner_text()
            for r in returns.all()
        }
        assert set(said) == {("application", "false"), ("review", "false")}, said
        assert said[("application", "false")].startswith("申请被退回（退回申请）")
        assert APPLICATION_OPINION in said[("application", "false")]
        assert said[("review", "false")].startswith("复核退回意见（县级初审）")
        assert OPINION in said[("review", "false")]
        assert "申请被退回" not in said[("review", "false")]
        clinic.locator("[data-testid=apply]").scroll_into_view_if_needed()
        clinic.screenshot(path=str(SHOTS / "clinic-two-returns.png"))

    lead_api.close()
    with Api(server.url, "office") as office_api:
        signed = office_api.http.get(f"/api/facilities/{facility_id}/conclusions").json()
    assert [c["stage"] for c in signed] == ["county"]
