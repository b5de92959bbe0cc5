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
