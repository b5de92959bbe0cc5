"""MCH demonstration counties (seed 001) on the shared programme machinery: the county as subject, its own
targets never below the national values, the report date, the city check, the province's ≥ 10 % sample, the
3-year title, unannounced re-checks, the fix deadline and the revocation."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from backend.audit.tables import AuditLog
from backend.db import write_tx
from backend.inspections.tables import Application, Inspection, Round
from backend.programme.demo import MCH_STANDARD, add_county_subject, load_programme_demo
from backend.programme.mch import add_months, today_in_china
from backend.programme.title_tables import ProgrammeTitle, SubjectTarget, TitleRecheck
from backend.registry.tables import Region
from tests.backend.programme.support import TOWNSHIP, finish_self_assessment, sign_off
from tests.backend.review.test_conclusions import put_answers, set_status
from tests.conftest import login

DEMONSTRATION = "demonstration"
CITY_REASON = "市级评估组：各项指标达到示范要求"


@pytest.fixture
async def mch(demo: dict[str, Any]) -> dict[str, Any]:
    return {**demo, **await load_programme_demo(demo)}


def _inspection(facility: Any, round_id: Any, stage: str, standard: str = MCH_STANDARD) -> dict[str, Any]:
    return {
        "facilityId": str(facility),
        "roundId": str(round_id),
        "stage": stage,
        "standardVersionId": standard,
    }


async def _apply(
    client: httpx.AsyncClient, headers: dict[str, str], subject: Any, round_id: Any
) -> httpx.Response:
    return await client.post(
        "/api/applications",
        headers=headers,
        json={"facilityId": str(subject), "roundId": str(round_id), "tier": DEMONSTRATION},
    )


async def _more_counties(mch: dict[str, Any], count: int) -> list[UUID]:
    """Extra counties under the first city, each with its programme subject and self-evaluation."""
    subjects = []
    async with write_tx():
        for n in range(count):
            county = Region(name=f"测试{n}县", level="county", code=f"4401{50 + n}", parent=mch["cities"][0])
            await county.save()
            subject = await add_county_subject(county.id)
            await Inspection(
                facility=subject,
                round=mch["mch_round"],
                stage="self",
                standard_version_id=MCH_STANDARD,
                status="submitted",  # a county reports to the city once its self-evaluation is submitted
            ).save()
            subjects.append(subject)
    return subjects


async def test_a_county_is_the_subject_of_the_mch_standard_and_nothing_else(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    made = await client.post(
        "/api/admin/rounds",
        headers=admin,
        json={"name": "2027", "year": 2027, "regionId": str(mch["province"])},
    )
    round_id = made.json()["id"]
    county, township = mch["county_subjects"][0], mch["facilities"][0]
    for body in (_inspection(county, round_id, "self", TOWNSHIP), _inspection(township, round_id, "self")):
        refused = await client.post("/api/admin/inspections", headers=admin, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "standard_does_not_fit"
    ok = await client.post(
        "/api/admin/inspections", headers=admin, json=_inspection(county, round_id, "self")
    )
    assert ok.status_code == 201, ok.text
    kinds = (await client.get("/api/programme-kinds", headers=admin)).json()
    by_code = {k["kind"]["code"]: k for k in kinds}
    assert by_code["mch_county"]["kind"]["subject"] == "region"
    assert by_code["mch_county"]["standardIds"] == [MCH_STANDARD]
    assert by_code["basic_care"]["kind"]["stages"] == ["self", "county", "city", "province"]
    assert by_code["school_logistics"]["kind"]["subject"] == "school"


async def test_the_county_sets_its_own_targets_never_below_the_national_value(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    county = await login(client, "county1")
    url = f"/api/rounds/{mch['mch_round']}/subjects/{mch['county_subjects'][0]}/targets"
    before = await AuditLog.count()
    cases = [
        ([{"article": "4.1", "target": 0.85}], "below_national_target"),  # ≥ 0.90 nationally
        ([{"article": "4.3", "target": 0.96}], "below_national_target"),  # no floor: the target 0.97 is it
        ([{"article": "4.4", "target": 20.0}], "below_national_target"),  # ≤ 18 per 100,000: a ceiling
        ([{"article": "1.1", "target": 1.0}], "not_an_indicator"),
        ([{"article": "4.1", "target": 0.95}, {"article": "4.1", "target": 0.96}], "duplicate_target"),
    ]
    for targets, code in cases:
        refused = await client.put(url, headers=county, json={"targets": targets})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == code
        assert refused.json()["problems"][0]["params"]["article"] == targets[0]["article"]
    assert not await SubjectTarget.exists()
    assert await AuditLog.count() == before
    mixed = [{"article": "4.1", "target": 0.95}, {"article": "4.2", "target": 0.80}]
    refused = await client.put(url, headers=county, json={"targets": mixed})
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        {
            "code": "below_national_target",
            "params": {
                "article": "4.2",
                "title": "3岁以下儿童系统管理率",
                "target": 0.8,
                "national": 0.85,
                "op": ">=",
            },
        }
    ]
    assert not await SubjectTarget.exists()  # all or nothing
    ok = await client.put(
        url,
        headers=county,
        json={"targets": [{"article": "4.1", "target": 0.95}, {"article": "4.4", "target": 15.0}]},
    )
    assert ok.status_code == 200, ok.text
    rows = {t["article"]: t for t in ok.json()}
    assert rows["4.1"]["target"] == 0.95
    assert rows["4.1"]["national"] == 0.9
    assert rows["4.1"]["floor"] == 0.9
    assert rows["4.4"]["target"] == 15.0
    assert rows["4.3"]["target"] is None
    again = await client.put(url, headers=county, json={"targets": [{"article": "4.1", "target": 0.92}]})
    assert {t["article"]: t["target"] for t in again.json()}["4.1"] == 0.92
    assert await SubjectTarget.count() == 2
    # another county's subject is out of the county account's scope
    other = f"/api/rounds/{mch['mch_round']}/subjects/{mch['county_subjects'][1]}/targets"
    assert (await client.get(other, headers=county)).status_code == 403


async def test_the_county_reports_to_the_city_by_the_date_set(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    county = await login(client, "county1")
    subject = mch["county_subjects"][0]
    async with write_tx():
        late = Round(name="2025年妇幼示范工程", year=2025, region=mch["province"])
        await late.save()
        await Inspection(
            facility=subject, round=late.id, stage="self", standard_version_id=MCH_STANDARD
        ).save()
    refused = await _apply(client, county, subject, late.id)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "report_overdue"
    assert refused.json()["dueOn"] == "2025-08-05"
    assert not await Application.exists().where(Application.round == late.id)
    unfinished = await _apply(client, county, subject, mch["mch_round"])
    assert unfinished.status_code == 409, unfinished.text
    assert unfinished.json()["code"] == "self_assessment_not_submitted"
    await finish_self_assessment(subject, mch["mch_round"])
    ok = await _apply(client, county, subject, mch["mch_round"])
    assert ok.status_code == 201, ok.text


async def _reported_and_city_checked(
    client: httpx.AsyncClient, mch: dict[str, Any], subjects: list[UUID], **decision: Any
) -> None:
    admin = await login(client, "admin")
    for subject in subjects:
        await finish_self_assessment(subject, mch["mch_round"])
        assert (await _apply(client, admin, subject, mch["mch_round"])).status_code == 201
        await sign_off(
            subject, mch["mch_round"], "city", mch["office"], MCH_STANDARD, DEMONSTRATION, **decision
        )


async def _draw(client: httpx.AsyncClient, headers: dict[str, str], mch: dict[str, Any]) -> httpx.Response:
    return await client.post(
        f"/api/rounds/{mch['mch_round']}/samples",
        headers=headers,
        json={"level": "province", "tier": DEMONSTRATION, "seed": "s1"},
    )


async def test_the_province_samples_at_least_ten_percent_of_the_counties_after_the_city_check(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    subjects = [*mch["county_subjects"], *await _more_counties(mch, 17)]  # 21 counties
    province = await login(client, "province")
    admin = await login(client, "admin")
    for subject in subjects:
        await finish_self_assessment(subject, mch["mch_round"])
        assert (await _apply(client, admin, subject, mch["mch_round"])).status_code == 201
    early = await _draw(client, province, mch)
    assert early.status_code == 409
    assert early.json()["code"] == "stage_order"
    for subject in subjects:
        await sign_off(subject, mch["mch_round"], "city", mch["office"], MCH_STANDARD, DEMONSTRATION)
    city = await login(client, "office")
    assert (await _draw(client, city, mch)).json()["code"] == "wrong_region_level"
    drawn = await _draw(client, province, mch)
    assert drawn.status_code == 201, drawn.text
    body = drawn.json()
    # one pool over the province (a county is the subject: stratifying by county would draw every one)
    assert len(body["strata"]) == 1
    assert body["poolSize"] == 21
    assert body["drawnCount"] == math.ceil(0.1 * 21) == 3
    assert body["drawnCount"] / body["poolSize"] >= 0.1
    # a drawn county's province review opens; one not drawn is named on the city's check, no province review
    picked = [f["facilityId"] for f in body["strata"][0]["facilities"] if f["drawn"]]
    skipped = [f["facilityId"] for f in body["strata"][0]["facilities"] if not f["drawn"]]
    opened = await client.post(
        "/api/admin/inspections", headers=province, json=_inspection(picked[0], mch["mch_round"], "province")
    )
    assert opened.status_code == 201, opened.text
    refused = await client.post(
        "/api/admin/inspections", headers=province, json=_inspection(skipped[0], mch["mch_round"], "province")
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_in_sample"


async def test_a_county_the_city_found_short_is_not_in_the_province_pool(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    subjects = [*mch["county_subjects"], *await _more_counties(mch, 8)]  # 12 counties
    admin, province = await login(client, "admin"), await login(client, "province")
    for subject in subjects:
        await finish_self_assessment(subject, mch["mch_round"])
        assert (await _apply(client, admin, subject, mch["mch_round"])).status_code == 201
    short = subjects[:2]
    for subject in subjects:
        # the city's group decides each 待定 check: two counties short of the demonstration standard
        tier = "not_reached" if subject in short else DEMONSTRATION
        await sign_off(
            subject,
            mch["mch_round"],
            "city",
            mch["office"],
            MCH_STANDARD,
            tier,
            decided_by="group",
            reason="市级评估",
        )
    drawn = await _draw(client, province, mch)
    assert drawn.status_code == 201, drawn.text
    body = drawn.json()
    pool = {f["facilityId"] for f in body["strata"][0]["facilities"]}
    assert body["poolSize"] == 10  # the counties the city reported up, not the 12 that applied
    assert pool == {str(s) for s in subjects[2:]}
    assert body["drawnCount"] == math.ceil(0.1 * 10)
    named = await _name(client, province, mch, short[0])
    assert named.status_code == 409
    assert named.json()["code"] == "title_not_reached"


async def _drawn_and_not(client: httpx.AsyncClient, mch: dict[str, Any]) -> tuple[str, str]:
    subjects = mch["county_subjects"]
    # the city check is 待定 (the award score is null): its review group decides the tier, with its reason
    await _reported_and_city_checked(client, mch, subjects, decided_by="group", reason=CITY_REASON)
    body = (await _draw(client, await login(client, "province"), mch)).json()
    facilities = body["strata"][0]["facilities"]
    return (
        next(f["facilityId"] for f in facilities if f["drawn"]),
        next(f["facilityId"] for f in facilities if not f["drawn"]),
    )


async def _name(
    client: httpx.AsyncClient, headers: dict[str, str], mch: dict[str, Any], subject: Any, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/rounds/{mch['mch_round']}/titles", headers=headers, json={"facilityId": str(subject), **extra}
    )


async def test_a_passing_county_is_named_for_three_years_on_the_conclusion_that_decides_it(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    drawn, not_drawn = await _drawn_and_not(client, mch)
    province, city = await login(client, "province"), await login(client, "office")
    refused = await _name(client, city, mch, not_drawn, reason="x")
    assert refused.status_code == 403
    assert refused.json()["code"] == "stage_above_scope"
    # drawn: its province check must be signed first
    waiting = await _name(client, province, mch, drawn)
    assert waiting.status_code == 409
    assert waiting.json()["code"] == "stage_order"
    await sign_off(
        UUID(drawn), mch["mch_round"], "province", mch["province_office"], MCH_STANDARD, "not_awarded"
    )
    vetoed = await _name(client, province, mch, drawn, reason="省里决定")
    assert vetoed.status_code == 409
    assert vetoed.json()["code"] == "title_not_reached"
    assert not await ProgrammeTitle.exists()
    # not drawn: named on the city's check, whose review group decided the tier at sign-off (award score null)
    named = await _name(client, province, mch, not_drawn)
    assert named.status_code == 201, named.text
    title = named.json()
    assert title["reason"] == CITY_REASON
    today = today_in_china()
    assert title["namedOn"] == today.isoformat()
    assert date.fromisoformat(title["validUntil"]) == add_months(today, 36)
    assert title["status"] == "named"
    assert title["decidedBy"] == "group"
    assert title["tierLabel"] == "妇幼健康优质服务示范县（市、区）"
    again = await _name(client, province, mch, not_drawn, reason="again")
    assert again.status_code == 409
    assert again.json()["code"] == "already_named"
    listed = (
        await client.get("/api/titles", headers=province, params={"roundId": str(mch["mch_round"])})
    ).json()
    assert [t["facilityId"] for t in listed] == [not_drawn]
    city_view = (await client.get("/api/titles", headers=city)).json()
    assert [t["facilityId"] for t in city_view] == (
        [not_drawn] if UUID(not_drawn) in mch["county_subjects"][:2] else []
    )
    assert add_months(date(2024, 2, 29), 36) == date(2027, 2, 28)


async def test_the_standard_decides_where_its_threshold_does(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    subjects = mch["county_subjects"]
    await _reported_and_city_checked(client, mch, subjects, decided_by="standard")
    province = await login(client, "province")
    body = (await _draw(client, province, mch)).json()
    not_drawn = next(f["facilityId"] for f in body["strata"][0]["facilities"] if not f["drawn"])
    named = await _name(client, province, mch, not_drawn)
    assert named.status_code == 201, named.text
    assert named.json()["decidedBy"] == "standard"


async def _named_title(client: httpx.AsyncClient, mch: dict[str, Any]) -> dict[str, Any]:
    _, not_drawn = await _drawn_and_not(client, mch)
    named = await _name(client, await login(client, "province"), mch, not_drawn, reason="省决定")
    assert named.status_code == 201, named.text
    title: dict[str, Any] = named.json()
    return title


async def _later_round(mch: dict[str, Any], name: str) -> UUID:
    async with write_tx():
        later = Round(name=name, year=2028, region=mch["province"])
        await later.save()
    return later.id


async def _recheck(
    client: httpx.AsyncClient, headers: dict[str, str], title_id: str, round_id: UUID
) -> httpx.Response:
    return await client.post(
        f"/api/titles/{title_id}/rechecks", headers=headers, json={"roundId": str(round_id)}
    )


async def test_an_unannounced_recheck_failure_gives_a_fix_deadline_and_failing_again_revokes(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    title = await _named_title(client, mch)
    province = await login(client, "province")
    subject = UUID(title["facilityId"])
    same = await _recheck(client, province, title["id"], mch["mch_round"])
    assert same.status_code == 422
    assert same.json()["code"] == "same_round"
    first_round = await _later_round(mch, "2028年不定期抽查")
    opened = await _recheck(client, province, title["id"], first_round)
    assert opened.status_code == 201, opened.text
    recheck = opened.json()
    assert recheck["checks"] == "named"
    assert recheck["outcome"] == "open"
    inspection = await Inspection.select().where(Inspection.id == UUID(recheck["inspectionId"])).first()
    assert inspection is not None
    assert inspection["stage"] == "province"
    assert inspection["status"] == "draft"
    # unannounced: no application, and the county's own account does not see the review
    assert not await Application.exists().where(Application.round == first_round)
    county_view = await client.get(
        f"/api/inspections/{recheck['inspectionId']}", headers=await login(client, "county1")
    )
    assert county_view.status_code == 403
    decide = f"/api/rechecks/{recheck['id']}/decision"
    early = await client.post(decide, headers=province, json={})
    assert early.status_code == 409
    assert early.json()["code"] == "recheck_not_concluded"
    await sign_off(subject, first_round, "province", mch["province_office"], MCH_STANDARD, "not_awarded")
    contradicted = await client.post(decide, headers=province, json={"outcome": "passed"})
    assert contradicted.status_code == 409
    assert contradicted.json()["code"] == "outcome_contradicts_conclusion"
    failed = await client.post(decide, headers=province, json={})
    assert failed.status_code == 200, failed.text
    after = failed.json()
    today = today_in_china()
    assert after["status"] == "fix_required"
    assert after["fixDueOn"] == add_months(today, 3).isoformat()
    assert after["rechecks"][0]["outcome"] == "failed"
    assert after["rechecks"][0]["decidedBy"] == "standard"
    twice = await client.post(decide, headers=province, json={})
    assert twice.status_code == 409
    assert twice.json()["code"] == "recheck_decided"
    # the fix is checked: failing again revokes the title
    second_round = await _later_round(mch, "2028年整改复查")
    fix_check = (await _recheck(client, province, title["id"], second_round)).json()
    assert fix_check["checks"] == "fix_required"
    await sign_off(subject, second_round, "province", mch["province_office"], MCH_STANDARD, "not_awarded")
    revoked = await client.post(f"/api/rechecks/{fix_check['id']}/decision", headers=province, json={})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revokedOn"] == today.isoformat()
    third_round = await _later_round(mch, "2029年抽查")
    refused = await _recheck(client, province, title["id"], third_round)
    assert refused.status_code == 409
    assert refused.json()["code"] == "title_not_active"
    assert await TitleRecheck.count() == 2


async def test_a_fixed_county_keeps_its_title_and_an_undetermined_recheck_needs_the_provinces_reason(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    title = await _named_title(client, mch)
    province = await login(client, "province")
    subject = UUID(title["facilityId"])
    await ProgrammeTitle.update(
        {ProgrammeTitle.status: "fix_required", ProgrammeTitle.fix_due_on: today_in_china()}
    ).where(ProgrammeTitle.id == UUID(title["id"]))
    later = await _later_round(mch, "2028年整改复查")
    recheck = (await _recheck(client, province, title["id"], later)).json()
    await sign_off(subject, later, "province", mch["province_office"], MCH_STANDARD, None)
    decide = f"/api/rechecks/{recheck['id']}/decision"
    silent = await client.post(decide, headers=province, json={})
    assert silent.status_code == 409
    assert silent.json()["code"] == "decision_needs_reason"
    no_reason = await client.post(decide, headers=province, json={"outcome": "passed"})
    assert no_reason.status_code == 409
    assert no_reason.json()["code"] == "decision_needs_reason"
    passed = await client.post(decide, headers=province, json={"outcome": "passed", "reason": "整改到位"})
    assert passed.status_code == 200, passed.text
    assert passed.json()["status"] == "named"
    assert passed.json()["fixDueOn"] is None
    assert passed.json()["rechecks"][0]["decidedBy"] == "province"


async def test_a_title_expires_after_its_validity(client: httpx.AsyncClient, mch: dict[str, Any]) -> None:
    title = await _named_title(client, mch)
    province = await login(client, "province")
    await ProgrammeTitle.update({ProgrammeTitle.valid_until: today_in_china() - timedelta(days=1)}).where(
        ProgrammeTitle.id == UUID(title["id"])
    )
    listed = (await client.get("/api/titles", headers=province)).json()
    assert listed[0]["status"] == "expired"
    later = await _later_round(mch, "2028年抽查")
    refused = await _recheck(client, province, title["id"], later)
    assert refused.status_code == 409
    assert refused.json()["code"] == "title_not_active"
    # the row keeps its last decision; "expired" is read from the date
    row = await ProgrammeTitle.select(ProgrammeTitle.status).first()
    assert row is not None
    assert row["status"] == "named"


async def test_the_conclusion_shows_the_veto_and_the_floors(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    inspection = mch["mch_self_inspections"][0]
    county = await login(client, "county1")
    url = f"/api/rounds/{mch['mch_round']}/subjects/{mch['county_subjects'][0]}/targets"
    assert (
        await client.put(url, headers=county, json={"targets": [{"article": "4.1", "target": 0.95}]})
    ).status_code == 200
    points = {
        "1.1": 80,
        "1.2": 60,
        "1.3": 60,
        "2.1": 70,
        "2.2": 70,
        "2.3": 60,
        "3.1": 70,
        "3.2": 70,
        "3.3": 60,
    }
    measured = {"4.1": 0.93, "4.2": 0.88, "4.3": 0.99, "4.4": 12.0, "5.1": 120, "5.2": 80}
    await put_answers(inspection, {**points, **measured, "V1": False})
    summary = await client.get(f"/api/inspections/{inspection}/points-summary", headers=county)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["status"] == "determined"
    assert body["tier"] == "not_awarded"
    assert body["vetoes"] == [
        {"id": "V1", "text": "完成妇幼保健和计划生育技术服务资源优化整合", "outcome": "failed"}
    ]
    floors = {f["article"]: f for f in body["floors"]}
    assert floors["4.1"]["national"] == 0.9
    assert floors["4.1"]["ownTarget"] == 0.95
    assert floors["4.1"]["metNational"] is True
    assert floors["4.1"]["metOwn"] is False
    assert floors["4.2"]["metNational"] is False
    assert floors["4.2"]["floor"] == 0.85
    assert floors["4.4"]["op"] == "<="
    assert floors["4.4"]["metNational"] is True
    await put_answers(inspection, {"V1": True})
    body = (await client.get(f"/api/inspections/{inspection}/points-summary", headers=county)).json()
    assert body["vetoes"][0]["outcome"] == "passed"
    assert body["status"] == "undetermined"  # the award score is not transcribed: no tier guessed
    township = mch["self_inspections"][0]
    await set_status(township, "in_progress")
    refused = await client.get(
        f"/api/inspections/{township}/points-summary", headers=await login(client, "admin")
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_points_scored"


async def test_the_conclusion_scores_against_the_countys_own_targets_where_it_set_them(
    client: httpx.AsyncClient, mch: dict[str, Any]
) -> None:
    """4.1 (linear to target, 60 points): 0.93 measured meets the national 0.9 (60 points) but not the county's
    own 0.95 (60 × 0.93 / 0.95); a county with no own target is scored against the national value."""
    points = {
        "1.1": 80,
        "1.2": 60,
        "1.3": 60,
        "2.1": 70,
        "2.2": 70,
        "2.3": 60,
        "3.1": 70,
        "3.2": 70,
        "3.3": 60,
    }
    measured = {"4.1": 0.93, "4.2": 0.9, "4.3": 0.99, "4.4": 12.0, "5.1": 120, "5.2": 80}
    own, other = mch["mch_self_inspections"][:2]
    for inspection in (own, other):
        await put_answers(inspection, {**points, **measured, "V1": True})
    county = await login(client, "county1")
    url = f"/api/rounds/{mch['mch_round']}/subjects/{mch['county_subjects'][0]}/targets"
    assert (
        await client.put(url, headers=county, json={"targets": [{"article": "4.1", "target": 0.95}]})
    ).status_code == 200
    admin = await login(client, "admin")

    async def score(inspection: UUID) -> dict[str, Any]:
        response = await client.get(f"/api/inspections/{inspection}/conclusion", headers=admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["conclusion"]["score"]
        return result

    mine, theirs = await score(own), await score(other)
    indicator = {i["number"]: i for i in mine["indicators"]}["4.1"]
    assert indicator["targetSource"] == "own"
    assert (indicator["target"], indicator["national"]) == (0.95, 0.9)
    assert indicator["met"] is False
    assert indicator["points"] == pytest.approx(60 * 0.93 / 0.95)
    national = {i["number"]: i for i in theirs["indicators"]}["4.1"]
    assert (national["targetSource"], national["target"], national["met"], national["points"]) == (
        "national",
        0.9,
        True,
        60,
    )
    assert {i["targetSource"] for i in mine["indicators"] if i["number"] != "4.1"} == {"national"}
    assert theirs["points"] - mine["points"] == pytest.approx(60 - 60 * 0.93 / 0.95)
    # the floors beside the conclusion say which target it was scored against
    body = (await client.get(f"/api/inspections/{own}/points-summary", headers=county)).json()
    floors = {f["article"]: f for f in body["floors"]}
    assert (floors["4.1"]["scoredAgainst"], floors["4.1"]["metNational"], floors["4.1"]["metOwn"]) == (
        "own",
        True,
        False,
    )
    assert floors["4.2"]["scoredAgainst"] == "national"


async def test_rankings_and_exports_work_for_counties(client: httpx.AsyncClient, mch: dict[str, Any]) -> None:
    points = {
        "1.1": 80,
        "1.2": 60,
        "1.3": 60,
        "2.1": 70,
        "2.2": 70,
        "2.3": 60,
        "3.1": 70,
        "3.2": 70,
        "3.3": 60,
    }
    measured = {"4.1": 0.93, "4.2": 0.91, "4.3": 0.99, "4.4": 12.0, "5.1": 120, "5.2": 80}
    for n, inspection in enumerate(mch["mch_self_inspections"][:2]):
        await put_answers(inspection, {**points, **measured, "1.1": 80 - 10 * n, "V1": True})
    office = await login(client, "province")
    east, west = mch["county_subjects"][:2]
    ranked = await client.get(
        f"/api/facilities/{west}/rounds/{mch['mch_round']}/rankings", headers=office, params={"stage": "self"}
    )
    assert ranked.status_code == 200, ranked.text
    article = next(a for a in ranked.json()["articles"] if a["item"] == "1.1")
    city = next(p for p in article["places"] if p["scope"] == "city")
    assert (city["rank"], city["of"]) == (2, 2)  # 70 points against 东城县's 80
    exported = await client.get(f"/api/rounds/{mch['mch_round']}/exports/conclusions", headers=office)
    assert exported.status_code == 200, exported.text
    # names, never bare ids (the verdict's exports)
    assert "东城县妇幼健康优质服务示范工程" in exported.text
    assert "西山县妇幼健康优质服务示范工程" in exported.text
    assert str(east) not in exported.text
