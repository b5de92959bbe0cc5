"""Roles shown, not discovered (issue 20): the office lands on its own screens and reads a clinic's
self-assessment as read-only, told why; a change the server refuses is said at its article, in Chinese; a
clinic resolves the conflict between two of its own devices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    article,
    device,
    first_page,
    jpeg_files,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_office_journey import Inspector
from tests.pwa_static.test_office_report import upload_photo

DESK = {"width": 1280, "height": 800}


def push(api: Api, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    client = f"other-{uuid.uuid4().hex[:8]}"
    # the device's hybrid clock, as the app writes it: ISO time, counter, node
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    numbered = [
        {"id": n, "hlc": f"{now}-{n:04d}-{client[:8]}", **m} for n, m in enumerate(mutations, start=1)
    ]
    body = {"protocolVersion": 1, "clientGroupId": client, "clientId": client, "mutations": numbered}
    response = api.http.post("/api/sync/push", json=body)
    response.raise_for_status()
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def clinic_conflict(
    phone: BrowserContext, base: str, self_id: str, item: str, other_user: str, password: str = "demo-demo"
) -> Locator:
    """clinic1 answers ``item`` A on its tablet, ``other_user`` C from another device without having seen
    it: the tablet shows the conflict that makes. ``other_user`` is another staff member of the clinic (the
    journeys create them with ``demo-demo``) or clinic1 itself on its second device (``password="demo"``)."""
    page = first_page(phone)
    login(page, base, "clinic1")
    open_inspection(page, self_id)
    answer(page, item, "A")
    wait_synced(page)
    with Api(base, other_user, password) as other:
        [result] = push(
            other,
            [
                {
                    "name": "setAnswer",
                    "args": {"inspectionId": self_id, "itemCode": item, "field": "value", "value": "C"},
                }
            ],
        )
    assert result["status"] == "conflict"
    page.click("[data-testid=sync-now]")
    conflict = page.locator(f"[data-testid=conflict][data-item='{item}']")
    conflict.wait_for(timeout=LONG)
    return conflict


def test_the_office_lands_on_its_screens_and_reads_a_self_assessment_told_why(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    with Api(server.url, "clinic1") as clinic:
        self_id = clinic.inspection_id("self")
    with device(playwright, tmp_path / "desk", console, viewport=DESK) as desk:
        page = first_page(desk)
        login(page, server.url, "office")
        page.wait_for_selector("[data-testid=dashboard]", timeout=LONG)  # no tap needed
        assert page.get_attribute("[data-testid=nav-office]", "aria-current") == "page"
        page.click("[data-testid=nav-tasks]")
        open_inspection(page, self_id)
        note = page.locator("[data-testid=read-only]")
        assert note.get_attribute("data-reason") == "nav.readonly.officeSelf"
        assert "机构自评由机构自己填写，办公室只能查看" in note.inner_text()
        first = page.locator("[data-testid=article]").first
        buttons = first.locator("[data-testid=answer]")
        assert buttons.count() > 0
        assert all(buttons.nth(i).is_disabled() for i in range(buttons.count()))
        assert (
            page.locator(
                "[data-testid=note-input], [data-testid=photo-input], [data-testid=submit-inspection]"
            ).count()
            == 0
        )
        page.screenshot(path=str(SHOTS / "office-read-only.png"))


def test_a_refused_change_is_said_at_its_article(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    office = Api(server.url, "office")
    with Api(server.url, "inspector1") as lead:
        review_id = lead.inspection_id("county")
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, review_id)
        wait_synced(page)
        tablet.set_offline(True)
        answer(page, "2.1.3", "A")
        # meanwhile the office closes the review with what it holds
        closed = office.http.post(
            f"/api/inspections/{review_id}/submit-incomplete", json={"reason": "道路中断，按现有材料提交。"}
        )
        assert closed.status_code in (200, 201), closed.text
        tablet.set_offline(False)
        page.click("[data-testid=sync-now]")
        refusal = article(page, "2.1.3").locator("[data-testid=article-refusal]")
        refusal.wait_for(timeout=LONG)
        assert refusal.get_attribute("data-reason") == "inspection_locked"
        assert "该评审已提交或锁定，不能再修改" in refusal.inner_text()
        assert page.get_attribute("[data-testid=refused-count]", "data-n") == "1"
        refusal.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "refusal-at-article.png"))
        refusal.locator("[data-testid=refusal-dismiss]").click()
        refusal.wait_for(state="detached")
        assert page.locator("[data-testid=refused-count]").count() == 0
    office.close()


def test_a_clinic_resolves_its_own_conflict(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    clinic = Api(server.url, "clinic1")
    self_id = clinic.inspection_id("self")
    item = "1.1.1"
    with device(playwright, tmp_path / "phone", console) as phone:
        # the clinic's other device (the same user) grades the same article differently
        conflict = clinic_conflict(phone, server.url, self_id, item, "clinic1", password="demo")
        page = first_page(phone)
        assert conflict.locator("[data-testid=conflict-clinic-decides]").count() == 1
        pick = conflict.locator("[data-testid=conflict-candidate][data-value=C]")
        assert pick.is_enabled()
        conflict.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "clinic-conflict.png"))
        pick.click()
        conflict.wait_for(state="detached", timeout=LONG)
        wait_synced(page)
    state = clinic.pull()
    assert state[f"answer/{self_id}/{item}/value"]["value"] == "C"
    assert {v["status"] for k, v in state.items() if k.startswith("conflict/")} == {"resolved"}
    clinic.close()


def test_the_offices_conflict_queue_shows_the_article_both_sides_notes_and_photos(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    lead, mate = Api(server.url, "inspector1"), Api(server.url, "inspector2")
    review_id = lead.inspection_id("county")
    item = "1.2.1"
    grade = {"name": "setAnswer", "args": {"inspectionId": review_id, "itemCode": item, "field": "value"}}
    note = {
        "inspectionId": review_id,
        "itemCode": item,
        "noteId": str(uuid.uuid4()),
        "text": "床位数与核定文件不符",
    }
    assert (
        push(lead, [{**grade, "args": {**grade["args"], "value": "A"}}, {"name": "addNote", "args": note}])[
            0
        ]["status"]
        == "applied"
    )
    assert push(mate, [{**grade, "args": {**grade["args"], "value": "C"}}])[0]["status"] == "conflict"
    upload_photo(mate, Inspector(mate), review_id, item, jpeg_files(tmp_path / "mate", 1)[0])
    with device(playwright, tmp_path / "desk", console, viewport=DESK) as desk:
        page = first_page(desk)
        login(page, server.url, "office")
        page.click("[data-testid=office-tab-conflicts]")
        queued = page.locator(f"[data-testid=office-conflict][data-item='{item}']")
        queued.wait_for(timeout=LONG)
        assert "床位设置" in queued.locator("h3").inner_text()  # the article's title
        sides = queued.locator("[data-testid=office-conflict-side]").all_inner_texts()
        assert len(sides) == 2
        assert any(s.startswith("A") and "评审专家1" in s for s in sides), sides
        assert any(s.startswith("C") and "评审专家2" in s for s in sides), sides
        assert "床位数与核定文件不符" in queued.locator("[data-testid=office-conflict-notes]").inner_text()
        assert queued.locator("[data-testid=office-conflict-photo]").count() == 1
        assert queued.locator("[data-testid=office-conflict-when]").count() == 2
        queued.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "office-conflict-queue.png"))
    lead.close()
    mate.close()


def test_the_office_designates_who_resolves_a_clinics_conflicts(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    clinic = Api(server.url, "clinic1")
    self_id = clinic.inspection_id("self")
    facility_id = clinic.http.get("/api/me").json()["facilityId"]
    with Api(server.url, "admin") as admin:
        created = admin.http.post(
            "/api/admin/users",
            json={
                "username": "clinic1b",
                "password": "demo-demo",
                "role": "clinic",
                "displayName": "质控科王医生",
                "facilityId": facility_id,
            },
        )
        assert created.status_code == 201, created.text
    second_id = created.json()["id"]
    item = "1.1.1"
    with (
        device(playwright, tmp_path / "desk", console, viewport=DESK) as desk,
        device(playwright, tmp_path / "phone", console) as phone,
    ):
        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=office-tab-resolvers]")
        row = office.locator(f"[data-testid=resolver-row][data-facility-id='{facility_id}']")
        row.wait_for(timeout=LONG)
        assert "未指定" in row.locator("[data-testid=resolver-current]").inner_text()
        row.locator("[data-testid=resolver-select]").select_option(second_id)
        office.wait_for_selector(
            f"[data-testid=resolver-row][data-facility-id='{facility_id}'][data-resolver='{second_id}']",
            timeout=LONG,
        )
        assert "质控科王医生" in row.locator("[data-testid=resolver-current]").inner_text()
        office.screenshot(path=str(SHOTS / "office-resolvers.png"))

        conflict = clinic_conflict(phone, server.url, self_id, item, "clinic1b")
        page = first_page(phone)
        # clinic1 is not the designated staff member: it sees who decides, and cannot pick
        assert "质控科王医生" in conflict.locator("[data-testid=conflict-resolver]").inner_text()
        assert not conflict.locator("[data-testid=conflict-candidate][data-value=C]").is_enabled()
        conflict.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "clinic-conflict-designated.png"))

        # the designated staff member signs in on the same phone and decides (the sign-out between sends no
        # request with the token being revoked: no 401 on the console)
        page.click("[data-testid=logout]")
        page.wait_for_selector("input[name=username]", timeout=LONG)  # signed out, as the person sees it
        login(page, server.url, "clinic1b", "demo-demo")
        open_inspection(page, self_id)
        conflict = page.locator(f"[data-testid=conflict][data-item='{item}']")
        conflict.wait_for(timeout=LONG)
        assert "指定的冲突裁决人" in conflict.locator("[data-testid=conflict-clinic-decides]").inner_text()
        conflict.locator("[data-testid=conflict-candidate][data-value=C]").click()
        conflict.wait_for(state="detached", timeout=LONG)
        wait_synced(page)
    state = clinic.pull()
    assert state[f"answer/{self_id}/{item}/value"]["value"] == "C"
    assert {v["status"] for k, v in state.items() if k.startswith("conflict/")} == {"resolved"}
    clinic.close()
