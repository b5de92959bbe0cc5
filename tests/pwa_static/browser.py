"""Real headless Chromium (Debian's) driven by Playwright, against a real `fieldcheck serve` process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.backend.media_api.helpers import noisy_jpeg

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
TABLET = {"width": 768, "height": 1024}
LONG = 60_000
NETWORK_CUT = "Failed to load resource: net::ERR_"


@dataclass
class Console:
    """Console errors and page errors seen during a journey (there must be none)."""

    errors: list[str] = field(default_factory=list)
    # lines a journey causes on purpose, e.g. the 401 that tells the app its sign-in expired
    expected: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        def on_console(message: ConsoleMessage) -> None:
            # the browser's own line for a connection the test cut or took offline is not the app's error
            # (a server's error status is still caught: "the server responded with a status of …")
            if message.type != "error" or message.text.startswith(NETWORK_CUT):
                return
            if not any(text in message.text for text in self.expected):
                self.errors.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: pageerror {error}"))
        return page


@contextmanager
def device(
    playwright: Playwright,
    profile: Path,
    console: Console,
    *,
    offline: bool = False,
    viewport: dict[str, int] = TABLET,
) -> Iterator[BrowserContext]:
    """A tablet: a persistent profile, so closing and reopening keeps IndexedDB and the service worker."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport=viewport,
        offline=offline,
        locale="zh-CN",
    )
    context.on("page", console.watch)
    for page in context.pages:
        console.watch(page)
    try:
        yield context
    finally:
        context.close()


def first_page(context: BrowserContext) -> Page:
    return context.pages[0] if context.pages else context.new_page()


def login(page: Page, base: str, username: str, password: str = "demo") -> None:
    page.goto(base + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=sync-status]", timeout=LONG)


def wait_controlled(page: Page) -> None:
    """The service worker is active and controls the page (so a reload offline is answered by it)."""
    page.wait_for_function(
        "() => navigator.serviceWorker.controller !== null && navigator.serviceWorker.controller.state === 'activated'",
        timeout=LONG,
    )


def cold_start(page: Page, context: BrowserContext, base: str, *, offline: bool) -> None:
    """Open the app in a browser just started (a context made with `offline=offline`) and wait for its first
    render; offline, the page is answered by the service worker alone."""
    page.goto(base + "/")
    page.wait_for_selector("[data-testid=sync-status]", timeout=LONG)
    if offline:
        # a context started offline may have started its worker before the offline state reached it; set
        # again, it holds for every worker the context knows
        context.set_offline(False)
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("[data-testid=sync-status]", timeout=LONG)


def wait_synced(page: Page, timeout: float = LONG) -> None:
    page.wait_for_selector("[data-testid=sync-status][data-pending='0']", timeout=timeout)


def wait_pulled(page: Page) -> None:
    """This device has finished a sync since it started (what the account may see is on it)."""
    page.wait_for_selector("[data-testid=sync-status]:not([data-last-sync=''])", timeout=LONG)


def open_inspection(page: Page, inspection_id: str) -> None:
    page.click(f"[data-testid=inspection-card][data-inspection-id='{inspection_id}']")
    page.wait_for_selector("[data-testid=article]", timeout=LONG)


def article(page: Page, item: str) -> Any:
    return page.locator(f"[data-testid=article][data-item='{item}']")


def answer(page: Page, item: str, value: str) -> None:
    """Tap a grade and wait until the article shows it chosen. A tap that lands on a button the view replaced
    in the same moment (a re-render after navigating back) is lost, as on a tablet: tap again, up to 3 times."""
    button = article(page, item).locator(f"[data-testid=answer][data-value='{value}']")
    for attempt in range(3):
        button.click()
        button.wait_for(state="attached")
        try:
            page.wait_for_function(
                "([item, value]) => document.querySelector(`[data-testid=article][data-item='${item}'] "
                "[data-testid=answer][data-value='${value}']`)?.getAttribute('aria-pressed') === 'true'",
                arg=[item, value],
                timeout=LONG / 3,
            )
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def jpeg_files(folder: Path, count: int) -> list[Path]:
    """Real JPEG photos with EXIF capture time and GPS, as a camera would write them."""
    from datetime import UTC, datetime

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"evidence-{n + 1}.jpg"
        path.write_bytes(
            noisy_jpeg(
                1200, 900, gps=(30.65 + n / 1000, 104.06), taken=datetime(2026, 11, 20, 9, n, tzinfo=UTC)
            )
        )
        paths.append(path)
    return paths


# every Api client not closed yet (closed after each test by the conftest's fixture)
OPEN_CLIENTS: list[Api] = []


def close_open_clients() -> None:
    """Close the Api clients a journey left open (it failed before its close()): their sockets would otherwise
    be collected later, inside the next test, as an unraisable ResourceWarning that fails it instead."""
    while OPEN_CLIENTS:
        OPEN_CLIENTS[-1].close()


class Api:
    """The server as the office would check it: plain HTTP, no browser."""

    def __init__(self, base: str, username: str, password: str = "demo") -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        OPEN_CLIENTS.append(self)
        token = self.http.post("/api/auth/login", json={"username": username, "password": password}).json()[
            "token"
        ]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def pull(self) -> dict[str, Any]:
        body = {"protocolVersion": 1, "clientGroupId": "checker", "cookie": None}
        response = self.http.post("/api/sync/pull", json=body)
        response.raise_for_status()
        return {op["key"]: op.get("value") for op in response.json()["patch"]}

    def receipt(self, inspection_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/inspections/{inspection_id}/receipt")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def inspection_id(self, stage: str) -> str:
        rows = self.http.get("/api/assignments").json()
        return str(next(row["inspectionId"] for row in rows if row["stage"] == stage))

    def close(self) -> None:
        self.http.close()
        if self in OPEN_CLIENTS:
            OPEN_CLIENTS.remove(self)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Reads the app's IndexedDB from the page (plain IndexedDB: the test does not rely on the app's modules);
# the body sees `db` and `ask(request)`.
_IDB_READ = """async () => {
  const ask = (request) => new Promise((ok, err) => { request.onsuccess = () => ok(request.result); request.onerror = err; });
  const db = await ask(indexedDB.open('fieldcheck'));
  try { %s } finally { db.close(); }
}"""


def idb_counts(page: Page) -> dict[str, int]:
    """How many queued mutations and photos the page's IndexedDB holds."""
    result: str = page.evaluate(
        _IDB_READ
        % """const count = (store) => ask(db.transaction(store).objectStore(store).count());
             return JSON.stringify({ mutations: await count('mutations'), photos: await count('photos') });"""
    )
    counts: dict[str, int] = json.loads(result)
    return counts


def idb_mutations(page: Page) -> list[dict[str, Any]]:
    """The queued mutations the page's IndexedDB holds, in order."""
    result: str = page.evaluate(
        _IDB_READ
        % "return JSON.stringify(await ask(db.transaction('mutations').objectStore('mutations').getAll()));"
    )
    mutations: list[dict[str, Any]] = json.loads(result)
    return mutations


def idb_get(page: Page, store: str, key: str) -> Any:
    """One value of the page's IndexedDB (None when absent)."""
    result: str = page.evaluate(
        _IDB_READ
        % "return JSON.stringify((await ask(db.transaction(%r).objectStore(%r).get(%r))) ?? null);"
        % (store, store, key)
    )
    return json.loads(result)


def session_expiry(page: Page) -> str:
    """When the token the app holds expires (ISO 8601, from the login answer it stored)."""
    expires: str = page.evaluate(
        _IDB_READ % "return (await ask(db.transaction('meta').objectStore('meta').get('session'))).expiresAt;"
    )
    return expires


def confirm(page: Page) -> None:
    """Accept the confirmation dialog on screen (a summary before an action that cannot be undone)."""
    page.locator("[data-testid=confirm-dialog] >> visible=true").locator("[data-testid=confirm-ok]").click()


def wait_thumbs(api: Api, *inspections: str) -> None:
    """Every photo of the inspections has its thumbnail (the reconciliation shows them; a busy machine's
    derivative worker may lag behind the upload)."""
    deadline = time.monotonic() + 180
    for inspection in inspections:
        for photo in api.receipt(inspection)["photos"]:
            while (
                api.http.get(f"/api/photos/{photo['photoId']}/thumb", follow_redirects=True).status_code
                != 200
            ):
                assert time.monotonic() < deadline, f"no thumbnail for {photo['photoId']}"
                time.sleep(0.5)
