"""Two devices grade the same article differently offline: both show the conflict, the lead decides."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    article,
    device,
    first_page,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_roles import clinic_conflict


def test_conflict_shown_on_both_devices_and_resolved_by_the_lead(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "inspector1")
    inspection_id = api.inspection_id("county")
    item = "1.1.1"
    with (
        device(playwright, tmp_path / "lead", console) as lead_tablet,
        device(playwright, tmp_path / "member", console) as member_tablet,
    ):
        lead, member = first_page(lead_tablet), first_page(member_tablet)
        for page, username in ((lead, "inspector1"), (member, "inspector2")):
            login(page, server.url, username)
            open_inspection(page, inspection_id)
            wait_synced(page)
        lead_tablet.set_offline(True)
        member_tablet.set_offline(True)
        answer(lead, item, "A")
        answer(member, item, "C")

        lead_tablet.set_offline(False)
        lead.click("[data-testid=sync-now]")
        wait_synced(lead)
        member_tablet.set_offline(False)
        member.click("[data-testid=sync-now]")
        wait_synced(member)
        lead.click("[data-testid=sync-now]")

        for page in (lead, member):
            banner = page.locator(f"[data-testid=conflict][data-item='{item}']")
            banner.wait_for(timeout=LONG)
            values = banner.locator("[data-testid=conflict-candidate]").evaluate_all(
                "els => els.map(e => e.dataset.value)"
            )
            assert sorted(values) == ["A", "C"]
        assert member.locator("[data-testid=conflict-candidate]").first.is_disabled()  # only the lead decides
        lead.locator(f"[data-testid=conflict][data-item='{item}']").scroll_into_view_if_needed()
        lead.screenshot(path=str(SHOTS / "conflict.png"))

        lead.click(
            f"[data-testid=conflict][data-item='{item}'] [data-testid=conflict-candidate][data-value='C']"
        )
        lead.click("[data-testid=sync-now]")
        wait_synced(lead)
        lead.wait_for_selector(f"[data-testid=conflict][data-item='{item}']", state="detached", timeout=LONG)

        member.click("[data-testid=sync-now]")
        member.wait_for_selector(
            f"[data-testid=conflict][data-item='{item}']", state="detached", timeout=LONG
        )
        chosen = article(member, item).locator("[data-testid=answer][data-value='C']")
        assert chosen.get_attribute("aria-pressed") == "true"
        assert article(member, item).locator("[data-testid=conflict-resolved]").count() == 1

    state = api.pull()
    assert state[f"answer/{inspection_id}/{item}/value"]["value"] == "C"
    conflicts = [v for k, v in state.items() if k.startswith("conflict/")]
    assert [(c["status"], c["resolution"]) for c in conflicts] == [("resolved", "C")]
    api.close()


def test_a_candidate_is_named_by_the_person_never_an_id(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    """A clinic's self-assessment has no team list to name its writers by, and the other account's device gave
    itself no name: both the clinic's conflict view and the office's queue name each side by the account's
    display name (the pull's and the queue's candidates carry userName and deviceName), never by an id."""
    clinic = Api(server.url, "clinic1")
    self_id = clinic.inspection_id("self")
    facility_id = clinic.http.get("/api/me").json()["facilityId"]
    with Api(server.url, "admin") as admin:
        created = admin.http.post(
            "/api/admin/users",
            json={
                "username": "clinic1c",
                "password": "demo-demo",
                "role": "clinic",
                "displayName": "质控科李医生",
                "facilityId": facility_id,
            },
        )
        assert created.status_code == 201, created.text
    item = "1.1.1"
    with (
        device(playwright, tmp_path / "phone", console) as phone,
        device(playwright, tmp_path / "desk", console, viewport={"width": 1280, "height": 800}) as desk,
    ):
        conflict = clinic_conflict(phone, server.url, self_id, item, "clinic1c")
        page = first_page(phone)
        authors = dict(
            zip(
                conflict.locator("[data-testid=conflict-candidate]").evaluate_all(
                    "els => els.map(e => e.dataset.value)"
                ),
                conflict.locator("[data-testid=conflict-author]").all_inner_texts(),
                strict=True,
            )
        )
        # this phone names itself by its model (Linux, headless Chromium); the other device named nothing
        assert authors == {"A": "城关镇卫生院（设备 Linux）", "C": "质控科李医生"}, authors
        conflict.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "conflict-named.png"))

        office = first_page(desk)
        login(office, server.url, "office")
        office.click("[data-testid=office-tab-conflicts]")
        queued = office.locator(f"[data-testid=office-conflict][data-item='{item}']")
        queued.wait_for(timeout=LONG)
        names = sorted(queued.locator("[data-testid=office-conflict-author]").all_inner_texts())
        assert names == ["城关镇卫生院（设备 Linux）", "质控科李医生"], names
        queued.scroll_into_view_if_needed()
        office.screenshot(path=str(SHOTS / "office-conflict-named.png"))
    clinic.close()
