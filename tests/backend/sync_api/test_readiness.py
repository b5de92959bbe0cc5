"""The app's checklist and the receipt's blockers say what the submit check refuses on (sync/readiness.py), for
a graded standard (基层行), a points standard with a one-vote veto (MCH) and a weighted standard answered per
rater (the canteen appraisal): answering exactly the checklist's codes is what a submit asks, and the receipt's
blockers are empty exactly when a submit goes through."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import httpx
import pytest

from backend.db import write_tx
from backend.inspections.tables import Inspection
from backend.programme.demo import CANTEEN_STANDARD, MCH_STANDARD, load_programme_demo
from backend.standards.loader import parse_standard, shipped_bytes
from backend.standards.services import save_standard
from sync.client import SyncClient
from sync.tables import AnswerRegister
from tests.backend.sync_api.sync_support import (
    Devices,
    add_camera_photo,
    answered,
    camera_photo,
    upload_all,
)

TOWNSHIP = "cn-thc-capacity-2018"
# the blocker each submit refusal shows as
SHOWN_AS = {
    "open_conflicts": {"blockerConflict"},
    "incomplete": {"blockerPrereq", "blockerVeto", "blockerUnanswered", "blockerInvalid"},
    "evidence_missing": {"blockerEvidence", "blockerDocuments"},
    "documents_on_the_way": {"blockerDocuments"},
}


async def _checklist(client: httpx.AsyncClient, headers: dict[str, str], standard: str) -> dict[str, Any]:
    response = await client.get(f"/api/standards/{standard}/checklist", headers=headers)
    assert response.status_code == 200, response.text
    again = await client.get(
        f"/api/standards/{standard}/checklist", headers={**headers, "If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    checklist: dict[str, Any] = response.json()
    return checklist


async def _blockers(
    client: httpx.AsyncClient, headers: dict[str, str], inspection: UUID
) -> list[dict[str, Any]]:
    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=headers)).json()
    blockers: list[dict[str, Any]] = receipt["blockers"]
    return blockers


async def _submit(device: SyncClient, inspection: UUID) -> str:
    """The submit's outcome: "applied" or its refusal's reason."""
    mutation = device.submit_inspection(inspection)
    await device.push()
    result = device.results[mutation]
    return result.status if result.status == "applied" else str(result.reason)


async def _agree(
    client: httpx.AsyncClient, headers: dict[str, str], device: SyncClient, inspection: UUID
) -> tuple[list[dict[str, Any]], str]:
    """The receipt's blockers, then a submit: blockers exactly when refused, of the refusal's kind."""
    blockers = await _blockers(client, headers, inspection)
    outcome = await _submit(device, inspection)
    if outcome == "applied":
        assert blockers == []
    else:
        assert SHOWN_AS[outcome] & {b["code"] for b in blockers}, (outcome, blockers)
    return blockers, outcome


def _codes(blockers: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [b for b in blockers if b["code"] == code]


async def test_graded_the_checklist_names_what_submit_asks(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    devices = Devices(client)
    headers = await devices.auth("inspector1")
    device = await devices.device("inspector1")
    checklist = await _checklist(client, headers, TOWNSHIP)
    assert checklist["answerKind"] == "graded"
    assert checklist["grades"] == ["A", "B", "C", "D"]  # best first
    assert checklist["raters"] == []
    assert checklist["vetoes"] == []
    assert "application/pdf" in checklist["documentTypes"]
    numbers = [a["number"] for a in checklist["articles"]]

    blockers, outcome = await _agree(client, headers, device, review)
    assert outcome == "incomplete"
    assert _codes(blockers, "blockerPrereq")[0]["params"]["items"] == "、".join(checklist["prerequisites"])
    unanswered = _codes(blockers, "blockerUnanswered")[0]
    assert unanswered["links"] == numbers
    assert unanswered["params"]["n"] == len(numbers)

    # every code the checklist lists, answered: nothing is unanswered, and what is left is exactly the
    # checklist's evidence minimums
    for code in checklist["prerequisites"]:
        device.set_answer(review, code, "value", True)
    for article in checklist["articles"]:
        for code in article["items"].values():
            device.set_answer(review, code, "value", checklist["grades"][-1])
    await device.push()
    blockers, outcome = await _agree(client, headers, device, review)
    assert outcome == "evidence_missing"
    assert not _codes(blockers, "blockerUnanswered")
    assert not _codes(blockers, "blockerPrereq")
    short = {b["params"]["item"] for b in _codes(blockers, "blockerEvidence")}
    assert short == {a["number"] for a in checklist["articles"] if a["minPhotos"] > 0}
    assert all(b["params"]["have"] == 0 and b["links"] == [b["params"]["item"]] for b in blockers)
    documents = {b["params"]["item"] for b in _codes(blockers, "blockerDocuments")}
    assert documents == {a["number"] for a in checklist["articles"] if a["minDocuments"] > 0}


@pytest.fixture
async def programmes(demo: dict[str, Any]) -> dict[str, Any]:
    return {**demo, **await load_programme_demo(demo)}


async def test_points_a_veto_is_asked_like_an_article(
    client: httpx.AsyncClient, programmes: dict[str, Any]
) -> None:
    inspection = programmes["mch_self_inspections"][0]
    devices = Devices(client)
    headers = await devices.auth("admin")
    device = await devices.device("admin")
    checklist = await _checklist(client, headers, MCH_STANDARD)
    assert checklist["answerKind"] == "points"
    assert checklist["vetoes"] == ["V1"]
    assert checklist["grades"] == []

    blockers, outcome = await _agree(client, headers, device, inspection)
    assert outcome == "incomplete"
    assert _codes(blockers, "blockerVeto")[0]["params"] == {"items": "V1"}
    # every article answered, the veto not: the veto alone keeps it back
    for article in checklist["articles"]:
        device.set_answer(inspection, article["items"][""], "value", 0)
    await device.push()
    blockers, outcome = await _agree(client, headers, device, inspection)
    assert outcome == "incomplete"
    assert [b["code"] for b in blockers if b["code"] not in ("blockerEvidence", "blockerDocuments")] == [
        "blockerVeto"
    ]
    device.set_answer(inspection, "V1", "value", True)
    await device.push()
    if any(a["minPhotos"] or a["minDocuments"] for a in checklist["articles"]):
        blockers, outcome = await _agree(client, headers, device, inspection)
        assert outcome == "evidence_missing"
    else:
        blockers, outcome = await _agree(client, headers, device, inspection)
        assert (blockers, outcome) == ([], "applied")
        assert await _blockers(client, headers, inspection) == []  # submitted: nothing to show


async def _appraisal(programmes: dict[str, Any]) -> UUID:
    """A canteen appraisal in progress (a weighted standard answered per rater)."""
    async with write_tx():
        appraisal = Inspection(
            facility=programmes["school"],
            round=programmes["school_round"],
            stage="self",
            standard_version_id=CANTEEN_STANDARD,
            status="in_progress",
        )
        await appraisal.save()
    inspection: UUID = appraisal.id
    return inspection


async def test_weighted_every_rater_answers_every_article(
    client: httpx.AsyncClient, programmes: dict[str, Any]
) -> None:
    inspection = await _appraisal(programmes)
    devices = Devices(client)
    headers = await devices.auth("admin")
    device = await devices.device("admin")
    checklist = await _checklist(client, headers, CANTEEN_STANDARD)
    raters = [r["code"] for r in checklist["raters"]]
    assert checklist["answerKind"] == "passfail"
    assert len(raters) == 4
    assert all(a["items"] == {r: f"{r}:{a['number']}" for r in raters} for a in checklist["articles"])

    # one rater's whole sheet: the others' articles are still unanswered (a rater with nothing at all names
    # every one of its articles)
    first, *others = raters
    for article in checklist["articles"]:
        device.set_answer(inspection, article["items"][first], "value", True)
    await device.push()
    blockers, outcome = await _agree(client, headers, device, inspection)
    assert outcome == "incomplete"
    unanswered = _codes(blockers, "blockerUnanswered")[0]
    assert unanswered["links"] == [a["number"] for a in checklist["articles"]]

    # every rater but one article of the last: that article alone
    last = checklist["articles"][-1]["number"]
    for article in checklist["articles"]:
        for rater in others:
            if not (rater == others[-1] and article["number"] == last):
                device.set_answer(inspection, article["items"][rater], "value", True)
    await device.push()
    blockers, outcome = await _agree(client, headers, device, inspection)
    assert outcome == "incomplete"
    assert _codes(blockers, "blockerUnanswered")[0]["links"] == [last]

    device.set_answer(inspection, checklist["articles"][-1]["items"][others[-1]], "value", False)
    await device.push()
    blockers, outcome = await _agree(client, headers, device, inspection)
    assert (blockers, outcome) == ([], "applied")


@pytest.mark.parametrize("overall_first", [True, False], ids=["overall-first", "articles-first"])
async def test_weighted_a_rater_with_an_overall_score_and_articles_is_refused_either_way(
    client: httpx.AsyncClient, programmes: dict[str, Any], overall_first: bool
) -> None:
    """A rater answered both ways (one overall score, the checklist's ``raters[].overall``, and its articles)
    does not fit the standard whichever was stored first: the receipt says blockerInvalid and the submit refuses
    (the overall score stored last used to replace the articles, and the submit went through)."""
    inspection = await _appraisal(programmes)
    devices = Devices(client)
    headers = await devices.auth("admin")
    device = await devices.device("admin")
    checklist = await _checklist(client, headers, CANTEEN_STANDARD)
    first = checklist["raters"][0]
    assert first["overall"] == first["code"]

    def articles() -> None:
        for article in checklist["articles"]:
            for code in article["items"].values():
                device.set_answer(inspection, code, "value", True)

    def overall() -> None:
        device.set_answer(inspection, first["overall"], "value", 80)

    for write in (overall, articles) if overall_first else (articles, overall):
        write()
        await device.push()
    blockers, outcome = await _agree(client, headers, device, inspection)
    assert outcome == "incomplete"
    assert [b["code"] for b in blockers] == ["blockerInvalid"]
    # said by a vocabulary code, as the app's count says it (tests/pwa_static/test_modules.py)
    numbers = [a["number"] for a in checklist["articles"]]
    listed = "、".join(numbers[:8]) + "…"
    params = {"rater": first["label"], "n": len(numbers), "items": listed}
    said = {"code": "invalidRaterBothWays", "params": params}
    assert blockers[0]["params"] == {"detail": said}
    assert blockers[0]["links"] == [a["number"] for a in checklist["articles"]]


async def test_an_open_conflict_blocks_as_the_submit_says(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    devices = Devices(client)
    headers = await devices.auth("inspector1")
    one = await devices.device("inspector1")
    two = await devices.device("inspector2")
    one.set_answer(review, "1.1.1", "value", "A")
    await one.push()
    await two.pull()
    one.set_answer(review, "1.1.1", "value", "B")
    two.set_answer(review, "1.1.1", "value", "C")
    await one.push()
    await two.push()
    blockers, outcome = await _agree(client, headers, one, review)
    assert outcome == "open_conflicts"
    assert _codes(blockers, "blockerConflict") == [
        {"code": "blockerConflict", "params": {"item": "1.1.1"}, "links": ["1.1.1"]}
    ]


NO_REQUIREMENTS = "test-thc-no-photo-requirements"


async def _without_photo_requirements() -> str:
    """The township standard whose photos need no capture time or location to count."""
    body = json.loads(shipped_bytes("township-2018"))
    body["id"] = NO_REQUIREMENTS

    def drop(node: Any) -> None:
        if isinstance(node, dict):
            if "minPhotos" in node:
                node["requireCaptureTime"] = node["requireLocation"] = False
            for child in node.values():
                drop(child)
        elif isinstance(node, list):
            for child in node:
                drop(child)

    drop(body)
    await save_standard(standard=parse_standard(json.dumps(body).encode()), actor_id=None, publish=True)
    return NO_REQUIREMENTS


async def _short_both_ways(
    client: httpx.AsyncClient, headers: dict[str, str], inspection: UUID
) -> list[tuple[str, str, int, int]]:
    """The receipt's shortArticles, asserted equal to its evidence blockers: (kind, article, have, need)."""
    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=headers)).json()
    short = [(s["evidence"], s["itemCode"], s["have"], s["required"]) for s in receipt["shortArticles"]]
    kinds = {"blockerEvidence": "photo", "blockerDocuments": "document"}
    blocked = [
        (kinds[b["code"]], b["params"]["item"], b["params"]["have"], b["params"]["need"])
        for b in receipt["blockers"]
        if b["code"] in kinds
    ]
    assert short == blocked
    return short


@pytest.mark.parametrize("required", [True, False], ids=["time-and-place", "no-requirements"])
async def test_short_articles_are_the_evidence_blockers(
    client: httpx.AsyncClient, demo: dict[str, Any], required: bool
) -> None:
    review = demo["review_inspection"]
    standard = TOWNSHIP
    if not required:
        standard = await _without_photo_requirements()
        await Inspection.update({Inspection.standard_version_id: standard}).where(Inspection.id == review)
    device, headers, needs = await answered(client, review, standard_id=standard)
    photos = []
    for item, count in needs.items():
        for _ in range(count):
            photo = camera_photo()
            photos.append(photo)
            add_camera_photo(device, review, item, photo)
    await device.push()

    # every minimum met by photos whose files have not arrived yet: they count only where the article asks
    # nothing of them, for the receipt as for the submit
    short = await _short_both_ways(client, headers, review)
    if required:
        assert short == [("photo", item, 0, need) for item, need in needs.items()]
    else:
        assert short == []
    await upload_all(client, headers, photos)
    assert await _short_both_ways(client, headers, review) == []
    blockers, outcome = await _agree(client, headers, device, review)
    assert (blockers, outcome) == ([], "applied")


@pytest.mark.parametrize("spoiled", [(2,), (5, 2)], ids=["one", "two"])
async def test_an_answer_the_standard_no_longer_allows_is_named_by_its_article(
    client: httpx.AsyncClient, demo: dict[str, Any], spoiled: tuple[int, ...]
) -> None:
    """A stored answer the engine refuses for another reason than a rater answered both ways (here a grade the
    standard does not have, as a revised standard would leave it): the blocker names its article by a
    vocabulary code, never in the engine's English; two such answers, two blockers in the checklist's order
    (the engine's words named only the first)."""
    review = demo["review_inspection"]
    done = await answered(client, review)
    await done.device.push()
    checklist = await _checklist(client, done.headers, TOWNSHIP)
    articles = [checklist["articles"][i] for i in spoiled]
    async with write_tx():
        for article in articles:
            await AnswerRegister.update({AnswerRegister.value: json.dumps("Z")}).where(
                (AnswerRegister.inspection_id == review)
                & (AnswerRegister.item_code == next(iter(article["items"].values())))
                & (AnswerRegister.field == "value")
            )
    blockers, outcome = await _agree(client, done.headers, done.device, review)
    assert outcome == "incomplete"
    invalid = _codes(blockers, "blockerInvalid")
    assert invalid == [
        {
            "code": "blockerInvalid",
            "params": {"detail": {"code": "invalidAnswerOf", "params": {"item": article["number"]}}},
            "links": [article["number"]],
        }
        for article in sorted(articles, key=checklist["articles"].index)
    ]
