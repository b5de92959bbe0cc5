"""Experts and stages (issue 19): the title gate, the seeded team draw, desk and on-site reviews, the stage
calendar with its application window and the late override, what is due and overdue, and the targets."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import create_user
from backend.accounts.tables import ExpertProfile
from backend.audit.tables import AuditLog
from backend.inspections.tables import Application, InspectionMember
from backend.inspections.teams import experts
from backend.programme.calendar import closes_at
from backend.programme.expert_draw import draw_team
from backend.standards.titles import meets_minimum, title_level
from tests.backend.programme.support import finish_self_assessment, sign_off
from tests.conftest import login

TOWNSHIP = "cn-thc-capacity-2018"


# ---------------------------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("主任医师", "senior"),
        ("副主任医师", "deputy_senior"),
        ("副主任护师", "deputy_senior"),
        ("主治医师", "intermediate"),
        ("主管护师", "intermediate"),
        ("会计师", "intermediate"),
        ("高级工程师", "deputy_senior"),
        ("正高级会计师", "senior"),
        ("中级", "intermediate"),
        ("医师", "junior"),
        ("护士", "junior"),
        ("助理会计师", "junior"),
        ("专家", None),
        ("", None),
    ],
)
def test_title_levels(title: str, level: str | None) -> None:
    assert title_level(title) == level


def test_title_gate_is_intermediate_or_above() -> None:
    assert meets_minimum("主治医师", "中级") is True
    assert meets_minimum("副主任医师", "中级") is True
    assert meets_minimum("医师", "中级") is False
    assert meets_minimum("专家", "中级") is None  # unknown: a person checks, nobody guesses
    assert meets_minimum("医师", None) is True


def test_a_team_draw_is_reproduced_from_its_seed() -> None:
    pool = [f"expert-{n:02d}" for n in range(12)]
    first = draw_team(pool, 5, "seed-1", "inspection-a")
    assert len(set(first)) == 5
    assert set(first) <= set(pool)
    # the same seed and pool (in any order) draw the same team in the same order
    assert draw_team(list(reversed(pool)), 5, "seed-1", "inspection-a") == first
    # another seed, or another inspection, draws otherwise (for this pool: checked, not assumed)
    assert draw_team(pool, 5, "seed-2", "inspection-a") != first
    assert draw_team(pool, 5, "seed-1", "inspection-b") != first
    with pytest.raises(ValueError, match="pool of 4"):
        draw_team(pool[:4], 5, "seed-1", "inspection-a")


def test_a_draw_balances_the_specialties_recorded_on_the_experts() -> None:
    # 9 in the pool: three 医疗, three 护理, one each of 公共卫生, 财务, 信息化; a team of 5 has each once
    recorded = {
        **{f"doctor-{n}": ["医疗"] for n in range(3)},
        **{f"nurse-{n}": ["护理"] for n in range(3)},
        "public": ["公共卫生"],
        "finance": ["财务"],
        "it": ["信息化"],
    }
    leads = set()
    for seed in ("a", "b", "c", "d", "e", "f"):
        team = draw_team(list(recorded), 5, seed, "inspection-a", recorded)
        assert sorted(recorded[m][0] for m in team) == sorted(["医疗", "护理", "公共卫生", "财务", "信息化"])
        assert draw_team(list(reversed(recorded)), 5, seed, "inspection-a", recorded) == team
        leads.add(team[0])
    assert len(leads) > 1  # still a random draw: the seed decides who, and who leads
    # two specialties, six experts each: 3 and 2 in a team of 5, never 4 and 1
    halves = {f"m{n}": ["医疗"] for n in range(6)} | {f"n{n}": ["护理"] for n in range(6)}
    for seed in ("a", "b", "c"):
        counts = Counter(halves[m][0] for m in draw_team(list(halves), 5, seed, "x", halves))
        assert sorted(counts.values()) == [2, 3]
    # experts with no specialty recorded are a kind of their own
    unrecorded: dict[str, list[str]] = {
        "blank-1": [],
        "blank-2": [],
        "doctor-1": ["医疗"],
        "doctor-2": ["医疗"],
    }
    for seed in ("a", "b", "c"):
        pair = draw_team(list(unrecorded), 2, seed, "x", unrecorded)
        assert sorted(bool(unrecorded[m]) for m in pair) == [False, True]


def test_a_stage_closes_at_the_end_of_its_day_in_china() -> None:
    assert closes_at(date(2026, 4, 15)) == datetime(2026, 4, 15, 16, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- experts


async def _expert(username: str, title: str, tied: list[Any] | None = None) -> str:
    out = await create_user(
        data=CreateUserRequest(
            username=username, password="demo-pass", role="inspector", display_name=username
        ),
        actor_id=None,
    )
    await ExpertProfile(
        user=out.id, title=title, specialties=["医疗"], tied_facility_ids=[str(t) for t in tied or []]
    ).save()
    return str(out.id)


async def test_the_title_gate_holds_for_a_hand_picked_team(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office = await login(client, "office")
    inspectors = [str(i) for i in demo["inspectors"]]
    junior = await _expert("junior1", "医师")
    unknown = await _expert("unknown1", "特聘专家")
    attending = await _expert("attending1", "主治医师")
    url = f"/api/admin/inspections/{demo['review_inspection']}/team"

    below = await client.put(
        url, headers=office, json={"members": [*inspectors[:4], junior], "leadId": inspectors[0]}
    )
    assert below.status_code == 409, below.text
    assert below.json()["code"] == "title_below_minimum"
    assert below.json()["minTitle"] == "中级"
    assert below.json()["expertIds"] == [junior]
    odd = await client.put(
        url, headers=office, json={"members": [*inspectors[:4], unknown], "leadId": inspectors[0]}
    )
    assert odd.json()["code"] == "title_unrecognised"
    ok = await client.put(
        url, headers=office, json={"members": [*inspectors[:4], attending], "leadId": attending}
    )
    assert ok.status_code == 200, ok.text
    # the pool shows each title's level, so an unrecognised one is seen before it refuses a team
    listed = (await client.get("/api/admin/experts", headers=office)).json()
    levels = {e["username"]: e["titleLevel"] for e in listed}
    assert levels["junior1"] == "junior"
    assert levels["unknown1"] is None
    assert levels["attending1"] == "intermediate"
    assert levels["inspector1"] == "senior"
    # the size rule is the programme's (5 and odd), with its figures on the refusal
    even = await client.put(url, headers=office, json={"members": inspectors[:4], "leadId": inspectors[0]})
    assert even.status_code == 422
    assert even.json()["code"] == "team_size"
    assert even.json()["minSize"] == 5


async def test_a_seeded_draw_honours_recusal_and_the_title_gate_and_is_audited(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office = await login(client, "office")
    facility = demo["facilities"][0]
    junior = await _expert("junior2", "护士")
    tied_late = await _expert("tied2", "主任医师", tied=[facility])
    extra = [await _expert(f"pool{n}", "主治医师") for n in range(3)]
    url = f"/api/inspections/{demo['review_inspection']}/team-draws"

    drawn = await client.post(url, headers=office, json={"seed": "2026-county-1"})
    assert drawn.status_code == 201, drawn.text
    out = drawn.json()
    assert out["seed"] == "2026-county-1"
    assert out["size"] == 5
    assert out["reproduced"] is True
    assert out["minTitle"] == "中级"
    excluded = {e["userId"]: e["reason"] for e in out["excluded"]}
    assert excluded[str(demo["inspectors"][5])] == "recusal"  # inspector6, tied to the facility
    assert excluded[tied_late] == "recusal"
    assert excluded[junior] == "title_below_minimum"
    eligible = {str(i) for i in demo["inspectors"][:5]} | set(extra)
    assert out["poolSize"] == len(eligible) == 8
    team = [m["userId"] for m in out["drawn"]]
    assert set(team) <= eligible
    assert len(set(team)) == 5
    assert [m["isLead"] for m in out["drawn"]] == [True, False, False, False, False]
    # the inspection's team is the drawn one, the first drawn leads
    members = {
        str(r["user"]): r["is_lead"]
        for r in await InspectionMember.select(InspectionMember.user, InspectionMember.is_lead).where(
            InspectionMember.inspection == demo["review_inspection"]
        )
    }
    assert members == {m: i == 0 for i, m in enumerate(team)}
    # balanced across the specialties recorded on the pool's experts: the demo's five inspectors have five
    # different ones, the three added experts 医疗 as one of them; so each specialty once, never 医疗 twice
    recorded = {str(k): list(v.specialties) for k, v in (await experts()).items()}
    assert sorted(s for m in out["drawn"] for s in m["specialties"]) == sorted(
        {s for e in eligible for s in recorded[e]}
    )
    assert len({s for m in out["drawn"] for s in m["specialties"]}) == 5
    # reproduced from its seed: the pure draw over the stored pool and specialties gives the same team
    again_drawn = draw_team(sorted(eligible), 5, "2026-county-1", str(demo["review_inspection"]), recorded)
    assert list(again_drawn) == team
    again = await client.post(url, headers=office, json={"seed": "2026-county-1"})
    assert [m["userId"] for m in again.json()["drawn"]] == team
    entry = await AuditLog.select().where(AuditLog.action == "inspection.team_draw").first()
    assert entry is not None
    details = entry["details"] if isinstance(entry["details"], dict) else json.loads(entry["details"])
    assert details["seed"] == "2026-county-1"
    assert details["members"] == team
    assert {e["userId"] for e in details["excluded"]} == set(excluded)
    listed = await client.get(url, headers=office)
    assert [d["reproduced"] for d in listed.json()] == [True, True]
    teams = await client.get(f"/api/rounds/{demo['round']}/teams", headers=office)
    row = next(t for t in teams.json() if t["inspectionId"] == str(demo["review_inspection"]))
    assert row["team"][0]["userId"] == team[0]
    assert row["lastDraw"]["seed"] == "2026-county-1"
    assert row["reviewMode"] == "onsite"
    assert row["teamIsDrawn"] is True
    # a team set by hand after the draw says so
    by_hand = [*team[:4], sorted(eligible - set(team))[0]]
    changed = await client.put(
        f"/api/admin/inspections/{demo['review_inspection']}/team",
        headers=office,
        json={"members": by_hand, "leadId": by_hand[0]},
    )
    assert changed.status_code == 200, changed.text
    teams = await client.get(f"/api/rounds/{demo['round']}/teams", headers=office)
    row = next(t for t in teams.json() if t["inspectionId"] == str(demo["review_inspection"]))
    assert row["teamIsDrawn"] is False

    # a pool too small for the size asked, and an even size, are refused and change nothing
    too_big = await client.post(url, headers=office, json={"size": 9})
    assert too_big.status_code == 409
    assert too_big.json()["code"] == "pool_too_small"
    assert too_big.json()["poolSize"] == 8
    even = await client.post(url, headers=office, json={"size": 6})
    assert even.status_code == 422
    assert even.json()["code"] == "team_size"
    # a clinic or an inspector may not draw
    clinic = await login(client, "clinic1")
    assert (await client.post(url, headers=clinic, json={})).status_code == 403


# ---------------------------------------------------------------------------------------------- review modes


async def test_desk_and_onsite_reviews_are_kept_apart(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    clinic = await login(client, "clinic1")
    round_id = str(demo["round"])
    recommended = str(demo["facilities"][0])
    for facility in (demo["facilities"][0], demo["facilities"][3]):
        await finish_self_assessment(facility, demo["round"])
    applied = await client.post(
        "/api/applications",
        headers=clinic,
        json={"facilityId": recommended, "roundId": round_id, "tier": "recommended"},
    )
    assert applied.status_code == 201, applied.text
    body = {"facilityId": recommended, "roundId": round_id, "standardVersionId": TOWNSHIP}
    # recommended-tier facilities are reviewed on site at province (onsiteRequiredFor)
    desk_at_province = await client.post(
        "/api/admin/inspections", headers=admin, json={**body, "stage": "province", "reviewMode": "desk"}
    )
    assert desk_at_province.status_code == 409
    assert desk_at_province.json()["code"] == "onsite_required"
    self_mode = await client.post(
        "/api/admin/inspections",
        headers=admin,
        json={**body, "facilityId": str(demo["facilities"][1]), "stage": "self", "reviewMode": "desk"},
    )
    assert self_mode.status_code == 422
    assert self_mode.json()["code"] == "not_a_review"
    # a basic-tier facility's city review may be a desk review (资料复核)
    basic = str(demo["facilities"][3])
    office = await login(client, "office")
    ok = await client.post(
        "/api/applications", headers=office, json={"facilityId": basic, "roundId": round_id, "tier": "basic"}
    )
    assert ok.status_code == 201, ok.text
    county = await client.post(
        "/api/admin/inspections",
        headers=admin,
        json={**body, "facilityId": basic, "stage": "county", "reviewMode": "desk"},
    )
    assert county.status_code == 201, county.text
    assert county.json()["reviewMode"] == "desk"
    listed = await client.get(f"/api/inspections/{county.json()['id']}", headers=admin)
    assert listed.json()["reviewMode"] == "desk"
    default = await client.get(f"/api/inspections/{demo['review_inspection']}", headers=admin)
    assert (
        default.json()["reviewMode"] is None
    )  # made before the distinction: on site (the teams list says so)


# ---------------------------------------------------------------------------------------------- calendar


async def test_the_calendar_from_the_programme_and_its_rules(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    office = await login(client, "office")
    url = f"/api/rounds/{demo['round']}/calendar"

    proposed = (await client.get(url, headers=office)).json()
    assert proposed["set"] is False
    assert {p["stage"]: p["dueOn"] for p in proposed["programme"]} == {
        "application": "2026-04-15",
        "county": "2026-05-10",
        "city": "2026-06-01",
        "province": "2026-06-20",
    }
    assert {s["stage"]: (s["state"], s["source"]) for s in proposed["stages"]}["county"] == (
        "not_set",
        "programme",
    )

    # the demo round is the province's: a city office does not set its plan
    refused = await client.put(url, headers=office, json={"fromProgramme": True})
    assert refused.status_code == 403
    assert refused.json()["code"] == "calendar_above_scope"
    backwards = await client.put(
        url, headers=admin, json={"deadlines": {"county": "2026-05-10", "city": "2026-05-01"}}
    )
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "deadlines_out_of_order"
    assert (await client.get(url, headers=admin)).json()["set"] is False  # nothing changed

    adopted = await client.put(
        url, headers=admin, json={"fromProgramme": True, "deadlines": {"province": "2026-06-25"}}
    )
    assert adopted.status_code == 200, adopted.text
    out = adopted.json()
    assert out["set"] is True
    assert out["setByName"] == "系统管理员"
    assert {s["stage"]: (s["dueOn"], s["source"]) for s in out["stages"]} == {
        "application": ("2026-04-15", "round"),
        "county": ("2026-05-10", "round"),
        "city": ("2026-06-01", "round"),
        "province": ("2026-06-25", "round"),
    }
    entry = await AuditLog.select().where(AuditLog.action == "round.calendar").first()
    assert entry is not None


async def _set_dates(client: httpx.AsyncClient, admin: dict[str, str], round_id: Any, **dates: date) -> None:
    response = await client.put(
        f"/api/rounds/{round_id}/calendar",
        headers=admin,
        json={"deadlines": {stage: day.isoformat() for stage, day in dates.items()}},
    )
    assert response.status_code == 200, response.text


async def test_an_application_after_the_window_needs_an_audited_override(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    office = await login(client, "office")
    clinic = await login(client, "clinic1")
    round_id = str(demo["round"])
    facility = str(demo["facilities"][0])
    today = datetime.now(UTC).date()
    body = {"facilityId": facility, "roundId": round_id, "tier": "basic"}
    late_url = f"/api/rounds/{round_id}/late-applications"
    await finish_self_assessment(demo["facilities"][0], demo["round"])

    # open window: the facility applies as usual, and no override is needed (nor given)
    await _set_dates(client, admin, round_id, application=today + timedelta(days=30))
    early = await client.post(late_url, headers=office, json={"facilityId": facility, "reason": "补报"})
    assert early.status_code == 409
    assert early.json()["code"] == "application_window_open"

    # closed window: refused, and nothing is written
    await _set_dates(client, admin, round_id, application=today - timedelta(days=2))
    before = await Application.count()
    closed = await client.post("/api/applications", headers=clinic, json=body)
    assert closed.status_code == 409, closed.text
    assert closed.json()["code"] == "application_window_closed"
    assert closed.json()["closedOn"] == (today - timedelta(days=2)).isoformat()
    assert await Application.count() == before

    # the clinic cannot let itself in; a reason is required; the office lets it in with one
    assert (
        await client.post(late_url, headers=clinic, json={"facilityId": facility, "reason": "x"})
    ).status_code == 403
    blank = await client.post(late_url, headers=office, json={"facilityId": facility, "reason": "   "})
    assert blank.status_code == 422
    granted = await client.post(
        late_url,
        headers=office,
        json={"facilityId": facility, "reason": "因疫情封控未能按期提交，经研究同意补报"},
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["applied"] is False
    assert granted.json()["grantedByName"] == "甲市卫健委"
    override = await AuditLog.select().where(AuditLog.action == "application.late_override").first()
    assert override is not None
    assert override["user_id"] == str(demo["office"])
    override_details = (
        override["details"] if isinstance(override["details"], dict) else json.loads(override["details"])
    )
    assert override_details["reason"] == "因疫情封控未能按期提交，经研究同意补报"

    applied = await client.post("/api/applications", headers=clinic, json=body)
    assert applied.status_code == 201, applied.text
    created = (
        await AuditLog.select()
        .where(AuditLog.action == "application.create")
        .order_by(AuditLog.id, ascending=False)
        .first()
    )
    assert created is not None
    details = created["details"] if isinstance(created["details"], dict) else json.loads(created["details"])
    assert details["lateOverride"] == granted.json()["id"]
    listed = (await client.get(late_url, headers=office)).json()
    assert [(x["facilityId"], x["applied"]) for x in listed] == [(facility, True)]
    # another facility is still refused
    other = await client.post(
        "/api/applications", headers=office, json={**body, "facilityId": str(demo["facilities"][1])}
    )
    assert other.json()["code"] == "application_window_closed"


async def test_the_dashboard_shows_what_is_due_and_overdue(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    admin = await login(client, "admin")
    office = await login(client, "office")
    round_id = str(demo["round"])
    today = datetime.now(UTC).date()
    first, second = str(demo["facilities"][0]), str(demo["facilities"][1])
    for facility in (first, second):
        await finish_self_assessment(facility, demo["round"])
        response = await client.post(
            "/api/applications",
            headers=office,
            json={"facilityId": facility, "roundId": round_id, "tier": "basic"},
        )
        assert response.status_code == 201, response.text
    await _set_dates(
        client,
        admin,
        round_id,
        application=today - timedelta(days=20),
        county=today - timedelta(days=1),
        city=today + timedelta(days=3),
        province=today + timedelta(days=40),
    )
    await sign_off(demo["facilities"][0], demo["round"], "county", demo["office"], tier="basic")
    stages = {
        s["stage"]: s
        for s in (await client.get(f"/api/rounds/{round_id}/calendar", headers=office)).json()["stages"]
    }
    assert (stages["application"]["state"], stages["application"]["done"]) == ("closed", 2)
    county = stages["county"]
    assert (county["state"], county["expected"], county["done"], county["pending"]) == ("overdue", 2, 1, 1)
    assert [f["facilityId"] for f in county["pendingFacilities"]] == [second]
    # basic tier is sampled at 50% in the city: until the sample is drawn, the facilities the county reported
    # up wait for it (the second is not reported yet: its county conclusion is not signed)
    assert (stages["city"]["state"], stages["city"]["awaitingSample"], stages["city"]["expected"]) == (
        "due_soon",
        1,
        0,
    )
    assert stages["province"]["state"] == "open"

    await sign_off(demo["facilities"][1], demo["round"], "county", demo["office"], tier="basic")
    stages = {
        s["stage"]: s
        for s in (await client.get(f"/api/rounds/{round_id}/calendar", headers=office)).json()["stages"]
    }
    assert (stages["county"]["state"], stages["county"]["pending"]) == ("closed", 0)
    assert stages["city"]["awaitingSample"] == 2


async def test_a_facility_the_county_did_not_report_is_not_awaited_above(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office = await login(client, "office")
    round_id = str(demo["round"])
    facility = demo["facilities"][0]
    await finish_self_assessment(facility, demo["round"])
    response = await client.post(
        "/api/applications",
        headers=office,
        json={"facilityId": str(facility), "roundId": round_id, "tier": "recommended"},
    )
    assert response.status_code == 201, response.text
    url = f"/api/rounds/{round_id}/calendar"
    # recommended tier is reviewed in full at city and province, once the county reports it up
    before = {s["stage"]: s for s in (await client.get(url, headers=office)).json()["stages"]}
    assert [before[stage]["expected"] for stage in ("county", "city", "province")] == [1, 0, 0]
    # found reaching basic only: reported up with basic (sampled at city), never expected as recommended
    await sign_off(facility, demo["round"], "county", demo["office"], tier="basic")
    after = {s["stage"]: s for s in (await client.get(url, headers=office)).json()["stages"]}
    assert (after["city"]["expected"], after["city"]["awaitingSample"]) == (0, 1)
    assert after["province"]["expected"] == 0


async def test_the_programme_targets_per_county(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    office = await login(client, "office")
    round_id = str(demo["round"])
    township = str(demo["facilities"][0])
    await finish_self_assessment(township, demo["round"])
    response = await client.post(
        "/api/applications",
        headers=office,
        json={"facilityId": township, "roundId": round_id, "tier": "recommended"},
    )
    assert response.status_code == 201, response.text
    await sign_off(demo["facilities"][0], demo["round"], "county", demo["office"], tier="recommended")
    # applied for basic, found recommended: it carries basic on the list, so it does not reach 推荐
    basic = demo["facilities"][3]
    await finish_self_assessment(basic, demo["round"])
    response = await client.post(
        "/api/applications",
        headers=office,
        json={"facilityId": str(basic), "roundId": round_id, "tier": "basic"},
    )
    assert response.status_code == 201, response.text
    await sign_off(basic, demo["round"], "county", demo["office"], tier="recommended")
    targets = (await client.get(f"/api/rounds/{round_id}/targets", headers=office)).json()["targets"]
    by = {(t["standardId"], t["measure"]): t for t in targets}
    applying = by[(TOWNSHIP, "applying")]
    assert applying["minShare"] == 0.2
    assert applying["facilityKinds"] == ["township_centre"]
    first_county = applying["counties"][0]
    county_of = {c["countyId"]: c for c in applying["counties"]}
    assert applying["count"] == 2
    assert sum(c["total"] for c in applying["counties"]) == applying["total"]
    assert sum(c["count"] for c in applying["counties"]) == 2
    for hit in county_of.values():
        assert hit["share"] == pytest.approx(hit["count"] / hit["total"])
        assert hit["met"] is (hit["count"] / hit["total"] >= 0.2)
    assert first_county["countyName"]
    reaching = by[(TOWNSHIP, "reaching")]
    assert (reaching["tier"], reaching["minShare"], reaching["count"]) == ("recommended", 0.3, 1)
    community = by[("cn-chsc-capacity-2018", "applying")]
    assert (community["minShare"], community["count"]) == (0.1, 0)
    assert community["met"] is False
    assert community["countiesBelow"] == len(community["counties"])


def test_the_programme_settings_of_stages_are_validated() -> None:
    import msgspec

    from backend.standards import load_shipped
    from backend.standards.schemas import ExpertTeamRules, ProgrammeTarget
    from backend.standards.validation import check_standard

    shipped = load_shipped("township-2018")
    assert list(check_standard(shipped)) == []
    settings = msgspec.structs.replace(
        shipped.programme_settings,
        expert_team=ExpertTeamRules(min_title="资深"),
        stage_deadlines={"application": "04-31", "review": "05-10"},
        targets=(
            ProgrammeTarget(measure="reaching", min_share=0.3),
            ProgrammeTarget(measure="applying", min_share=0.2),
        ),
    )
    problems = {p.path for p in check_standard(msgspec.structs.replace(shipped, programme_settings=settings))}
    assert problems == {
        "$.programmeSettings.expertTeam.minTitle",
        '$.programmeSettings.stageDeadlines["application"]',
        '$.programmeSettings.stageDeadlines["review"]',
        "$.programmeSettings.targets[0].tier",
    }
