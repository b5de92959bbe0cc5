"""The office's 阶段与专家 screen: the stage calendar from the programme with what is due and overdue, the
programme's targets, a seeded team draw from the expert pool (recusal and the title gate), and a late
application let in with a reason."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import LONG, Api, Console, device, first_page, login
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_office_journey import Inspector

SEED = "2026-county-01"
REASON = "因系统故障未能按期提交，经研究同意补报"


def _expert(admin: Api, username: str, title: str) -> None:
    user = admin.http.post(
        "/api/admin/users",
        json={"username": username, "password": "demo-pass", "role": "inspector", "displayName": username},
    )
    assert user.status_code == 201, user.text
    expert = admin.http.post(
        "/api/admin/experts", json={"userId": user.json()["id"], "title": title, "specialties": ["护理"]}
    )
    assert expert.status_code == 201, expert.text


def _self_assessed(base: str, admin: Api, facility_id: str, round_id: str, username: str) -> None:
    """The facility's team grades and submits its self-assessment (an application needs it finished)."""
    if username != "clinic1":
        made = admin.http.post(
            "/api/admin/users",
            json={"username": username, "password": "demo-pass", "role": "clinic", "facilityId": facility_id},
        )
        assert made.status_code == 201, made.text
    with Api(base, username, "demo" if username == "clinic1" else "demo-pass") as clinic:
        team = Inspector(clinic)
        inspection = next(
            row["inspectionId"]
            for row in clinic.http.get("/api/assignments").json()
            if row["stage"] == "self" and row["roundId"] == round_id and row["facilityId"] == facility_id
        )
        if clinic.http.get(f"/api/inspections/{inspection}").json()["status"] in ("submitted", "accepted"):
            return  # the demo has submitted it already
        team.grade_all(inspection)
        assert team.submit(inspection)["status"] == "applied"


def test_the_office_sees_its_stages_and_draws_a_team(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with Api(server.url, "admin") as admin, Api(server.url, "office") as office_api:
        # the 基层行 demo round (the demo also holds the other programmes' rounds)
        round_id = next(
            r["id"]
            for r in office_api.http.get("/api/rounds").json()
            if r["name"] == "2026年度“优质服务基层行”活动"
        )
        facilities = office_api.http.get("/api/facilities").json()
        by_name = {f["name"]: f["id"] for f in facilities}
        first = by_name["城关镇卫生院"]
        # a second 基层行 facility (the demo also holds the other programmes' counties and schools)
        second = next(f["id"] for f in facilities if f["kind"] == "township_centre" and f["id"] != first)
        for facility, username in ((first, "clinic1"), (second, "clinic_second")):
            _self_assessed(server.url, admin, facility, round_id, username)
            applied = office_api.http.post(
                "/api/applications", json={"facilityId": facility, "roundId": round_id, "tier": "basic"}
            )
            assert applied.status_code == 201, applied.text
        _expert(admin, "expert_junior", "护士")
        _expert(admin, "expert_a", "主治医师")
        _expert(admin, "expert_b", "主管护师")
        today = datetime.now(UTC).date()
        dates = {"application": -10, "county": -3, "city": 5, "province": 30}
        calendar = admin.http.put(
            f"/api/rounds/{round_id}/calendar",
            json={
                "deadlines": {stage: (today + timedelta(days=d)).isoformat() for stage, d in dates.items()}
            },
        )
        assert calendar.status_code == 200, calendar.text
        late_facility = next(
            f for f in facilities if f["kind"] == "township_centre" and f["id"] not in (first, second)
        )
        _self_assessed(server.url, admin, late_facility["id"], round_id, "clinic_late")

        with device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 900}) as desk:
            page = first_page(desk)
            login(page, server.url, "office")
            page.click("[data-testid=nav-office]")
            # the dashboard (看板) says what is overdue and which targets are not met
            page.wait_for_selector(
                "[data-testid=stage-due][data-stage=county][data-state=overdue]", timeout=LONG
            )
            assert page.locator("[data-testid=target-summary][data-met=false]").count() == 4
            page.locator("[data-testid=stage-summary]").screenshot(
                path=str(SHOTS / "office-dashboard-stages.png")
            )
            page.click("[data-testid=open-stages]")
            page.wait_for_selector("[data-testid=stage-calendar][data-set=true]", timeout=LONG)
            assert (
                page.get_attribute("[data-testid=calendar-stage][data-stage=application]", "data-state")
                == "closed"
            )
            county = page.locator("[data-testid=calendar-stage][data-stage=county]")
            assert county.get_attribute("data-state") == "overdue"
            assert "城关镇卫生院" in county.locator("[data-testid=calendar-pending]").inner_text()
            assert (
                page.get_attribute("[data-testid=calendar-stage][data-stage=city]", "data-state")
                == "due_soon"
            )
            page.wait_for_selector("[data-testid=target][data-measure=applying]", timeout=LONG)
            assert "申报合格以上档次不少于 20%" in page.locator("[data-testid=targets]").inner_text()

            # the seeded draw: recusal and the title gate leave experts out; the draw is reproduced from its seed
            row = page.locator("[data-testid=review-team]").first
            assert row.get_attribute("data-review-mode") == "onsite"
            row.locator("[data-testid=draw-seed]").fill(SEED)
            row.locator("[data-testid=draw-team]").click()
            page.wait_for_selector(
                f"[data-testid=last-draw][data-seed='{SEED}'][data-reproduced=true]", timeout=LONG
            )
            text = page.locator("[data-testid=last-draw]").inner_text()
            assert "评审专家6（回避）" in text
            assert "expert_junior（职称不足）" in text
            assert "组长" in page.locator("[data-testid=team-members]").first.inner_text()

            # a late application: refused for the facility, then let in by the office with a reason
            refused = office_api.http.post(
                "/api/applications",
                json={"facilityId": late_facility["id"], "roundId": round_id, "tier": "basic"},
            )
            assert refused.json()["code"] == "application_window_closed"
            page.select_option("[data-testid=late-facility]", late_facility["id"])
            page.fill("[data-testid=late-reason]", REASON)
            page.click("[data-testid=late-grant]")
            page.wait_for_selector(
                f"[data-testid=late-application][data-facility-id='{late_facility['id']}']", timeout=LONG
            )
            # a window as tall as the screen, so the sticky header is not painted over its middle
            page.set_viewport_size({"width": 1280, "height": 2300})
            page.screenshot(path=str(SHOTS / "office-stages.png"), full_page=True)
            # the same screen in English, from the same vocabulary
            page.click("[data-testid=lang-toggle]")
            page.wait_for_selector("text=Stage calendar", timeout=LONG)
            assert "Overdue" in page.locator("[data-testid=calendar-stage][data-stage=county]").inner_text()
            assert "Reproduced from its seed" in page.locator("[data-testid=last-draw]").inner_text()
            if os.environ.get("FIELDCHECK_SHOT_EN"):
                page.screenshot(path=os.environ["FIELDCHECK_SHOT_EN"], full_page=True)

        draws = office_api.http.get(f"/api/inspections/{row_id(office_api, round_id)}/team-draws").json()
        assert draws[0]["seed"] == SEED
        assert draws[0]["reproduced"] is True
        applied_late = office_api.http.post(
            "/api/applications",
            json={"facilityId": late_facility["id"], "roundId": round_id, "tier": "basic"},
        )
        assert applied_late.status_code == 201, applied_late.text


def row_id(api: Api, round_id: str) -> str:
    return str(api.http.get(f"/api/rounds/{round_id}/teams").json()[0]["inspectionId"])
