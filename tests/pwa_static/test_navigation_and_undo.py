"""A whole day's work (issue 20): finding the last unanswered article through the index on a phone, the place
kept across a reload, search and filters, blockers as links; undoing offline (a photo deleted, a caption, a
note edited and one deleted, an answer cleared) and syncing; confirmation dialogs whose cancel changes nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright

from backend.standards import load_shipped
from backend.standards.validation import walk_articles
from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    article,
    device,
    first_page,
    idb_counts,
    jpeg_files,
    login,
    open_inspection,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_office_journey import Inspector

PHONE = {"width": 390, "height": 844}
ARTICLES = [a.number for _, a, _ in walk_articles(load_shipped("township-2018"))]
LAST = "3.3.2"  # the one article a teammate's device leaves unanswered
TOP = "() => { const t = document.querySelector('.top').getBoundingClientRect().bottom; return [...document.querySelectorAll('[data-testid=article]')].find((e) => e.getBoundingClientRect().bottom > t + 8)?.dataset.item; }"


def push(api: Api, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mutations from another device of the team (a client of its own), numbered from 1."""
    client = f"teammate-{uuid.uuid4().hex[:8]}"
    numbered = [{"id": n, "hlc": f"h{n}", **m} for n, m in enumerate(mutations, start=1)]
    body = {"protocolVersion": 1, "clientGroupId": client, "clientId": client, "mutations": numbered}
    response = api.http.post("/api/sync/push", json=body)
    response.raise_for_status()
    results: list[dict[str, Any]] = response.json()["results"]
    assert {r["status"] for r in results} == {"applied"}, results
    return results


def grade(inspection_id: str, item: str, value: Any = "B") -> dict[str, Any]:
    args = {"inspectionId": inspection_id, "itemCode": item, "field": "value", "value": value}
    return {"name": "setAnswer", "args": args}


def header_height(page: Page) -> float:
    height: float = page.evaluate("() => document.querySelector('.top').getBoundingClientRect().height")
    return height


def test_the_last_unanswered_article_through_the_index_on_a_phone(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "inspector2")
    inspection_id = api.inspection_id("county")
    push(api, [grade(inspection_id, p, True) for p in ("P1", "P2", "P3")])
    push(api, [grade(inspection_id, item) for item in ARTICLES if item != LAST])

    with device(playwright, tmp_path / "phone", console, viewport=PHONE) as phone:
        page = first_page(phone)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        wait_synced(page)
        assert header_height(page) <= 64  # the compact phone header
        page.wait_for_selector("[data-testid=nav-progress]:has-text('42/43')", timeout=LONG)

        # the index: progress per section, every article; the one left open is marked so
        page.click("[data-testid=index-open]")
        index = page.locator("[data-testid=section-index]")
        index.wait_for(timeout=LONG)
        section = index.locator("[data-testid=index-section][data-section='3']")
        in_three = len([a for a in ARTICLES if a.startswith("3.")])
        assert section.get_attribute("data-answered") == str(in_three - 1)
        assert section.get_attribute("data-total") == str(in_three)
        assert (
            index.locator("[data-testid=index-section][data-section='1']").get_attribute("data-answered")
            == "6"
        )
        open_chips = index.locator("[data-testid=index-article][data-state=open]")
        assert open_chips.evaluate_all("els => els.map(e => e.dataset.item)") == [LAST]
        page.screenshot(path=str(SHOTS / "section-index-phone.png"))
        open_chips.click()
        # the jump closes the index (on a re-render, which a loaded machine may take a moment to make)
        index.wait_for(state="hidden", timeout=LONG)
        page.wait_for_function(f"() => ({TOP})() === '{LAST}'", timeout=LONG)
        page.screenshot(path=str(SHOTS / "index-jump-phone.png"))

        # the place survives a reload
        page.reload()
        page.wait_for_selector("[data-testid=article]", timeout=LONG)
        page.wait_for_function(f"() => ({TOP})() === '{LAST}'", timeout=LONG)

        # back at the top, "next unanswered" finds it too; then it is answered and nothing is left
        page.evaluate("() => window.scrollTo(0, 0)")
        page.click("[data-testid=next-unanswered]")
        page.wait_for_function(f"() => ({TOP})() === '{LAST}'", timeout=LONG)
        answer(page, LAST, "C")
        page.wait_for_selector("[data-testid=nav-progress]:has-text('43/43')", timeout=LONG)
        assert page.locator("[data-testid=next-unanswered]").is_disabled()
        wait_synced(page)
    assert api.pull()[f"answer/{inspection_id}/{LAST}/value"]["value"] == "C"
    api.close()


def test_search_filters_and_blockers_that_link_to_their_article(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "inspector1")
    inspection_id = api.inspection_id("county")
    push(api, [grade(inspection_id, item) for item in ARTICLES[:40]])
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        wait_synced(page)
        page.wait_for_selector("[data-testid=nav-progress]:has-text('40/43')", timeout=LONG)

        page.click("[data-testid=filter][data-value=unanswered]")
        shown = page.locator("[data-testid=article]").evaluate_all("els => els.map(e => e.dataset.item)")
        assert shown == ARTICLES[40:]
        assert page.get_attribute("[data-testid=filter-count]", "data-n") == "3"
        page.click("[data-testid=filter][data-value=evidence]")  # unanswered AND short of photos
        shown = page.locator("[data-testid=article]").evaluate_all("els => els.map(e => e.dataset.item)")
        assert shown == ["4.2.3"]
        page.screenshot(path=str(SHOTS / "inspection-filters.png"))
        page.click("[data-testid=filter-clear]")

        page.fill("[data-testid=article-search]", "2.2.1")
        shown = page.locator("[data-testid=article]").evaluate_all("els => els.map(e => e.dataset.item)")
        assert shown == ["2.2.1"]
        page.fill("[data-testid=article-search]", "感染")  # words of the title or requirements
        words = page.locator("[data-testid=article]").evaluate_all("els => els.map(e => e.dataset.item)")
        assert "3.3.1" in words
        assert len(words) < len(ARTICLES)
        page.click("[data-testid=filter-clear]")
        assert page.locator("[data-testid=article]").count() == len(ARTICLES)

        # a blocker names its articles as links: one tap jumps there
        blockers = page.locator("[data-testid=submit-blockers]")
        blockers.scroll_into_view_if_needed()
        links = blockers.locator("[data-testid=blocker-link]")
        assert "4.3.2" in links.evaluate_all("els => els.map(e => e.dataset.item)")
        blockers.locator("[data-testid=blocker-link][data-item='2.2.2']").first.click()
        page.wait_for_function(f"() => ({TOP})() === '2.2.2'", timeout=LONG)
    api.close()


def test_undo_offline_then_sync(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "inspector1")
    inspection_id = api.inspection_id("county")
    item = "1.2.2"
    photos = jpeg_files(tmp_path / "camera", 2)
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        card = article(page, item)
        answer(page, item, "B")
        card.locator("[data-testid=note-input]").fill("消毒记录缺 3 月份。")
        card.locator("[data-testid=note-save]").click()
        card.locator("[data-testid=note-input]").fill("写错条款的备注")
        card.locator("[data-testid=note-save]").click()
        page.set_input_files(
            f"[data-testid=article][data-item='{item}'] [data-testid=photo-input]", [str(p) for p in photos]
        )
        page.wait_for_selector(
            f"[data-testid=article][data-item='{item}'] [data-testid=photo][data-state=stored] >> nth=1",
            timeout=90_000,
        )
        wait_synced(page)
        photo_ids = card.locator("[data-testid=photo]").evaluate_all("els => els.map(e => e.dataset.photoId)")
        notes = card.locator("[data-testid=note]")
        note_ids = notes.evaluate_all("els => els.map(e => e.dataset.noteId)")

        tablet.set_offline(True)
        # the first photo goes; the second gets a caption
        card.locator(
            f"[data-testid=photo][data-photo-id='{photo_ids[0]}'] [data-testid=photo-delete]"
        ).click()
        card.locator(f"[data-testid=photo][data-photo-id='{photo_ids[0]}']").wait_for(state="detached")
        caption = card.locator(
            f"[data-testid=photo][data-photo-id='{photo_ids[1]}'] [data-testid=photo-caption]"
        )
        caption.fill("消毒登记本 3 月页")
        caption.press("Enter")
        # the first note is corrected, the second deleted
        notes.nth(0).locator("[data-testid=note-edit]").click()
        card.locator("[data-testid=note-edit-input]").fill("消毒记录缺 3 月、4 月。")
        card.locator("[data-testid=note-edit-save]").click()
        card.locator(f"[data-testid=note][data-note-id='{note_ids[1]}'] [data-testid=note-delete]").click()
        card.locator(f"[data-testid=note][data-note-id='{note_ids[1]}']").wait_for(state="detached")
        # the answer is cleared
        card.locator("[data-testid=answer-clear]").click()
        page.wait_for_function(
            f"() => document.querySelectorAll(\"[data-testid=article][data-item='{item}'] [data-testid=answer][aria-pressed=true]\").length === 0"
        )
        assert card.locator("[data-testid=answer-clear]").count() == 0
        assert card.locator("[data-testid=note]").inner_text().startswith("消毒记录缺 3 月、4 月。")
        assert idb_counts(page) == {"mutations": 5, "photos": 1}  # the deleted photo's bytes left the device
        card.scroll_into_view_if_needed()
        card.screenshot(path=str(SHOTS / "undo-offline.png"))

        tablet.set_offline(False)
        page.click("[data-testid=sync-now]")
        wait_synced(page)
        assert idb_counts(page)["mutations"] == 0

    state = api.pull()
    assert state[f"answer/{inspection_id}/{item}/value"]["value"] is None
    assert f"photo/{photo_ids[0]}" not in state
    assert state[f"photo/{photo_ids[1]}"]["caption"] == "消毒登记本 3 月页"
    texts = [v["text"] for k, v in state.items() if k.startswith("note/")]
    assert texts == ["消毒记录缺 3 月、4 月。"]
    receipt = api.receipt(inspection_id)
    assert [p["photoId"] for p in receipt["photos"]] == [photo_ids[1]]
    api.close()


def test_confirmations_say_what_happens_and_cancel_changes_nothing(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    # a review with everything answered and the photos that count uploaded: the server's blockers (its receipt)
    # are empty, so submit is offered
    lead = Api(server.url, "inspector1")
    inspection_id = lead.inspection_id("county")
    Inspector(lead).grade_all(inspection_id)

    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        open_inspection(page, inspection_id)
        wait_synced(page)
        submit = page.locator("[data-testid=submit-inspection]")
        submit.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=submit-inspection]').disabled", timeout=LONG
        )
        submit.click()
        dialog = page.locator("[data-testid=confirm-dialog]")
        dialog.wait_for(state="visible")
        assert "43" in dialog.locator("[data-testid=confirm-happens]").inner_text()
        assert "锁定" in dialog.locator("[data-testid=confirm-final]").inner_text()
        page.screenshot(path=str(SHOTS / "confirm-submit.png"))
        page.click("[data-testid=confirm-cancel]")
        dialog.wait_for(state="hidden")
        assert idb_counts(page)["mutations"] == 0
        submit.click()
        dialog.wait_for(state="visible")
        page.keyboard.press("Escape")  # Escape is a cancel too
        dialog.wait_for(state="hidden")
        assert idb_counts(page)["mutations"] == 0
        assert page.locator("[data-testid=submitted]").count() == 0
    assert lead.pull()[f"inspection/{inspection_id}"]["status"] == "in_progress"
    lead.close()

    # the clinic applies for a tier: not before its self-assessment is submitted (the server refuses it: said
    # instead of a button), then the dialog says what happens and what cannot be undone; cancel applies for nothing
    with Api(server.url, "clinic1") as clinic:
        self_id = clinic.inspection_id("self")
        facility = clinic.http.get(f"/api/inspections/{self_id}").json()["facilityId"]
        before = clinic.http.get(f"/api/applications?facilityId={facility}").json()
        with device(playwright, tmp_path / "clinic", console) as phone:
            page = first_page(phone)
            login(page, server.url, "clinic1")
            open_inspection(page, self_id)
            first = page.locator("[data-testid=apply-submit-first]")
            first.wait_for(timeout=LONG)
            assert "自评尚未提交" in first.inner_text()
            assert page.locator("[data-testid=apply-basic]").count() == 0
            team = Inspector(clinic)
            team.grade_all(self_id)
            assert team.submit(self_id)["status"] == "applied"
            page.click("[data-testid=sync-now]")
            wait_synced(page)
            apply = page.locator("[data-testid=apply-basic]")
            apply.wait_for(timeout=LONG)
            assert first.count() == 0
            apply.click()
            dialog = page.locator("[data-testid=confirm-dialog] >> visible=true")
            dialog.wait_for()
            assert "基本" in dialog.locator("[data-testid=confirm-happens]").inner_text()
            assert dialog.locator("[data-testid=confirm-missing]").count() == 0  # submitted: nothing missing
            assert "6 个月" in dialog.locator("[data-testid=confirm-final]").inner_text()
            page.screenshot(path=str(SHOTS / "confirm-apply.png"))
            dialog.locator("[data-testid=confirm-cancel]").click()
            dialog.wait_for(state="hidden")
            assert clinic.http.get(f"/api/applications?facilityId={facility}").json() == before
            apply.click()
            page.locator("[data-testid=confirm-dialog] >> visible=true").locator(
                "[data-testid=confirm-ok]"
            ).click()
            page.wait_for_selector("[data-testid=application-status][data-status=applied]", timeout=LONG)
        after = clinic.http.get(f"/api/applications?facilityId={facility}").json()
        assert len(after) == len(before) + 1
