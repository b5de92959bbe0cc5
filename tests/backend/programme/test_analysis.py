"""Rankings with ties, discrepancy rates per section, the round dashboard and the conflict queue."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx

from backend.audit.tables import AuditLog
from backend.programme.rankings import Place, places, rank_round
from backend.vocabulary import say
from sync.tables import AnswerRegister, NoteEntry, Photo, SyncClient, SyncConflict
from tests.backend.programme.support import sign_off
from tests.backend.review.test_conclusions import ARTICLES, open_conflict, other_city_office, put_answers
from tests.conftest import login


def test_competition_ranking_shares_ranks_on_ties() -> None:
    assert places({"a": 3, "b": 2, "c": 2, "d": 1}) == {
        "a": Place(1, 0, 4),
        "b": Place(2, 1, 4),
        "c": Place(2, 1, 4),
        "d": Place(4, 0, 4),
    }
    assert places({}) == {}


def test_round_ranking_groups_by_standard_and_region() -> None:
    regions = {
        "f1": ("std", "c1", "city", "prov"),
        "f2": ("std", "c1", "city", "prov"),
        "f3": ("std", "c2", "city", "prov"),
        "f4": ("other", "c2", "city", "prov"),  # another standard: never a peer
    }
    values = {"f1": {"1.1": 1.0}, "f2": {"1.1": 3.0}, "f3": {"1.1": 3.0}, "f4": {"1.1": 9.0}}
    ranked = rank_round(regions, values)
    assert ranked[("f1", "1.1", "county")] == Place(2, 0, 2)
    assert ranked[("f3", "1.1", "county")] == Place(1, 0, 1)
    assert ranked[("f1", "1.1", "city")] == Place(3, 0, 3)
    assert ranked[("f2", "1.1", "province")] == Place(1, 1, 3)
    assert ranked[("f4", "1.1", "province")] == Place(1, 0, 1)
    assert set(rank_round(regions, values, ["f1"])) == {
        ("f1", "1.1", s) for s in ("county", "city", "province")
    }


async def test_a_facility_sees_where_each_article_ranks(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    selfs = demo["self_inspections"]
    article = ARTICLES[0]
    # township centres 0, 1 (东城县) and 3, 4 (西山县), all in 甲市
    for index, grade in ((0, "A"), (1, "B"), (3, "A"), (4, "C")):
        await put_answers(selfs[index], {article: grade, ARTICLES[1]: "NA" if index == 1 else "B"})
    clinic = await login(client, "clinic1")
    url = f"/api/facilities/{demo['facilities'][0]}/rounds/{demo['round']}/rankings"
    response = await client.get(url, headers=clinic, params={"stage": "self"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "share the rank" in body["rule"]
    first = next(a for a in body["articles"] if a["item"] == article)
    assert first["value"] == "A"
    got = {p["scope"]: (p["rank"], p["tied"], p["of"]) for p in first["places"]}
    assert got == {"county": (1, 0, 2), "city": (1, 1, 4), "province": (1, 1, 4)}
    city = next(p for p in first["places"] if p["scope"] == "city")
    assert city["explanation"] == "1st of 4 in 甲市, tied with 1 other at A"
    said = city["explanationMessage"]
    assert say(said["code"], "zh", **said["params"]) == "在甲市排第 1 名（共 4 家），与另外 1 家同为 A"
    # N/A is not ranked: three peers for the second article
    second = next(a for a in body["articles"] if a["item"] == ARTICLES[1])
    assert {p["scope"]: p["of"] for p in second["places"]}["city"] == 3
    unanswered = next(a for a in body["articles"] if a["item"] == ARTICLES[2])
    assert unanswered["places"] == []

    # a clinic does not see a review's grades before it is returned or accepted; others' rankings never
    review = await client.get(url, headers=clinic, params={"stage": "county"})
    assert review.status_code == 403
    other = f"/api/facilities/{demo['facilities'][1]}/rounds/{demo['round']}/rankings"
    assert (await client.get(other, headers=clinic, params={"stage": "self"})).status_code == 403
    office = await login(client, "office")
    assert (await client.get(url, headers=office, params={"stage": "county"})).status_code == 200


async def test_discrepancy_rates_dashboard_and_conflicts(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    own, review = demo["self_inspections"][0], demo["review_inspection"]
    await put_answers(own, {ARTICLES[0]: "A", ARTICLES[1]: "B", ARTICLES[2]: "C"})
    await put_answers(review, {ARTICLES[0]: "C", ARTICLES[1]: "B", ARTICLES[2]: "B"})
    office = await login(client, "office")
    rates = await client.get(f"/api/rounds/{demo['round']}/discrepancy-rates", headers=office)
    assert rates.status_code == 200, rates.text
    body = rates.json()
    assert body["facilities"] == 1
    compared = [s for s in body["sections"] if s["compared"]]
    assert sum(s["compared"] for s in compared) == 3
    assert sum(s["differing"] for s in compared) == 2
    assert sum(s["wideGaps"] for s in compared) == 1  # A self, C review
    assert (sum(s["higher"] for s in compared), sum(s["lower"] for s in compared)) == (1, 1)

    await Photo.insert(
        Photo(
            id=uuid4(),
            inspection_id=review,
            item_code=ARTICLES[0],
            sha256="f" * 64,
            size=10,
            mime="image/jpeg",
        )
    )
    await sign_off(demo["facilities"][0], demo["round"], "county", demo["office"])
    conflict = await open_conflict(review, ARTICLES[0])
    dash = await client.get(f"/api/rounds/{demo['round']}/dashboard", headers=office)
    assert dash.status_code == 200, dash.text
    d = dash.json()
    assert d["facilities"] == 6
    assert d["inspections"]["self"] == {"in_progress": 6}
    assert d["inspections"]["county"] == {"in_progress": 1}
    assert (d["photosExpected"], d["photosToArrive"], d["openConflicts"]) == (1, 1, 1)
    assert d["tiersByCounty"] == [
        {"countyId": str(demo["counties"][0]), "countyName": "东城县", "tiers": {"qualified": 1}}
    ]

    queue = await client.get(f"/api/rounds/{demo['round']}/conflicts", headers=office)
    assert queue.status_code == 200
    [group] = queue.json()
    assert (group["inspectionId"], group["stage"], group["facilityName"]) == (
        str(review),
        "county",
        "城关镇卫生院",
    )
    assert group["section"] == "1"
    assert [c["id"] for c in group["conflicts"]] == [str(conflict)]
    assert len(group["conflicts"][0]["candidates"]) == 2
    assert group["conflicts"][0]["version"] == 0
    # what the office decides on: the article, the notes and photos of both sides
    await NoteEntry.insert(
        NoteEntry(
            id=uuid4(), inspection_id=review, item_code=ARTICLES[0], author_id=demo["office"], text="现场核实"
        )
    )
    await NoteEntry.insert(
        NoteEntry(
            id=uuid4(),
            inspection_id=review,
            item_code=ARTICLES[0],
            author_id=demo["office"],
            text="已删除",
            deleted=True,
        )
    )
    [group] = (await client.get(f"/api/rounds/{demo['round']}/conflicts", headers=office)).json()
    [queued] = group["conflicts"]
    assert queued["articleTitle"]
    assert [n["text"] for n in queued["notes"]] == ["现场核实"]
    assert queued["notes"][0]["authorName"]
    assert [
        (p["itemCode"] if "itemCode" in p else ARTICLES[0], p["thumbReady"]) for p in queued["photos"]
    ] == [(ARTICLES[0], False)]


async def test_the_office_resolves_a_conflict_with_a_reason(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    await put_answers(review, {ARTICLES[0]: "A", ARTICLES[1]: "B"})
    conflict = await open_conflict(review, ARTICLES[0])
    office = await login(client, "office")
    url = f"/api/conflicts/{conflict}/resolve"
    body = {"value": "C", "baseVersion": 0, "reason": "现场照片显示仅达到C档"}

    await other_city_office(demo)
    elsewhere = await client.post(url, headers=await login(client, "office_yi"), json=body)
    assert elsewhere.status_code == 403
    bad = await client.post(url, headers=office, json=body | {"value": "Z"})
    assert bad.status_code == 409
    assert bad.json()["code"] == "invalid_value"

    clients = await SyncClient.count()
    resolved = await client.post(url, headers=office, json=body)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["reason"] == "现场照片显示仅达到C档"
    # applied in process (sync.api.apply): no JSON push, no throwaway client left as a sync_client row
    assert await SyncClient.count() == clients
    row = (
        await SyncConflict.select(SyncConflict.status, SyncConflict.resolved_by)
        .where(SyncConflict.id == conflict)
        .first()
    )
    assert row is not None
    assert (row["status"], row["resolved_by"]) == ("resolved", demo["office"])
    register = (
        await AnswerRegister.select(AnswerRegister.value)
        .where(AnswerRegister.key == f"{review}/{ARTICLES[0]}/value")
        .first()
    )
    assert register is not None
    assert register["value"] == '"C"'
    writer = await AnswerRegister.select(AnswerRegister.client_id).where(
        AnswerRegister.key == f"{review}/{ARTICLES[0]}/value"
    )
    assert writer[0]["client_id"] == f"office-{demo['office']}"
    entry = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert entry is not None
    assert entry["user_id"] == str(demo["office"])
    assert "现场照片显示仅达到C档" in entry["details"]
    again = await client.post(url, headers=office, json=body)
    assert again.status_code == 409
    assert again.json()["code"] == "conflict_not_open"
    queue = await client.get(f"/api/rounds/{demo['round']}/conflicts", headers=office)
    assert queue.json() == []


async def test_round_results_agree_with_the_per_facility_routes(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    from backend.programme.round_results import round_results

    selfs = demo["self_inspections"]
    for index, grade in ((0, "A"), (1, "B"), (3, "A")):
        await put_answers(
            selfs[index], {"P1": True, "P2": True, "P3": True, **dict.fromkeys(ARTICLES, grade)}
        )
    await put_answers(demo["review_inspection"], {"P1": True, **dict.fromkeys(ARTICLES[:5], "C")})
    results = await round_results(demo["round"], stages=("self", "county"))
    assert results.inspections == 13
    assert not results.errors
    office = await login(client, "office")
    for inspection in (selfs[0], selfs[1], demo["review_inspection"]):
        view = (await client.get(f"/api/inspections/{inspection}/conclusion", headers=office)).json()
        fast = results.conclusions[str(inspection)]
        assert (fast.status, fast.tier, fast.known) == (
            view["conclusion"]["status"],
            view["conclusion"]["tier"],
            view["conclusion"]["known"],
        )
    url = f"/api/facilities/{demo['facilities'][0]}/rounds/{demo['round']}/rankings"
    ranking = (await client.get(url, headers=office, params={"stage": "self"})).json()
    for article in ranking["articles"]:
        for place in article["places"]:
            fast_place = results.rankings["self"].place(
                str(demo["facilities"][0]), article["item"], place["scope"]
            )
            assert fast_place is not None
            assert (fast_place.rank, fast_place.tied, fast_place.of) == (
                place["rank"],
                place["tied"],
                place["of"],
            )
    first = results.rankings["self"].place(str(demo["facilities"][0]), ARTICLES[0], "city")
    assert first is not None
    assert (first.rank, first.tied, first.of) == (1, 1, 3)
