"""The app's pure functions, run in Chromium on the app's own files (served from disk by a route, no server)."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Playwright, Route

from tests.pwa_static.browser import ARGS, CHROMIUM

PWA = Path(__file__).resolve().parents[2] / "pwa_static"
ORIGIN = "http://app.test"


@pytest.fixture
def page(playwright: Playwright) -> Iterator[Page]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    try:
        page = browser.new_page()

        def serve(route: Route) -> None:
            path = (PWA / route.request.url.removeprefix(ORIGIN + "/static/")).resolve()
            if PWA not in path.parents or not path.is_file():
                route.fulfill(status=404)
                return
            kind = "text/javascript" if path.suffix == ".js" else mimetypes.guess_type(path.name)[0]
            route.fulfill(status=200, body=path.read_bytes(), content_type=kind or "application/octet-stream")

        page.route(ORIGIN + "/static/**", serve)
        page.route(
            ORIGIN + "/",
            lambda route: route.fulfill(status=200, body="<!doctype html>", content_type="text/html"),
        )
        page.goto(ORIGIN + "/")
        yield page
    finally:
        browser.close()


def call(page: Page, module: str, function: str, *args: Any) -> Any:
    return page.evaluate(
        "async ([module, fn, args]) => JSON.stringify((await import(module))[fn](...args))",
        [f"{ORIGIN}/static/{module}", function, list(args)],
    )


def test_rejected_photos_are_not_counted_as_queued(page: Page) -> None:
    photos = [
        {"photoId": "q", "blob": {}, "state": "queued", "size": 10},
        {"photoId": "u", "blob": {}, "state": "uploading", "size": 20},
        {"photoId": "r", "blob": {}, "state": "rejected", "size": 400},
        {"photoId": "s", "blob": None, "state": "stored", "size": 800},
    ]
    held = json.loads(call(page, "sync/engine.js", "heldPhotos", photos))
    assert [p["photoId"] for p in held] == ["q", "u"]
