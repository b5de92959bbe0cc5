"""The app's pure functions, run in Chromium on the app's own files (served from disk by a route, no server)."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
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


def test_the_photo_view_model_merges_device_rows_and_the_receipt(page: Page) -> None:
    """lib/inspection.js: mergedPhotos, the view model that used to live in the inspection screen: this
    device's own photo keeps its upload state, a teammate's takes the receipt's, with flags and notCounted."""
    merged = page.evaluate(
        """async (url) => {
          const { mergedPhotos } = await import(url);
          const view = new Map([
            ['photo/a', { id: 'a', inspectionId: 'i', itemCode: '1.1', size: 5, caption: 'door' }],
            ['photo/b', { id: 'b', inspectionId: 'i', itemCode: '1.2', size: 7, caption: '' }],
            ['photo/c', { id: 'c', inspectionId: 'i', itemCode: '1.2', size: 9, caption: '' }],
            ['photo/z', { id: 'z', inspectionId: 'other', itemCode: '1.1', size: 1, caption: '' }],
          ]);
          const local = new Map([['a', { photoId: 'a', itemCode: '1.1', state: 'uploading', flags: [] }]]);
          const receipt = { photos: [
            { photoId: 'a', state: 'received', flags: [{ code: 'no_location' }], notCounted: ['no_location'] },
            { photoId: 'b', state: 'awaiting_upload' },
            { photoId: 'c', state: 'rejected', reason: 'decode_failed' },
          ] };
          const teamThumbs = new Map([['b', 'blob:thumb-b']]);
          return mergedPhotos(view, 'i', { local, receipt, teamThumbs });
        }""",
        f"{ORIGIN}/static/lib/inspection.js",
    )
    by_id = {p["photoId"]: p for p in merged}
    assert set(by_id) == {"a", "b", "c"}
    assert (by_id["a"]["state"], by_id["a"]["caption"], by_id["a"]["notCounted"]) == (
        "uploading",
        "door",
        ["no_location"],
    )
    assert by_id["a"]["flags"] == [{"code": "no_location"}]
    assert "remote" not in by_id["a"]
    assert (by_id["b"]["state"], by_id["b"]["thumb"], by_id["b"]["remote"]) == (
        "queued",
        "blob:thumb-b",
        True,
    )
    assert (by_id["c"]["state"], by_id["c"]["reason"], by_id["c"]["thumb"]) == (
        "rejected",
        "decode_failed",
        None,
    )


def test_the_app_counts_a_raters_overall_score_as_the_server_does(page: Page) -> None:
    """lib/inspection.js countBlockers and progressOf against the server's own checklist of a weighted standard:
    a rater answered by one overall score (the checklist's ``raters[].overall``) has none of its articles
    unanswered, as ``answer_gaps`` (the submit's judgement) says; the app knows no rule for it."""
    from backend.standards import load_shipped
    from backend.sync_api.rules import StandardItemRules

    rules = StandardItemRules(load_shipped("school-canteen-checklist"))
    checklist = json.loads(msgspec.json.encode(rules.checklist()))
    first, second, *others = [r["code"] for r in checklist["raters"]]
    last = checklist["articles"][-1]
    answers: dict[str, Any] = {
        first: 80
    }  # the first rater's overall score (its own code, the checklist says)
    for rater in [second, *others]:
        for article in checklist["articles"]:
            if not (rater == second and article is last):
                answers[article["items"][rater]] = True

    def counted(answers: dict[str, Any]) -> Any:
        view = [
            [
                f"answer/i/{code}/value",
                {"inspectionId": "i", "itemCode": code, "field": "value", "value": value},
            ]
            for code, value in answers.items()
        ]
        return page.evaluate(
            """async ([url, view, checklist, raters]) => {
              const { countBlockers, progressOf } = await import(url);
              const v = new Map(view);
              return { blockers: countBlockers(v, 'i', checklist),
                       progress: raters.map((r) => progressOf(v, 'i', checklist, r).answered) };
            }""",
            [f"{ORIGIN}/static/lib/inspection.js", view, checklist, [first, second]],
        )

    # the second rater's last article alone is unanswered: the server names it, and so does the app
    assert rules.answer_gaps(answers)[1] == (last["items"][second],)
    found = counted(answers)
    unanswered = [b for b in found["blockers"] if b["key"] == "blockerUnanswered"]
    assert [b["links"] for b in unanswered] == [[last["number"]]]
    assert found["progress"] == [len(checklist["articles"]), len(checklist["articles"]) - 1]
    # that article answered too: nothing is missing for the server, nor for the app
    answers[last["items"][second]] = False
    assert rules.answer_gaps(answers)[1] == ()
    assert [b for b in counted(answers)["blockers"] if b["key"] == "blockerUnanswered"] == []
