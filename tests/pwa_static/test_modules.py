"""The app's pure functions, run in Chromium on the app's own files (served from disk by a route, no server)."""

from __future__ import annotations

import json
import mimetypes
import re
import time
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


def test_only_the_api_module_sends_the_bearer_token() -> None:
    """Sign-out waits for the requests in flight and sends none with the token being revoked; that holds only if
    every authenticated request goes through lib/api.js (thumbnails, originals, downloads, tus's headers).
    sw.js fetches static files, without a token."""
    offenders = []
    for path in sorted(PWA.rglob("*.js")):
        relative = path.relative_to(PWA).as_posix()
        if relative.startswith("vendor/") or relative == "lib/api.js":
            continue
        text = path.read_text(encoding="utf-8")
        if "Authorization" in text or "Bearer" in text:
            offenders.append(f"{relative}: sends the token itself")
        if "fetch(" in text and relative != "sw.js":
            offenders.append(f"{relative}: calls fetch")
    assert offenders == []


def test_sign_out_waits_for_a_file_in_flight_and_refuses_new_ones(page: Page) -> None:
    """lib/api.js: api.blob is tracked like the JSON requests: closeWith runs the sign-out only after a
    thumbnail in flight has arrived, and a file asked for while closing is refused without being sent."""
    sent: list[str] = []

    def thumb(route: Route) -> None:
        sent.append(route.request.headers.get("authorization", ""))
        time.sleep(0.3)
        route.fulfill(status=200, body=b"thumb", content_type="image/jpeg")

    page.route(ORIGIN + "/api/photos/**", thumb)
    order = page.evaluate(
        """async (url) => {
          const { createApi } = await import(url);
          const api = createApi(() => 'tok');
          const order = [];
          const inFlight = api.blob('/api/photos/p1/thumb').then(({ blob }) => order.push(`thumb ${blob.size}`));
          await new Promise((r) => setTimeout(r, 50));
          await api.closeWith(async () => {
            order.push('sign-out');
            await api.blob('/api/photos/p2/thumb').catch((err) => order.push(`refused ${err.constructor.name}`));
          });
          await inFlight;
          return order;
        }""",
        f"{ORIGIN}/static/lib/api.js",
    )
    assert order == ["thumb 5", "sign-out", "refused NetworkError"]
    assert sent == ["Bearer tok"]


def test_components_read_app_from_the_context_not_a_prop() -> None:
    """`app` reaches components through one Preact context (lib/app_context.js, provided in app.js): no view
    component takes it as a prop, and no template passes it down."""
    component = re.compile(r"function [A-Z]\w*\(\{[^}]*\bapp\b[^}]*\}")
    passed = re.compile(r"\bapp=\$\{|\{ app,|, app \}|, app,")
    offenders = []
    for path in sorted((PWA / "views").rglob("*.js")):
        text = path.read_text(encoding="utf-8")
        relative = path.relative_to(PWA).as_posix()
        offenders += [f"{relative}: {m.group(0)}" for m in component.finditer(text)]
        offenders += [f"{relative}: passes app=" for _ in passed.finditer(text)]
    assert "AppContext.Provider" in (PWA / "app.js").read_text(encoding="utf-8")
    assert offenders == []


def test_screen_view_models_are_pure_functions_in_lib(page: Page) -> None:
    """What the screens used to compute inside their components, now in lib/: the reconciliation table, the
    round's facilities, the plan's suggestions and conflicts, an inspection's unsent photos and refusals, and
    who wrote a conflict's side."""
    data = {
        "selfAssessment": {"inspectionId": "s", "stage": "self"},
        "reviews": [{"inspectionId": "c", "stage": "county"}],
        "items": [
            {
                "item": "1.1",
                "title": "床位",
                "selfValue": "A",
                "stages": [{"stage": "county", "value": "C", "wide": True}],
            },
            {
                "item": "1.2",
                "title": "门诊",
                "selfValue": "B",
                "stages": [{"stage": "county", "value": "B", "wide": False}],
            },
        ],
    }
    receipts = {"c": {"photos": [{"photoId": "p", "itemCode": "1.1", "state": "stored"}]}}
    table = json.loads(call(page, "lib/reconcile.js", "reconcileTable", data, receipts))
    assert [s["inspectionId"] for s in table["stages"]] == ["s", "c"]
    assert [(r["item"], r["wide"]) for r in table["rows"]] == [("1.1", True), ("1.2", False)]
    assert [[p["photoId"] for p in cell["photos"]] for cell in table["rows"][0]["cells"]] == [[], ["p"]]
    assert json.loads(call(page, "lib/reconcile.js", "reconcileTable", None, {})) == {
        "stages": [],
        "rows": [],
    }
    inspections = [
        {"facilityId": "f1", "facilityName": "甲", "stage": "self"},
        {"facilityId": "f2", "facilityName": "乙", "stage": "self"},
        {"facilityId": "f1", "facilityName": "甲", "stage": "county"},
    ]
    facilities = json.loads(call(page, "lib/reconcile.js", "facilitiesOfRound", inspections))
    assert [(f["id"], len(f["stages"])) for f in facilities] == [("f1", 2), ("f2", 1)]
    pending = [
        json.loads(call(page, "lib/reconcile.js", "receiptPending", photo))
        for photo in (
            {"state": "received"},
            {"state": "stored", "thumbReady": False, "pageImage": True},
            {"state": "stored", "thumbReady": True, "pageImage": True},
            {"state": "stored", "thumbReady": False, "kind": "document", "pageImage": False},
        )
    ]
    assert pending == [True, True, False, False]

    result = page.evaluate(
        """async ([plan, inspection, conflicts]) => {
          const { planSuggestions, improvementConflictsOf } = await import(plan);
          const { unsentPhotoCount, refusalsByItem, receiptInspections } = await import(inspection);
          const { candidateAuthorText, knownName } = await import(conflicts);
          const grades = new Map([['1.1', { value: 'C' }], ['1.2', { value: 'A' }], ['1.3', { value: 'D' }],
                                  ['1.4', { na: true, value: 'NA' }]]);
          const targets = { ranks: { A: 4, B: 3, C: 2, D: 1 }, targets: { '1.1': 'B', '1.2': 'B', '1.3': 'B', '1.4': 'B' } };
          const index = new Map([['1.1', { article: { title: '床位' } }]]);
          const suggestions = planSuggestions({ grades, targets, items: [{ itemCode: '1.3' }], index });
          const view = new Map([
            ['conflict/1', { registerKey: 'improvement/x/owner', status: 'open', inspectionId: 'i' }],
            ['conflict/2', { registerKey: 'improvement/y/owner', status: 'resolved', inspectionId: 'i' }],
            ['conflict/3', { registerKey: 'answer/i/1.1/value', status: 'open', inspectionId: 'i' }],
          ]);
          const photos = new Map([
            ['a', { inspectionId: 'i', hasBytes: true, state: 'queued' }],
            ['b', { inspectionId: 'i', hasBytes: true, state: 'received' }],
            ['c', { inspectionId: 'j', hasBytes: true, state: 'queued' }],
          ]);
          const refusals = refusalsByItem([
            { args: { inspectionId: 'i', itemCode: 'r1:2.1' } }, { args: { inspectionId: 'j', itemCode: '2.1' } },
          ], 'i');
          const t = (code, params) => `${code} ${JSON.stringify(params || {})}`;
          const listed = { team: [{ userId: 'u1', displayName: '专家甲', username: 'e1' }] };
          return {
            suggestions, planConflicts: improvementConflictsOf(view, 'i').length,
            unsent: unsentPhotoCount(photos, 'i'), refusals: [...refusals.keys()],
            receipts: receiptInspections({
              me: { id: 'u1', role: 'inspector' },
              assignments: [{ inspectionId: 'i', team: [{ userId: 'u1' }] }, { inspectionId: 'k', team: [] },
                            { inspectionId: 'm', team: [{ userId: 'u1' }] }],
              photos,
              confirmed: new Map([['photo/1', { inspectionId: 'i', sha256: 'x' }], ['photo/2', { inspectionId: 'j', sha256: 'y' }],
                                  ['photo/3', { inspectionId: 'k', sha256: 'z' }]]),
            }),
            authors: [
              candidateAuthorText(t, { userName: '王医生', deviceName: '前台平板' }),
              candidateAuthorText(t, { userId: 'u1' }, knownName(listed, null, 'u1')),
              candidateAuthorText(t, { userId: 'u9', clientId: 'abcdef123456', deviceName: '前台平板' }),
              candidateAuthorText(t, { userId: 'u9', clientId: 'abcdef123456' }, knownName(listed, { id: 'me' }, 'u9')),
            ],
          };
        }""",
        [
            f"{ORIGIN}/static/lib/plan.js",
            f"{ORIGIN}/static/lib/inspection.js",
            f"{ORIGIN}/static/lib/conflicts.js",
        ],
    )
    assert result["suggestions"] == [{"number": "1.1", "grade": "C", "target": "B", "title": "床位"}]
    assert (result["planConflicts"], result["unsent"], result["refusals"]) == (1, 1, ["2.1"])
    # the team's inspection and the one holding this device's photo, each with photos; not another team's
    assert sorted(result["receipts"]) == ["i", "j"]
    assert result["authors"] == [
        'nav.conflictSide {"user":"王医生","device":"前台平板"}',
        "专家甲",
        'nav.conflictDevice {"device":"前台平板"}',
        "nav.conflictSomeone {}",
    ]


def test_the_task_cards_and_the_reading_order_are_view_models(page: Page) -> None:
    """lib/inspection.js assignmentCards (the task list) and lib/navigation.js readingOrder (the inspection
    screen's order of articles and sections), formerly computed inside their components."""
    result = page.evaluate(
        """async ([inspection, navigation]) => {
          const { assignmentCards } = await import(inspection);
          const { readingOrder } = await import(navigation);
          const view = new Map([
            ['inspection/i', { id: 'i', facilityId: 'f', standardVersionId: 'missing' }],
            ['facility/f', { id: 'f', name: '甲卫生院' }],
            ['improvement/1', { inspectionId: 'i', status: 'done' }],
            ['improvement/2', { inspectionId: 'i', status: 'open' }],
          ]);
          const cards = assignmentCards({
            view, assignments: [{ inspectionId: 'i', answeredCount: 3, articleCount: 43 }], standards: new Map(), checklists: new Map(),
            photos: new Map([['p', { inspectionId: 'i', hasBytes: true, state: 'queued' }],
                             ['q', { inspectionId: 'i', hasBytes: true, state: 'stored' }]]),
            pending: [{ args: { inspectionId: 'i' } }, { args: { inspectionId: 'other' } }],
          }).map((c) => ({ facility: c.facility.name, answered: c.answered, total: c.total, toSend: c.toSend,
                           queued: c.queued, plan: c.planCount }));
          const order = readingOrder({ sections: [
            { code: '1', title: '', articles: [{ number: '1.0.1' }], sections: [
              { code: '1.1', title: '', articles: [{ number: '1.1.1' }, { number: '1.1.2' }] }] },
            { code: '2', title: '', articles: [{ number: '2.0.1' }] },
          ] });
          return { cards, articles: [...order.articles], sections: [...order.sections], members: [...order.members] };
        }""",
        [f"{ORIGIN}/static/lib/inspection.js", f"{ORIGIN}/static/lib/navigation.js"],
    )
    assert result["cards"] == [
        {
            "facility": "甲卫生院",
            "answered": 3,
            "total": 43,
            "toSend": 1,
            "queued": 1,
            "plan": {"done": 1, "total": 2},
        }
    ]
    assert [a for a, _ in result["articles"]] == ["1.0.1", "1.1.1", "1.1.2", "2.0.1"]
    assert dict(result["sections"]) == {"1": 0, "1.1": 1, "2": 3}
    assert dict(result["members"])["1"] == ["1.0.1", "1.1.1", "1.1.2"]


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


def test_the_app_counts_a_rater_answered_both_ways_as_the_server_does(page: Page) -> None:
    """A rater with its overall score (the checklist's ``raters[].overall``) and article answers too: the server
    finds the answers not fitting the standard (sync/readiness.py blockers: blockerInvalid naming the rater by a
    vocabulary code and linking the articles); the app's count says the same blocker before anything is sent,
    from the checklist alone."""
    from backend.standards import load_shipped
    from backend.sync_api.rules import StandardItemRules
    from sync.readiness import SubmitState, blockers

    rules = StandardItemRules(load_shipped("school-canteen-checklist"))
    checklist = json.loads(msgspec.json.encode(rules.checklist()))
    first, *others = checklist["raters"]
    articles = checklist["articles"]
    answers: dict[str, Any] = {first["overall"]: 80}
    answers.update({a["items"][first["code"]]: True for a in articles[:2]})
    answers.update({a["items"][r["code"]]: True for a in articles for r in others})
    state = SubmitState(status="in_progress", conflict_items=(), answers=answers, photos=())
    server = [
        {"key": b.code, "params": b.params, "links": b.links}
        for b in blockers(rules, state)
        if b.code == "blockerInvalid"
    ]
    view = [
        [f"answer/i/{code}/value", {"inspectionId": "i", "itemCode": code, "field": "value", "value": value}]
        for code, value in answers.items()
    ]
    found = page.evaluate(
        """async ([url, i18n, view, checklist]) => {
          const { countBlockers } = await import(url);
          const { translate } = await import(i18n);
          const blockers = countBlockers(new Map(view), 'i', checklist);
          return { blockers, said: blockers.map((b) => translate('zh', b.key, b.params)) };
        }""",
        [f"{ORIGIN}/static/lib/inspection.js", f"{ORIGIN}/static/lib/i18n.js", view, checklist],
    )
    links = [a["number"] for a in articles[:2]]
    detail = {
        "code": "invalidRaterBothWays",
        "params": {"rater": first["label"], "n": 2, "items": "、".join(links)},
    }
    assert server == [{"key": "blockerInvalid", "params": {"detail": detail}, "links": links}]
    assert [b for b in found["blockers"] if b["key"] == "blockerInvalid"] == server
    assert (
        f"答案与标准不符：{first['label']}既填了总分，又逐条评了 2 条（{'、'.join(links)}）：这些条款已评，"
        "但两种评法并存无效，请删去总分或逐条的评定，只保留一种"
    ) in found["said"]
