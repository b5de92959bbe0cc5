"""Preliminary conclusions computed from the answer registers, confirmation, and the discrepancy view.

Answers are written straight into AnswerRegister rows (as sync push leaves them: JSON values, ``na`` registers,
prerequisite results under the prerequisite id), so these tests do not depend on the push path."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import httpx
import msgspec

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import create_user
from backend.audit.tables import AuditLog
from backend.inspections.tables import Inspection
from backend.registry.tables import Facility
from backend.review.tables import ConfirmedConclusion
from backend.standards import load_shipped, parse_standard, shipped_bytes
from backend.standards.services import save_standard
from backend.standards.validation import walk_articles
from sync.tables import AnswerRegister, SyncConflict
from tests.conftest import login

TOWNSHIP = load_shipped("township-2018")
ARTICLES = [a.number for _, a, _ in walk_articles(TOWNSHIP)]
BASIC = [a.number for _, a, _ in walk_articles(TOWNSHIP) if a.kind == "basic"]
PASSED = {"P1": True, "P2": True, "P3": True}
THRESHOLDS_ID = "test-township-thresholds"


async def put_answers(inspection_id: UUID, answers: dict[str, Any], field: str = "value") -> None:
    """Write registers as a push would: one row per (inspection, item, field), JSON value, version bumped."""
    row = await Inspection.select(Inspection.version).where(Inspection.id == inspection_id).first()
    assert row is not None
    version = row["version"]
    for item, value in answers.items():
        version += 1
        key = f"{inspection_id}/{item}/{field}"
        encoded = msgspec.json.encode(value).decode()
        if await AnswerRegister.exists().where(AnswerRegister.key == key):
            await AnswerRegister.update(
                {AnswerRegister.value: encoded, AnswerRegister.version: version}
            ).where(AnswerRegister.key == key)
        else:
            await AnswerRegister.insert(
                AnswerRegister(
                    key=key,
                    inspection_id=inspection_id,
                    item_code=item,
                    field=field,
                    value=encoded,
                    version=version,
                )
            )
    await Inspection.update({Inspection.version: version}).where(Inspection.id == inspection_id)


async def open_conflict(inspection_id: UUID, item: str) -> UUID:
    conflict_id = uuid4()
    await SyncConflict.insert(
        SyncConflict(
            id=conflict_id,
            inspection_id=inspection_id,
            register_key=f"{inspection_id}/{item}/value",
            item_code=item,
            field="value",
            candidates=json.dumps([{"value": "A"}, {"value": "C"}]),
            status="open",
        )
    )
    return conflict_id


async def set_status(inspection_id: UUID, status: str) -> None:
    await Inspection.update({Inspection.status: status}).where(Inspection.id == inspection_id)


async def install_thresholds_standard() -> None:
    """The township standard with test thresholds filled in for the two null tiers (not official figures)."""
    raw = json.loads(shipped_bytes("township-2018"))
    raw["id"] = THRESHOLDS_ID
    tiers = {t["code"]: t for t in raw["determination"]["tiers"]}
    for code, ratios in {"recommended": [1.0, 0.8, 0.5, 1.0], "basic": [0.9, 0.5, 0.1]}.items():
        for condition, ratio in zip(tiers[code]["conditions"], ratios, strict=True):
            condition["minRatio"] = ratio
    await save_standard(standard=parse_standard(json.dumps(raw)), actor_id=None, publish=True)


async def conclusion(client: httpx.AsyncClient, headers: dict[str, str], inspection: UUID) -> httpx.Response:
    return await client.get(f"/api/inspections/{inspection}/conclusion", headers=headers)


async def other_city_office(demo: dict[str, Any]) -> None:
    await create_user(
        data=CreateUserRequest(
            username="office_yi", password="demo", role="office", region_id=demo["cities"][1]
        ),
        actor_id=None,
        is_demo=True,  # the demo password, as the demo accounts
    )


# ---------------------------------------------------------------------------------------------- statuses


async def test_incomplete_lists_the_missing_articles(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    review = demo["review_inspection"]
    answered = ARTICLES[:-3]
    await put_answers(review, {**PASSED, **dict.fromkeys(answered, "B")})
    office = await login(client, "office")
    response = await conclusion(client, office, review)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["conclusion"]["status"] == "incomplete"
    assert body["conclusion"]["missing"] == ARTICLES[-3:]
    assert body["computedFrom"]["answerCount"] == len(answered)
    assert body["computedFrom"]["prerequisiteCount"] == 3
    assert body["computedFrom"]["inspectionVersion"] == len(answered) + 3
    assert body["provisional"] is False
    assert body["stage"] == "county"
    assert body["standardId"] == TOWNSHIP.id


async def test_a_failed_prerequisite_means_not_evaluated(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    await put_answers(review, {**PASSED, "P2": False, **dict.fromkeys(ARTICLES, "A")})
    response = await conclusion(client, await login(client, "inspector1"), review)
    assert response.status_code == 200, response.text
    result = response.json()["conclusion"]
    assert result["status"] == "not_evaluated"
    assert result["tier"] is None
    assert {p["id"]: p["outcome"] for p in result["prerequisites"]} == {
        "P1": "passed",
        "P2": "failed",
        "P3": "passed",
    }
    assert any("P2 failed" in reason for reason in result["reasons"])


async def test_unanswered_prerequisites_are_not_evaluated(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    await put_answers(review, dict.fromkeys(ARTICLES, "A"))
    result = (await conclusion(client, await login(client, "office"), review)).json()["conclusion"]
    assert result["status"] == "not_evaluated"
    assert {p["outcome"] for p in result["prerequisites"]} == {"missing"}


async def test_null_thresholds_give_undetermined_with_the_explanation(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    await put_answers(review, {**PASSED, **dict.fromkeys(ARTICLES, "A"), BASIC[0]: "D"})
    result = (await conclusion(client, await login(client, "office"), review)).json()["conclusion"]
    assert result["status"] == "undetermined"
    assert result["tier"] is None
    first = result["tiers"][0]
    assert first["code"] == "recommended"
    assert first["outcome"] == "undecidable"
    condition = first["conditions"][0]
    assert condition["requiredRatio"] is None
    assert condition["actualRatio"] == (len(BASIC) - 1) / len(BASIC)
    assert condition["pulledDown"] == [{"number": BASIC[0], "value": "D"}]


async def test_determined_tier_with_required_and_actual_ratios(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    await install_thresholds_standard()
    review = demo["review_inspection"]
    await Inspection.update({Inspection.standard_version_id: THRESHOLDS_ID}).where(Inspection.id == review)
    # 3 of 41 basic articles at A (7.3 %): under the basic tier's 10 %, over the qualified tier's 5 %.
    answers = {**PASSED, **dict.fromkeys(ARTICLES, "B"), BASIC[0]: "D", BASIC[1]: "C"}
    answers.update(dict.fromkeys(BASIC[2:5], "A"))
    await put_answers(review, answers)
    body = (await conclusion(client, await login(client, "office"), review)).json()
    result = body["conclusion"]
    assert result["status"] == "determined", result["reasons"]
    assert result["tier"] == "qualified"
    tiers = {t["code"]: t for t in result["tiers"]}
    assert tiers["recommended"]["outcome"] == "not_reached"
    basic = tiers["basic"]
    assert basic["outcome"] == "not_reached"
    at_a = basic["conditions"][2]
    assert at_a["gradeAtLeast"] == "A"
    assert at_a["outcome"] == "not_met"
    assert at_a["requiredRatio"] == 0.1
    assert at_a["actualRatio"] == 3 / len(BASIC)
    pulled = {mark["number"]: mark["value"] for mark in at_a["pulledDown"]}
    assert pulled[BASIC[0]] == "D"
    assert pulled[BASIC[1]] == "C"
    assert BASIC[2] not in pulled
    assert tiers["qualified"]["outcome"] == "reached"
    assert body["computedFrom"]["facility"] == {"medicalStaffCount": 6, "servicePopulation": 8000}

    # A figure the registry never got (0) is unknown: the qualified tier's eligibility cannot be decided.
    await Facility.update({Facility.medical_staff_count: 0}).where(Facility.id == demo["facilities"][0])
    body = (await conclusion(client, await login(client, "office"), review)).json()
    assert body["conclusion"]["status"] == "undetermined"
    assert body["computedFrom"]["facility"]["medicalStaffCount"] is None


async def test_na_register_and_values_that_do_not_fit(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    office = await login(client, "office")
    await put_answers(review, {**PASSED, **dict.fromkeys(ARTICLES, "B")})
    # N/A where the standard does not allow it is refused by the engine, with the JSON path.
    await put_answers(review, {ARTICLES[0]: True}, field="na")
    response = await conclusion(client, office, review)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "answers_do_not_fit"
    assert any(ARTICLES[0] in p["path"] for p in problem["problems"])
    # An na register set back to false leaves the value in force.
    await put_answers(review, {ARTICLES[0]: False}, field="na")
    assert (await conclusion(client, office, review)).json()["conclusion"]["status"] == "undetermined"


async def test_na_counts_where_the_article_allows_it(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    # The community-centre standard has one article that may be N/A; facility 2 is a community centre.
    community = load_shipped("community-2018")
    numbers = [a.number for _, a, _ in walk_articles(community)]
    na_article = next(a.number for _, a, _ in walk_articles(community) if a.na_allowed)
    inspection = demo["self_inspections"][2]
    await put_answers(inspection, {**PASSED, **dict.fromkeys(numbers, "A")})
    await put_answers(inspection, {na_article: True}, field="na")
    body = (await conclusion(client, await login(client, "office"), inspection)).json()
    assert body["conclusion"]["status"] in {"determined", "undetermined"}
    condition = body["conclusion"]["tiers"][0]["conditions"][0]
    basic = [a for _, a, _ in walk_articles(community) if a.kind == "basic"]
    assert condition["denominator"] == len(basic) - (1 if any(a.number == na_article for a in basic) else 0)


async def test_open_conflicts_make_the_conclusion_provisional(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    await put_answers(review, {**PASSED, **dict.fromkeys(ARTICLES, "B")})
    await open_conflict(review, ARTICLES[4])
    body = (await conclusion(client, await login(client, "office"), review)).json()
    assert body["provisional"] is True
    assert body["computedFrom"]["openConflicts"] == 1
    assert body["computedFrom"]["conflictedItems"] == [ARTICLES[4]]
    assert ARTICLES[4] in body["provisionalReason"]


# ---------------------------------------------------------------------------------------------- scope


async def test_who_may_read_a_conclusion(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    review = demo["review_inspection"]
    own_self = demo["self_inspections"][0]
    await other_city_office(demo)
    clinic = await login(client, "clinic1")
    assert (await conclusion(client, clinic, own_self)).status_code == 200
    assert (await conclusion(client, clinic, demo["self_inspections"][1])).status_code == 403
    # Even once the review is returned to it (the clinic then reads the inspection), not its conclusion.
    await set_status(review, "returned")
    assert (await client.get(f"/api/inspections/{review}", headers=clinic)).status_code == 200
    refused = await conclusion(client, clinic, review)
    assert refused.status_code == 403
    assert refused.json()["code"] == "out_of_scope"

    yi = await login(client, "office_yi")
    refused = await conclusion(client, yi, review)
    assert refused.status_code == 403
    assert refused.json()["code"] == "out_of_scope"
    assert (await conclusion(client, yi, demo["self_inspections"][6])).status_code == 200
    assert (await conclusion(client, await login(client, "inspector6"), review)).status_code == 403
    assert (await conclusion(client, await login(client, "inspector1"), review)).status_code == 200
    assert (await conclusion(client, await login(client, "admin"), review)).status_code == 200
    unknown = await conclusion(client, await login(client, "admin"), uuid4())
    assert unknown.status_code == 404


# ---------------------------------------------------------------------------------------------- confirm


async def confirm(
    client: httpx.AsyncClient, headers: dict[str, str], inspection: UUID, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(f"/api/inspections/{inspection}/conclusion/confirm", headers=headers, json=body)


async def test_confirm_refusals_and_the_stored_conclusion(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    office = await login(client, "office")
    await put_answers(review, {**PASSED, **dict.fromkeys(ARTICLES[:-1], "B")})

    refused = await confirm(client, office, review)
    assert refused.status_code == 409
    assert refused.json()["code"] == "inspection_not_submitted"

    await set_status(review, "submitted")
    refused = await confirm(client, office, review)
    assert refused.status_code == 409
    assert refused.json()["code"] == "conclusion_incomplete"
    assert refused.json()["missing"] == [ARTICLES[-1]]

    await put_answers(review, {ARTICLES[-1]: "C"})
    conflict_id = await open_conflict(review, ARTICLES[0])
    refused = await confirm(client, office, review)
    assert refused.status_code == 409
    assert refused.json()["code"] == "conflicts_open"
    assert refused.json()["items"] == [ARTICLES[0]]

    # Wrong role and wrong region never reach the service; nothing is stored for any refusal.
    await other_city_office(demo)
    for account in ("clinic1", "inspector1", "office_yi"):
        response = await confirm(client, await login(client, account), review)
        assert response.status_code == 403, (account, response.text)
    assert await ConfirmedConclusion.count() == 0

    await SyncConflict.update({SyncConflict.status: "resolved"}).where(SyncConflict.id == conflict_id)
    version = (await Inspection.select(Inspection.version).where(Inspection.id == review).first() or {})[
        "version"
    ]
    # the rules leave it undetermined (待定): no sign-off without the review group's decision and reason
    undecided = await confirm(client, office, review)
    # every refusal of a rule is one class: 422 (backend.errors.RuleRefused)
    assert undecided.status_code == 422
    assert undecided.json()["code"] == "decision_required"
    no_reason = await confirm(client, office, review, {"decision": {"tier": "basic"}})
    assert no_reason.status_code == 422
    assert no_reason.json()["code"] == "reason_required"
    assert await ConfirmedConclusion.count() == 0
    audit_before = await AuditLog.count()
    decision = {"decision": {"tier": "basic", "reason": "复核小组讨论：基本条款整体达到B档"}}
    response = await confirm(client, office, review, decision)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert (stored["status"], stored["tier"], stored["decidedBy"]) == ("determined", "basic", "group")
    assert stored["decisionReason"] == "复核小组讨论：基本条款整体达到B档"
    assert stored["computedTier"] is None
    assert {"code": "verdict.by_group", "params": {"reason": stored["decisionReason"]}} in stored["statement"]
    after = (
        await Inspection.select(Inspection.status, Inspection.version).where(Inspection.id == review).first()
    )
    assert after == {"status": "accepted", "version": version + 1}
    assert stored["computedFromVersion"] == version
    assert stored["answerCount"] == len(ARTICLES)
    assert stored["confirmedBy"] == str(demo["office"])
    assert stored["explanation"]["tiers"][0]["code"] == "recommended"
    assert stored["roundId"] == str(demo["round"])
    assert await AuditLog.count() == audit_before + 1
    entry = await AuditLog.select().order_by(AuditLog.id, ascending=False).first()
    assert entry is not None
    assert entry["action"] == "conclusion.confirm"

    again = await confirm(client, office, review, decision)
    assert again.status_code == 409
    assert again.json()["code"] == "inspection_not_submitted"


async def test_a_self_assessment_is_not_confirmed(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    own_self = demo["self_inspections"][0]
    await put_answers(own_self, {**PASSED, **dict.fromkeys(ARTICLES, "B")})
    await set_status(own_self, "submitted")
    refused = await confirm(client, await login(client, "admin"), own_self)
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_a_review"


# ---------------------------------------------------------------------------------------------- discrepancies


async def test_discrepancy_view(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    facility, round_id = demo["facilities"][0], demo["round"]
    own_self, review = demo["self_inspections"][0], demo["review_inspection"]
    a, b, c, d, e = ARTICLES[:5]
    await put_answers(own_self, {**PASSED, a: "A", b: "B", c: "C", d: "B"})
    await put_answers(own_self, {e: True}, field="na")
    await put_answers(review, {**PASSED, "P3": False, a: "B", b: "B", c: "A", e: "C", ARTICLES[6]: "D"})
    await open_conflict(review, c)

    office = await login(client, "office")
    response = await client.get(f"/api/facilities/{facility}/rounds/{round_id}/discrepancies", headers=office)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["selfAssessment"]["inspectionId"] == str(own_self)
    assert [r["stage"] for r in view["reviews"]] == ["county"]
    county = view["reviews"][0]
    assert county["openConflicts"] == 1
    assert county["conclusionStatus"] == "not_evaluated"
    rows = {row["item"]: row for row in view["items"]}
    # every article of the standard is a row, prerequisites first
    assert [row["item"] for row in view["items"]] == ["P1", "P2", "P3", *ARTICLES]

    def cell(item: str) -> dict[str, Any]:
        cells: list[dict[str, Any]] = rows[item]["stages"]
        assert len(cells) == 1
        assert cells[0]["stage"] == "county"
        return cells[0]

    assert rows[a]["selfValue"] == "A"
    assert cell(a)["value"] == "B"
    assert cell(a)["difference"] == "lower"
    assert cell(b)["difference"] == "same"
    assert cell(c)["difference"] == "higher"
    assert cell(c)["conflicted"] is True
    assert cell(d)["value"] is None
    assert cell(d)["difference"] == "missing"
    assert rows[e]["selfValue"] == "NA"
    assert cell(e)["difference"] == "not_comparable"
    assert rows[ARTICLES[6]]["selfValue"] is None
    assert cell(ARTICLES[6])["difference"] == "missing"
    assert cell("P3")["value"] is False
    assert cell("P3")["difference"] == "lower"
    assert rows["P3"]["kind"] == "prerequisite"
    assert rows[a]["title"]
    summary = view["summary"][0]
    assert summary == {
        "stage": "county",
        "same": 3,  # P1, P2, b
        "higher": 1,
        "lower": 2,  # a, P3
        "missing": len(ARTICLES) - 4,
        "notComparable": 1,
    }

    await other_city_office(demo)
    for account in ("office_yi", "clinic1", "inspector1"):
        refused = await client.get(
            f"/api/facilities/{facility}/rounds/{round_id}/discrepancies",
            headers=await login(client, account),
        )
        assert refused.status_code == 403, account
    missing_round = await client.get(
        f"/api/facilities/{facility}/rounds/{uuid4()}/discrepancies", headers=office
    )
    assert missing_round.status_code == 404


# ---------------------------------------------------------------------------------------------- through sync push


def _push(mutations: list[tuple[str, str, Any]], inspection: UUID, first_id: int = 1) -> dict[str, Any]:
    return {
        "protocolVersion": 1,
        "clientGroupId": "review-tests",
        "clientId": "review-tablet",
        "mutations": [
            {
                "id": first_id + n,
                "name": "setAnswer",
                "hlc": f"2026-11-23T08:00:00.000Z-{n:04d}-review-tablet",
                "args": {
                    "inspectionId": str(inspection),
                    "itemCode": item,
                    "field": field,
                    "value": value,
                    "baseVersion": 0,
                },
            }
            for n, (item, field, value) in enumerate(mutations)
        ],
    }


async def test_answers_pushed_through_sync_are_concluded(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    inspector = await login(client, "inspector1")
    grades = [(number, "value", "B") for number in ARTICLES[:-1]] + [(ARTICLES[-1], "value", "D")]
    response = await client.post("/api/sync/push", headers=inspector, json=_push(grades, review))
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"applied"}
    body = (await conclusion(client, inspector, review)).json()
    assert body["conclusion"]["status"] == "not_evaluated"  # P1–P3 not recorded yet
    assert body["computedFrom"]["answerCount"] == len(ARTICLES)
    version = (await Inspection.select(Inspection.version).where(Inspection.id == review).first() or {})[
        "version"
    ]
    assert body["computedFrom"]["inspectionVersion"] == version
    await put_answers(review, PASSED)  # the stop-gap until sync accepts prerequisites (next test)
    body = (await conclusion(client, inspector, review)).json()
    assert body["conclusion"]["status"] == "undetermined"
    pulled = body["conclusion"]["tiers"][0]["conditions"][0]["pulledDown"]
    assert {mark["number"] for mark in pulled} == ({ARTICLES[-1]} & set(BASIC))


async def test_prerequisites_pushed_through_sync(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    review = demo["review_inspection"]
    inspector = await login(client, "inspector1")
    prerequisites = [(pid, "value", passed) for pid, passed in PASSED.items()]
    response = await client.post("/api/sync/push", headers=inspector, json=_push(prerequisites, review))
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["applied"] * 3
    result = (await conclusion(client, inspector, review)).json()["conclusion"]
    assert {p["outcome"] for p in result["prerequisites"]} == {"passed"}


async def test_an_incomplete_submit_waits_for_open_conflicts_as_a_sign_off_does(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    office = await login(client, "office")
    await open_conflict(review, ARTICLES[0])
    refused = await client.post(
        f"/api/inspections/{review}/submit-incomplete", headers=office, json={"reason": "缺少资料"}
    )
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["items"]) == ("conflicts_open", [ARTICLES[0]])
    status = await Inspection.select(Inspection.status).where(Inspection.id == review).first()
    assert status is not None
    assert status["status"] != "submitted"
