"""No lost tick: a grade tapped while the device applies a big pull page (a teammate's 816 notes arriving) is
stored at once, inside the page's transaction (it waited for the whole page, shown on screen meanwhile, and a
browser closed then lost it); the screen says it is being saved until it is stored, and a browser closed as soon
as it no longer says so keeps it: after a restart offline it is shown, queued (or already on the server).

The app's own transactions are observed (never changed) by an init script that records when each readwrite
transaction is opened and completes, and when each tap lands: the tap must land inside the page's transaction
(else the test proves nothing); how long it took to be stored is written out (a figure, not asserted)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright

from tests.backend.media_api.live import LiveServer
from tests.pwa_static.browser import (
    LONG,
    Api,
    Console,
    answer,
    article,
    cold_start,
    device,
    first_page,
    idb_get,
    idb_mutations,
    login,
    open_inspection,
    wait_controlled,
    wait_synced,
)
from tests.pwa_static.conftest import SHOTS
from tests.pwa_static.test_navigation_and_undo import ARTICLES

TABLET_CPU = 4
NOTES = 816  # a clinic's first pull is about that many rows
FIRST, SECOND = ARTICLES[0], ARTICLES[1]

# Observes IndexedDB's readwrite transactions and the taps (performance.now()); passes every call through.
SPY = """(() => {
  const spy = { tx: [], taps: [] };
  window.__tick = spy;
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (stores, mode, options) {
    const tx = transaction.call(this, stores, mode, options);
    if (mode === 'readwrite') {
      const seen = { stores: [].concat(stores), openedAt: performance.now(), doneAt: null };
      spy.tx.push(seen);
      tx.addEventListener('complete', () => { seen.doneAt = performance.now(); });
    }
    return tx;
  };
  document.addEventListener('click', () => spy.taps.push(performance.now()), true);
})();"""

# the pull's page transaction (it writes the `state` store) opened and not yet complete
APPLYING = "() => window.__tick.tx.some((t) => t.stores.includes('state') && t.doneAt === null)"


def teammate_notes(api: Api, inspection_id: str, count: int) -> None:
    """A teammate's device adds `count` notes (pushes of at most 500, the server's limit)."""
    client = f"teammate-{uuid.uuid4().hex[:8]}"
    for start in range(0, count, 500):
        mutations = [
            {
                "id": n + 1,
                "hlc": f"h{n + 1:06d}",
                "name": "addNote",
                "args": {
                    "inspectionId": inspection_id,
                    "itemCode": ARTICLES[n % len(ARTICLES)],
                    "noteId": str(uuid.uuid4()),
                    "text": f"第{n + 1}条记录：现场查看台账与登记本，记录齐全。",
                },
            }
            for n in range(start, min(start + 500, count))
        ]
        body = {"protocolVersion": 1, "clientGroupId": client, "clientId": client, "mutations": mutations}
        response = api.http.post("/api/sync/push", json=body)
        response.raise_for_status()
        assert {r["status"] for r in response.json()["results"]} == {"applied"}


def spied(page: Page) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(page.evaluate("() => JSON.stringify(window.__tick)"))
    return seen


def tap_during_a_big_page(page: Page, api: Api, inspection_id: str, item: str, value: str) -> None:
    """The teammate's notes arrive in one pull page and the grade is tapped while the device applies it; returns
    once the tap shows, and shows as stored on the device (no longer `data-saving`)."""
    teammate_notes(api, inspection_id, NOTES)
    page.click("[data-testid=sync-now]")
    page.wait_for_function(APPLYING, timeout=LONG, polling=5)
    answer(page, item, value)  # the tap shows at once (optimistic)
    article(page, item).locator(".answers:not([data-saving])").wait_for(timeout=LONG)


def the_tap(seen: dict[str, Any]) -> tuple[float, float, float | None]:
    """When the last tap landed, when its mutation was stored and when the page's transaction ended (None: not
    yet). The tap must have landed inside the page's transaction, else the test proves nothing."""
    tap: float = seen["taps"][-1]
    apply = [t for t in seen["tx"] if "state" in t["stores"] and t["openedAt"] <= tap][-1]
    assert apply["doneAt"] is None or apply["doneAt"] > tap, (
        "the tap did not land inside the page's transaction"
    )
    queued = [t for t in seen["tx"] if t["stores"][:2] == ["meta", "mutations"] and t["openedAt"] >= tap]
    assert queued[0]["doneAt"] is not None, "the tap showed as saved before it was stored"
    return tap, queued[0]["doneAt"], apply["doneAt"]


def test_a_grade_tapped_while_a_big_page_is_applied_is_stored_at_once_and_survives_closing_the_browser(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    api = Api(server.url, "inspector2")
    inspection_id = api.inspection_id("county")
    profile = tmp_path / "tablet"
    with device(playwright, profile, console) as tablet:
        tablet.add_init_script(SPY)
        page = first_page(tablet)
        login(page, server.url, "inspector1")
        wait_controlled(page)  # the restart offline below is answered by the worker
        open_inspection(page, inspection_id)
        wait_synced(page)
        # a tablet's CPU (4x slower than this machine's, as bench/pwa_bench.py takes it)
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": TABLET_CPU})

        # the tap is stored while the page is still being applied, not queued behind it
        tap_during_a_big_page(page, api, inspection_id, FIRST, "B")
        tap, stored, applied = the_tap(spied(page))
        sys.stdout.write(
            f"\na tap stored {stored - tap:.0f} ms after it landed, inside a pull page of {NOTES} notes\n"
        )
        assert applied is None or stored < applied
        wait_synced(page)

        # then the browser is closed as soon as a tap shows as stored
        tap_during_a_big_page(page, api, inspection_id, SECOND, "A")
        the_tap(spied(page))

    with device(playwright, profile, console, offline=True) as tablet:
        page = first_page(tablet)
        cold_start(page, tablet, server.url, offline=True)
        ticks = [
            (m["args"]["itemCode"], m["args"]["value"])
            for m in idb_mutations(page)
            if m["name"] == "setAnswer"
        ]
        # queued, or already on the server (a push may leave before the browser is gone): shown either way
        on_server = api.pull().get(f"answer/{inspection_id}/{SECOND}/value") or {}
        assert (SECOND, "A") in ticks or on_server.get("value") == "A", (ticks, on_server)
        open_inspection(page, inspection_id)
        for item, value in ((FIRST, "B"), (SECOND, "A")):
            chosen = article(page, item).locator(f"[data-testid=answer][data-value='{value}']")
            assert chosen.get_attribute("aria-pressed") == "true", item
        page.screenshot(path=str(SHOTS / "tick-after-restart.png"))
    api.close()


# IndexedDB as version 2 of the app left it: the pull's cookie in `meta`
VERSION_2 = """() => new Promise((done, failed) => {
  const open = indexedDB.open('fieldcheck', 2);
  open.onupgradeneeded = () => {
    const db = open.result;
    for (const name of ['meta', 'state']) db.createObjectStore(name);
    db.createObjectStore('mutations', { keyPath: 'id' });
    db.createObjectStore('photos', { keyPath: 'photoId' }).createIndex('byInspection', 'inspectionId');
    db.createObjectStore('standards', { keyPath: 'id' });
    db.createObjectStore('thumbs', { keyPath: 'photoId' });
    open.transaction.objectStore('meta').put('eyJ2ZXJzaW9uIDIifQ', 'cookie');
  };
  open.onsuccess = () => { open.result.close(); done(true); };
  open.onerror = () => failed(open.error);
})"""


def test_a_device_upgraded_from_version_2_keeps_its_cookie(
    playwright: Playwright, server: LiveServer, console: Console, tmp_path: Path
) -> None:
    """The cookie moves from `meta` to `state` in the upgrade (else the next pull would be a full reset)."""
    with device(playwright, tmp_path / "tablet", console) as tablet:
        page = first_page(tablet)
        # a blank page of the app's origin (the app not loaded yet), no favicon asked
        blank = '<!doctype html><link rel="icon" href="data:,">'
        page.route(server.url + "/blank", lambda route: route.fulfill(content_type="text/html", body=blank))
        page.goto(server.url + "/blank")
        page.evaluate(VERSION_2)
        page.goto(server.url + "/")
        page.wait_for_selector("input[name=username]", timeout=LONG)
        page.wait_for_function(
            "async () => (await indexedDB.databases()).some((d) => d.version === 3)", timeout=LONG
        )
        assert idb_get(page, "state", "cookie") == "eyJ2ZXJzaW9uIDIifQ"
        assert idb_get(page, "meta", "cookie") is None
