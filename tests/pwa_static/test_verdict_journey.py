"""The programme's verdict on screens, a whole round: the clinic applies with a finished self-assessment → the
county decides (the province's setting decides the tier) → reported up → the city draws and decides → the
province draws and decides → the province confirms the list and its PDF is read back → the public page → the
clinic reads its result and places. Teams grade over the sync API (their screens are covered elsewhere)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pypdfium2
from playwright.sync_api import Page, Playwright

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
    wait_pulled,
    wait_thumbs,
)
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_office_journey import Inspector, office_tab

DOCUMENT_NO = "示卫基层函〔2026〕99号"
# a tier's label said twice in a row ("合格标准：合格标准…")
REPEATED_LABEL = re.compile(r"([^\s：]{2,})：\1")
DESK = {"width": 1280, "height": 900}


def sign_stage(page: Page, facility_id: str, stage: str) -> None:
    office_tab(page, "reconcile")
    page.click(f"[data-testid=reconcile-facility][data-facility-id='{facility_id}']")
    box = page.locator(f"[data-testid=stage-conclusion][data-stage={stage}]")
    box.locator("[data-testid=verdict]").wait_for(timeout=LONG)
    # the demo province's thresholds decide: shown as its setting, not the national standard
    assert box.locator("[data-testid=verdict]").get_attribute("data-decided-by") == "province"
    box.locator("[data-testid=province-setting]").wait_for(timeout=LONG)
    # each tier's standing said once: its label is not repeated before the engine's sentence naming it
    lines = box.locator("[data-testid=standing-line]").all_inner_texts()
    assert lines
    assert not [line for line in lines if REPEATED_LABEL.search(line)], lines
    box.locator("[data-testid=conclusion-confirm]").click()
    dialog = page.locator("[data-testid=confirm-dialog] >> visible=true")
    said = dialog.inner_text()
    assert not REPEATED_LABEL.search(said), said
    confirm(page)
    box.locator("[data-testid=verdict-signed][data-decided-by=province]").wait_for(timeout=LONG)


def take_plan(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path, round_id: str
) -> None:
    """clinic_weak takes its first low-ranked article from its result into the plan, offline."""
    with (
        Api(server.url, "clinic_weak", "demo-weak") as weak_api,
        device(playwright, tmp_path / "weak", console) as tablet,
    ):
        self_id = next(
            row["inspectionId"]
            for row in weak_api.http.get("/api/assignments").json()
            if row["stage"] == "self" and row["roundId"] == round_id
        )
        plan_url = f"/api/improvement/inspections/{self_id}/items"
        page = first_page(tablet)
        login(page, server.url, "clinic_weak", "demo-weak")
        page.goto(f"{server.url}/#/result/{round_id}")
        suggestion = page.locator("[data-testid=result-suggestion]").first
        suggestion.wait_for(timeout=LONG)
        item = suggestion.get_attribute("data-item")
        assert (
            page.locator(f"[data-testid=result-article][data-item='{item}']").get_attribute("data-low")
            == "true"
        )
        assert item not in {i["itemCode"] for i in weak_api.http.get(plan_url).json()}
        wait_pulled(page)  # its self-assessment is on the device before the connection goes
        tablet.set_offline(True)
        suggestion.locator("[data-testid=result-suggestion-take]").click()
        suggestion.locator("[data-testid=result-suggestion-planned]").wait_for(timeout=LONG)
        assert suggestion.locator("[data-testid=result-suggestion-take]").count() == 0
        page.screenshot(path=str(SHOTS / "verdict-result-take.png"))
        page.click("[data-testid=result-plan-link]")
        planned = page.locator(f"[data-testid=improvement][data-item='{item}']")
        planned.wait_for(timeout=LONG)
        assert planned.get_attribute("data-status") == "open"
        page.screenshot(path=str(SHOTS / "verdict-plan-from-result.png"))
        assert item not in {i["itemCode"] for i in weak_api.http.get(plan_url).json()}
        tablet.set_offline(False)
        page.click("[data-testid=sync-now]")
        deadline = time.monotonic() + LONG / 1000
        while item not in {i["itemCode"] for i in weak_api.http.get(plan_url).json()}:
            assert time.monotonic() < deadline, "the plan item taken offline never reached the server"
            time.sleep(0.3)


def review_stage(
    admin: Api, lead: Inspector, facility_id: str, round_id: str, stage: str, team: list[str]
) -> None:
    made = admin.http.post(
        "/api/admin/inspections",
        json={
            "facilityId": facility_id,
            "roundId": round_id,
            "stage": stage,
            "standardVersionId": "cn-thc-capacity-2018",
        },
    )
    assert made.status_code == 201, made.text
    inspection = made.json()["id"]
    put = admin.http.put(
        f"/api/admin/inspections/{inspection}/team", json={"members": team, "leadId": team[0]}
    )
    assert put.status_code == 200, put.text
    lead.grade_all(inspection)
    assert lead.submit(inspection)["status"] == "applied"
    wait_thumbs(admin, inspection)


def test_a_whole_round_on_screens(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    clinic_api = Api(server.url, "clinic1")
    self_id = clinic_api.inspection_id("self")
    own = clinic_api.http.get(f"/api/inspections/{self_id}").json()
    facility_id, round_id = own["facilityId"], own["roundId"]
    # the self-assessment is finished (every article graded, evidence uploaded, submitted) before applying
    clinic_team = Inspector(clinic_api)
    clinic_team.grade_all(self_id)
    assert clinic_team.submit(self_id)["status"] == "applied"
    lead_api = Api(server.url, "inspector1")
    lead = Inspector(lead_api)
    admin = Api(server.url, "admin")
    users = {u["username"]: u["id"] for u in admin.http.get("/api/admin/users").json()}
    team = [users[f"inspector{n}"] for n in range(1, 6)]

    with (
        device(playwright, tmp_path / "clinic", console) as clinic_tablet,
        device(playwright, tmp_path / "desk", console, viewport=DESK) as desk,
        device(playwright, tmp_path / "sheng", console, viewport=DESK) as sheng_desk,
        device(playwright, tmp_path / "public", console, viewport=DESK) as public_desk,
    ):
        clinic = first_page(clinic_tablet)
        login(clinic, server.url, "clinic1")
        open_inspection(clinic, self_id)
        clinic.click("[data-testid=apply-basic]")
        confirm(clinic)
        clinic.wait_for_selector("[data-testid=application-status][data-status=applied]", timeout=LONG)

        # county: the team grades and submits; the office signs, the province's setting decides the tier
        review_id = lead_api.inspection_id("county")
        lead.grade_all(review_id)
        assert lead.submit(review_id)["status"] == "applied"
        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=nav-office]")
        office.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        wait_thumbs(admin, self_id, review_id)
        sign_stage(office, facility_id, "county")
        office.locator("[data-testid=stage-conclusion][data-stage=county]").scroll_into_view_if_needed()
        office.screenshot(path=str(SHOTS / "verdict-county-signed.png"))

        # reported up with the tier found
        office_tab(office, "lists")
        office.wait_for_selector(
            f"[data-testid=list-entry][data-facility-id='{facility_id}'][data-state=reported]", timeout=LONG
        )
        office.screenshot(path=str(SHOTS / "verdict-lists-reported.png"))

        # city: the sample counts the reported facilities; the drawn one is reviewed and decided
        office_tab(office, "applications")
        office.click("[data-testid=draw-city]")
        office.wait_for_selector("[data-testid=sample][data-level=city]", timeout=LONG)
        review_stage(admin, lead, facility_id, round_id, "city", team)
        sign_stage(office, facility_id, "city")

        # province: the province office draws, decides, confirms the list by its document
        sheng = first_page(sheng_desk)
        login(sheng, server.url, "office_sheng")
        sheng.click("[data-testid=nav-office]")
        sheng.wait_for_selector("[data-testid=dashboard]", timeout=LONG)
        sheng.select_option("[data-testid=round-select]", round_id)
        office_tab(sheng, "applications")
        sheng.click("[data-testid=draw-province]")
        sheng.wait_for_selector("[data-testid=sample][data-level=province]", timeout=LONG)
        review_stage(admin, lead, facility_id, round_id, "province", team)
        sign_stage(sheng, facility_id, "province")
        office_tab(sheng, "thresholds")
        sheng.wait_for_selector("[data-testid=threshold-setting][data-current=true]", timeout=LONG)
        # each setting names its standard by its Chinese title, never by the standard's id
        setting = sheng.locator("[data-testid=threshold-setting][data-current=true]").first
        standard_id = setting.get_attribute("data-standard-id")
        named = setting.locator("[data-testid=threshold-standard]")
        sheng.wait_for_function(
            "el => /[\\u4e00-\\u9fff]/.test(el.textContent)", arg=named.element_handle(), timeout=LONG
        )
        assert standard_id
        assert standard_id not in setting.locator("h3").inner_text()
        assert "服务能力标准" in named.inner_text()
        options = sheng.locator("[data-testid=thresholds-form] select option").all_inner_texts()
        assert options
        assert not [o for o in options if o.startswith("cn-")], options
        sheng.screenshot(path=str(SHOTS / "verdict-thresholds.png"))
        office_tab(sheng, "lists")
        sheng.wait_for_selector("[data-testid=confirm-form]", timeout=LONG)
        sheng.fill("[data-testid=confirm-document-no]", DOCUMENT_NO)
        sheng.click("[data-testid=confirm-list]")
        sheng.wait_for_selector("[data-testid=confirmation][data-kind=confirmation]", timeout=LONG)
        entry = sheng.locator(
            f"[data-testid=list-entry][data-facility-id='{facility_id}'][data-state=confirmed]"
        )
        entry.wait_for(timeout=LONG)
        # the confirmation's document in its own column, not under the written opinion's heading
        assert entry.locator("[data-testid=list-document]").inner_text() == DOCUMENT_NO
        assert entry.locator("[data-testid=list-opinion]").inner_text() == ""
        sheng.screenshot(path=str(SHOTS / "verdict-lists-confirmed.png"))

        # the confirmation notice, its PDF printed by the server and read back
        sheng.click("[data-testid=doc-confirmation]")
        sheng.wait_for_selector("[data-testid=verdict-document][data-kind=confirmation]", timeout=LONG)
        assert DOCUMENT_NO in sheng.locator("[data-testid=verdict-document]").inner_text()
        sheng.screenshot(path=str(SHOTS / "verdict-confirmation-notice.png"))
        sheng.click("[data-testid=report-pdf]")
        sheng.wait_for_selector("[data-testid=report-pdf-download]", timeout=LONG * 2)
        with Api(server.url, "office_sheng") as sheng_api:
            job = next(
                j
                for j in sheng_api.http.get(f"/api/exports?roundId={round_id}").json()
                if j["kind"] == "confirmation-notice" and j["status"] == "done"
            )
            pdf = sheng_api.http.get(f"/api/exports/{job['id']}/file")
            assert pdf.status_code == 200
        document = pypdfium2.PdfDocument(pdf.content)
        text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
        assert DOCUMENT_NO in text
        assert "城关镇卫生院" in text

        # `make run`'s concluded demo round: tiers, removals with their opinions, the confirmed list
        demo_round = next(r["id"] for r in admin.http.get("/api/rounds").json() if "示范省结果" in r["name"])
        office_tab(sheng, "lists")
        sheng.select_option("[data-testid=round-select]", demo_round)
        sheng.wait_for_selector("[data-testid=list-entry][data-state=removed]", timeout=LONG)
        assert sheng.locator("[data-testid=list-entry][data-state=confirmed]").count() >= 4
        sheng.screenshot(path=str(SHOTS / "verdict-demo-lists.png"), full_page=True)
        sheng.select_option("[data-testid=round-select]", round_id)

        # the public page: no sign-in, confirmed facilities only
        public = first_page(public_desk)
        public.goto(f"{server.url}/public/rounds/{round_id}")
        public.wait_for_selector("[data-testid=public-results]", timeout=LONG)
        names = public.locator("[data-testid=public-entry]").all_inner_texts()
        assert any("城关镇卫生院" in n for n in names), names
        public.screenshot(path=str(SHOTS / "verdict-public.png"))

        # the clinic reads its result: tier, final grades and places, low-ranked articles to improve
        clinic.goto(f"{server.url}/#/result/{round_id}")
        clinic.wait_for_selector("[data-testid=result-tier][data-state=confirmed]", timeout=LONG)
        assert clinic.locator("[data-testid=result-article]").count() > 10
        # who decided, with the province's document (the demo province's setting)
        assert (
            "示卫基层发〔2026〕8号（演示）" in clinic.locator("[data-testid=result-statement]").inner_text()
        )
        clinic.screenshot(path=str(SHOTS / "verdict-clinic-result.png"), full_page=False)

        body: dict[str, Any] = clinic_api.http.get(
            f"/api/facilities/{facility_id}/rounds/{round_id}/result"
        ).json()
        assert body["tier"] == "basic"
        assert {p["scope"] for p in body["articles"][0]["places"]} == {"county", "city", "province"}

        # a facility removed in the demo's concluded round ranks low: its clinic takes a low-ranked article from
        # its result into the improvement plan offline (queued, in the plan at once, on the server after sync)
        removed = admin.http.get(f"/api/rounds/{demo_round}/lists?state=removed").json()["entries"]
        weak = next(
            e["facilityId"]
            for e in removed
            if admin.http.get(f"/api/facilities/{e['facilityId']}/rounds/{demo_round}/result").json()[
                "suggestions"
            ]
        )
        made = admin.http.post(
            "/api/admin/users",
            json={"username": "clinic_weak", "password": "demo-weak", "role": "clinic", "facilityId": weak},
        )
        assert made.status_code == 201, made.text
        take_plan(playwright, server, console, tmp_path, demo_round)

    for api in (clinic_api, lead_api, admin):
        api.close()
