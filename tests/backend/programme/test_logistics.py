"""School logistics (seed 004) on the shared machinery: the routine schedule, a failed critical item → a fix with
a deadline → closed only by a later visit's photo of the fix, the appraisal weights, the term report."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx
import openpyxl
import pytest
from litestar import Litestar

from backend.accounts.tables import User
from backend.inspections.tables import Inspection, Round
from backend.programme.demo import CANTEEN_STANDARD, MCH_STANDARD, ROUTINE_STANDARD, load_programme_demo
from backend.programme.logistics import visit_days
from backend.programme.logistics_tables import RoutineFix, RoutineVisit
from backend.standards import combine_raters, load_shipped
from backend.standards.schemas import WeightedScoring
from media.tables import Blob, BlobHolder
from media.upload_complete import holder_key
from sync.tables import Photo
from tests.backend.exports.test_exports import run_jobs
from tests.backend.programme.support import TOWNSHIP
from tests.backend.review.test_conclusions import put_answers
from tests.conftest import login

CANTEEN = [f"1.{n}" for n in range(1, 12)]
SHOP = [f"2.{n}" for n in range(1, 8)]
START = date(2027, 9, 1)
LEDGER = "2.7"  # 认真做好台帐，接受上级检查: a document


@pytest.fixture
async def school(demo: dict[str, Any]) -> dict[str, Any]:
    """The demo school (its demo schedule is at the demo's term) with a term of its own for these tests."""
    ids = {**demo, **await load_programme_demo(demo)}
    term = Round(name="2027年秋季学期", year=2027, region=demo["counties"][0])
    await term.save()
    return {**ids, "school_round": term.id}


def _url(school: dict[str, Any], tail: str) -> str:
    return f"/api/schools/{school['school']}/rounds/{school['school_round']}/{tail}"


async def _schedule(
    client: httpx.AsyncClient, headers: dict[str, str], school: dict[str, Any], **extra: Any
) -> httpx.Response:
    body = {
        "standardVersionId": ROUTINE_STANDARD,
        "everyDays": 7,
        "startsOn": "2027-09-01",
        "endsOn": "2027-09-29",
    }
    return await client.post(_url(school, "schedule"), headers=headers, json={**body, **extra})


def test_visit_days_recur_on_the_schedule() -> None:
    assert visit_days(START, date(2027, 9, 29), 7) == [START + timedelta(days=7 * n) for n in range(5)]
    assert visit_days(START, START, 1) == [START]
    assert visit_days(START, date(2027, 9, 3), 1) == [START, date(2027, 9, 2), date(2027, 9, 3)]


def test_the_appraisal_weights_are_the_seeds() -> None:
    standard = load_shipped("school-canteen-checklist")
    assert isinstance(standard.scoring, WeightedScoring)
    total, terms = combine_raters(
        standard.scoring,
        {"duty_officer": 100, "students": 80, "class_teachers": 60, "student_representatives": 90},
    )
    assert round(total, 6) == 88.0
    assert {t.code: t.weight for t in terms} == {
        "duty_officer": 0.4,
        "students": 0.15,
        "class_teachers": 0.15,
        "student_representatives": 0.3,
    }


async def test_the_schedule_opens_one_inspection_per_visit_day(
    client: httpx.AsyncClient, school: dict[str, Any]
) -> None:
    duty = await login(client, "school1")
    admin = await login(client, "admin")
    huge = await _schedule(client, duty, school, startsOn="0001-01-01", endsOn="9999-12-31", everyDays=1)
    assert huge.status_code == 422, huge.text
    assert huge.json()["code"] == "too_many_visits"
    refused = await _schedule(client, duty, school, endsOn="2027-08-01")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "bad_dates"
    for standard in (TOWNSHIP, MCH_STANDARD):
        wrong = await _schedule(client, duty, school, standardVersionId=standard)
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["code"] == "standard_does_not_fit"
    # the weighted appraisal standard is no routine checklist: the duty officer alone cannot complete it
    weighted = await _schedule(client, duty, school, standardVersionId=CANTEEN_STANDARD)
    assert weighted.status_code == 409
    assert weighted.json()["code"] == "not_a_routine_checklist"
    made = await _schedule(client, duty, school)
    assert made.status_code == 201, made.text
    body = made.json()
    assert [v["dueOn"] for v in body["visits"]] == [str(START + timedelta(days=7 * n)) for n in range(5)]
    assert {v["status"] for v in body["visits"]} == {"draft"}
    ids = [UUID(v["inspectionId"]) for v in body["visits"]]
    rows = await Inspection.select().where(Inspection.id.is_in(ids))
    assert {(r["stage"], r["facility"], r["standard_version_id"]) for r in rows} == {
        ("self", school["school"], ROUTINE_STANDARD)
    }
    again = await _schedule(client, admin, school)
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_schedule"
    # the duty officer's phone lists the visits (the school's own inspections)
    listed = (await client.get("/api/assignments", headers=duty)).json()
    assert set(ids) <= {UUID(a["inspectionId"]) for a in listed}
    # another school's account (a clinic) sees nothing of it
    assert (
        await client.get(_url(school, "schedule"), headers=await login(client, "clinic1"))
    ).status_code == 403


async def _submit(client: httpx.AsyncClient, inspection: UUID) -> None:
    """The duty officer's submit, through the push like the phone's (the fixes are stored in its transaction)."""
    body = {
        "protocolVersion": 1,
        "clientGroupId": f"g-{uuid.uuid4()}",
        "clientId": f"c-{uuid.uuid4()}",
        "mutations": [{"id": 1, "name": "submitInspection", "args": {"inspectionId": str(inspection)}}],
    }
    response = await client.post("/api/sync/push", json=body, headers=await login(client, "school1"))
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "applied", response.text


async def _visit(
    client: httpx.AsyncClient,
    inspection: UUID,
    fails: tuple[str, ...] = (),
    photos: tuple[str, ...] = (),
    submit: bool = True,
    ledger: bool = True,
) -> None:
    school_user = (await User.select(User.id).where(User.username == "school1").first())["id"]
    answers = {n: n not in fails for n in [*CANTEEN, *SHOP]}
    await put_answers(inspection, answers)
    for item in photos:
        data = uuid.uuid4().hex
        await Photo.insert(
            Photo(
                id=uuid.uuid4(),
                inspection_id=inspection,
                item_code=item,
                sha256=data * 2,
                size=100,
                mime="image/jpeg",
            )
        )
    if ledger:
        await _ledger(inspection, school_user)
    if submit:
        await _submit(client, inspection)


async def _ledger(inspection: UUID, author: UUID) -> None:
    """The shop's ledger on 2.7 (seed 004 asks for it: minDocuments 1), its whole file arrived from its author."""
    digest = uuid.uuid4().hex * 2
    await Photo.insert(
        Photo(
            id=uuid.uuid4(),
            inspection_id=inspection,
            item_code=LEDGER,
            sha256=digest,
            size=100,
            mime="application/pdf",
            created_by=author,
        )
    )
    await Blob.insert(
        Blob(sha256=digest, size=100, mime="application/pdf", storage_key=f"blobs/{digest}", state="stored")
    )
    await BlobHolder.insert(BlobHolder(key=holder_key(digest, author), sha256=digest, user_id=author))


async def _visits(client: httpx.AsyncClient, school: dict[str, Any]) -> list[UUID]:
    made = await _schedule(client, await login(client, "school1"), school)
    return [UUID(v["inspectionId"]) for v in made.json()["visits"]]


async def test_a_failed_critical_item_raises_a_fix_closed_only_with_a_photo(
    client: httpx.AsyncClient, school: dict[str, Any]
) -> None:
    visits = await _visits(client, school)
    duty = await login(client, "school1")
    await _visit(client, visits[0], fails=("1.3", "1.5"), submit=False)  # 1.3 食具天天消毒 is critical
    assert await RoutineFix.count() == 0  # a draft raises nothing
    await _submit(client, visits[0])
    # stored by the submit itself, before anyone reads the fixes
    stored = await RoutineFix.select(RoutineFix.article, RoutineFix.status, RoutineFix.due_on)
    assert stored == [{"article": "1.3", "status": "open", "due_on": date(2027, 9, 4)}]
    fixes = (await client.get(_url(school, "fixes"), headers=duty)).json()
    assert [(f["article"], f["status"], f["raisedOn"], f["dueOn"]) for f in fixes] == [
        ("1.3", "open", "2027-09-01", "2027-09-04")
    ]
    assert fixes[0]["title"] == "食具天天消毒"
    assert fixes[0]["overdue"] is False
    # a later visit passes it without a photo: still open
    await _visit(client, visits[1])
    fixes = (await client.get(_url(school, "fixes"), headers=duty)).json()
    assert fixes[0]["status"] == "open"
    assert fixes[0]["passedWithoutPhoto"] is True
    # a draft visit with the photo does not count until submitted
    await _visit(client, visits[2], photos=("1.3",), submit=False)
    assert (await client.get(_url(school, "fixes"), headers=duty)).json()[0]["status"] == "open"
    await _submit(client, visits[2])
    closed = await RoutineFix.select(RoutineFix.status, RoutineFix.closing_inspection).first()
    assert closed == {"status": "closed", "closing_inspection": visits[2]}  # closed at that submit
    fixes = (await client.get(_url(school, "fixes"), headers=duty)).json()
    assert fixes[0]["status"] == "closed"
    assert fixes[0]["closedOn"] == "2027-09-15"
    photo = await Photo.select(Photo.id).where(Photo.inspection_id == visits[2]).first()
    assert photo is not None
    assert fixes[0]["closingPhotoId"] == str(photo["id"])
    assert fixes[0]["closingInspectionId"] == str(visits[2])
    assert await RoutineFix.count() == 1  # reading again raises nothing twice
    schedule = (await client.get(_url(school, "schedule"), headers=duty)).json()
    assert [(v["passed"], v["applicable"], v["criticalFailed"]) for v in schedule["visits"][:3]] == [
        (16, 18, ["1.3"]),
        (18, 18, []),
        (18, 18, []),
    ]


async def test_a_visit_submitted_late_is_closed_by_an_earlier_submitted_later_visit(
    client: httpx.AsyncClient, school: dict[str, Any]
) -> None:
    """Visits submitted out of order: the fix raised now is closed at once by a later visit already submitted
    with the photo of the fix; a visit due before the failing one never closes it."""
    visits = await _visits(client, school)
    await _visit(client, visits[0], photos=("1.3",))  # due before the failure: closes nothing
    await _visit(client, visits[2], photos=("1.3",))
    await _visit(client, visits[1], fails=("1.3",))
    rows = await RoutineFix.select(RoutineFix.inspection, RoutineFix.status, RoutineFix.closing_inspection)
    assert rows == [{"inspection": visits[1], "status": "closed", "closing_inspection": visits[2]}]


async def test_a_visit_is_submitted_only_with_the_shops_ledger(
    client: httpx.AsyncClient, school: dict[str, Any]
) -> None:
    visits = await _visits(client, school)
    await _visit(client, visits[0], submit=False, ledger=False)
    body = {
        "protocolVersion": 1,
        "clientGroupId": "g-ledger",
        "clientId": "c-ledger",
        "mutations": [{"id": 1, "name": "submitInspection", "args": {"inspectionId": str(visits[0])}}],
    }
    refused = await client.post("/api/sync/push", json=body, headers=await login(client, "school1"))
    result = refused.json()["results"][0]
    assert (result["status"], result["reason"]) == ("rejected", "evidence_missing")
    assert result["detail"] == "1 item(s) short of their minimum documents: 2.7 (0/1)"
    await _visit(client, visits[0])  # with the ledger
    assert (await Inspection.select(Inspection.status).where(Inspection.id == visits[0]).first()) == {
        "status": "submitted"
    }


async def test_an_open_fix_past_its_day_is_overdue(client: httpx.AsyncClient, school: dict[str, Any]) -> None:
    visits = await _visits(client, school)
    await _visit(client, visits[0], fails=("2.4",))
    duty = await login(client, "school1")
    await RoutineFix.update({RoutineFix.due_on: date.today() - timedelta(days=2)}).where(
        RoutineFix.article == "2.4"
    )
    fixes = (await client.get(_url(school, "fixes"), headers=duty)).json()
    assert fixes[0]["overdue"] is True
    assert fixes[0]["status"] == "open"


async def _staff(
    client: httpx.AsyncClient, headers: dict[str, str], school: dict[str, Any], name: str, post: str
) -> str:
    made = await client.post(
        f"/api/schools/{school['school']}/staff", headers=headers, json={"name": name, "post": post}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_the_appraisal_weighs_several_raters_per_staff_member(
    client: httpx.AsyncClient, school: dict[str, Any]
) -> None:
    visits = await _visits(client, school)
    duty = await login(client, "school1")
    cook = await _staff(client, duty, school, "赵师傅", "canteen")
    clerk = await _staff(client, duty, school, "钱阿姨", "shop")
    dup = await client.post(
        f"/api/schools/{school['school']}/staff", headers=duty, json={"name": "赵师傅", "post": "shop"}
    )
    assert dup.status_code == 409
    await _visit(client, visits[0], fails=("1.3",))
    await _visit(client, visits[1])
    await _visit(client, visits[2])
    url = f"/api/staff/{cook}/rounds/{school['school_round']}/appraisal"
    empty = (await client.get(url, headers=duty)).json()
    assert empty["combined"] is None
    assert empty["missing"] == ["students", "class_teachers", "student_representatives"]
    duty_score = {r["rater"]: r for r in empty["raters"]}["duty_officer"]
    assert duty_score["score"] == round(32 / 33 * 100, 2)  # 11 canteen items × 3 visits, one failed
    assert duty_score["count"] == 3
    for rater, name, score in [
        ("students", "初一(1)班生活委员", 80),
        ("students", "初一(2)班生活委员", 90),
        ("class_teachers", "张老师", 70),
        ("student_representatives", "学生代表", 90),
    ]:
        given = await client.post(
            url + "/scores", headers=duty, json={"rater": rater, "raterName": name, "score": score}
        )
        assert given.status_code == 201, given.text
    body = (await client.get(url, headers=duty)).json()
    raters = {r["rater"]: r for r in body["raters"]}
    assert raters["students"]["score"] == 85.0
    assert raters["students"]["count"] == 2
    assert body["combined"] == round(0.4 * round(32 / 33 * 100, 2) + 0.15 * 85 + 0.15 * 70 + 0.3 * 90, 2)
    for bad, code, status in [
        ({"rater": "duty_officer", "raterName": "x", "score": 90}, "rater_from_routine", 409),
        ({"rater": "parents", "raterName": "x", "score": 90}, "unknown_rater", 422),
    ]:
        refused = await client.post(url + "/scores", headers=duty, json=bad)
        assert refused.status_code == status
        assert refused.json()["code"] == code
    assert (
        await client.post(
            url + "/scores", headers=duty, json={"rater": "students", "raterName": "x", "score": 120}
        )
    ).status_code == 400
    # the shop clerk: every shop item passed at the visits → the duty officer gives 100; the seed's 100/80/60/90
    shop = f"/api/staff/{clerk}/rounds/{school['school_round']}/appraisal"
    for rater, score in [("students", 80), ("class_teachers", 60), ("student_representatives", 90)]:
        await client.post(
            shop + "/scores", headers=duty, json={"rater": rater, "raterName": "评分人", "score": score}
        )
    assert (await client.get(shop, headers=duty)).json()["combined"] == 88.0


async def test_the_term_report_per_school_and_per_staff_member(
    app: Litestar, client: httpx.AsyncClient, school: dict[str, Any]
) -> None:
    visits = await _visits(client, school)
    duty = await login(client, "school1")
    cook = await _staff(client, duty, school, "赵师傅", "canteen")
    await _visit(client, visits[0], fails=("1.3",))
    await _visit(client, visits[1], photos=("1.3",))
    params = {"facilityId": str(school["school"]), "roundId": str(school["school_round"])}
    page = await client.get("/api/printables/term-report", headers=duty, params=params)
    assert page.status_code == 200, page.text
    html = page.json()["html"]
    assert "学期后勤服务报告" in html
    assert "城关第一中学" in html
    assert "1.3 食具天天消毒" in html
    assert "已整改（有整改照片，2027年9月8日）" in html
    assert "赵师傅" in html
    assert "缺：学生（各班生活委员）" in html
    one = await client.get("/api/printables/term-report", headers=duty, params={**params, "subjectId": cook})
    assert "后勤人员学期考核：赵师傅" in one.json()["html"]
    english = await client.get("/api/printables/term-report", headers=duty, params={**params, "lang": "en"})
    assert english.status_code == 200, english.text
    text = english.json()["html"]
    assert "Term logistics report" in text
    assert "Fixed (photo of the fix, 8 Sep 2027)" in text
    assert "missing: Students (class welfare monitors)" in text
    assert "学期" not in text.replace("2027年秋季学期", "")  # only the round's own name is Chinese
    # the workbook is an export job like the PDF, in the reader's language
    books = {}
    for lang in ("zh", "en"):
        job = await client.post(
            "/api/exports",
            headers=duty,
            json={"kind": "term-report", "format": "xlsx", "lang": lang, **params},
        )
        assert job.status_code == 202, job.text
        assert job.json()["filename"].endswith(".xlsx")
        assert await run_jobs(app) == 1
        done = (await client.get(f"/api/exports/{job.json()['id']}", headers=duty)).json()
        assert done["status"] == "done", done
        file = await client.get(done["downloadUrl"], headers=duty)
        assert file.status_code == 200
        books[lang] = openpyxl.load_workbook(io.BytesIO(file.content))
    visits_sheet, fixes_sheet, staff_sheet = books["zh"].worksheets
    assert visits_sheet.max_row == 1 + 5
    assert [c.value for c in visits_sheet[2]][:2] == ["2027年9月1日", "已提交"]
    assert [c.value for c in fixes_sheet[2]][:3] == ["1.3 食具天天消毒", "2027年9月1日", "2027年9月4日"]
    rows = {row[0].value: [c.value for c in row] for row in staff_sheet.iter_rows(min_row=2)}
    assert rows["赵师傅"][:3] == ["赵师傅", "食堂", round(21 / 22 * 100, 2)]
    en_visits, en_fixes, en_staff = books["en"].worksheets
    assert [c.value for c in en_visits[1]] == ["Day", "Status", "Items passed", "Critical items failed"]
    assert [c.value for c in en_visits[2]][:2] == ["1 Sep 2027", "Submitted"]
    assert [c.value for c in en_fixes[2]][1:] == [
        "1 Sep 2027",
        "4 Sep 2027",
        "Fixed (photo of the fix, 8 Sep 2027)",
    ]
    assert [c.value for c in en_staff[1]][:3] == ["Name", "Post", "Duty officer 40%"]
    assert {row[0].value: row[1].value for row in en_staff.iter_rows(min_row=2)}["赵师傅"] == "Canteen"
    refused = await client.post(
        "/api/exports", headers=duty, json={"kind": "facility-report", "format": "xlsx", **params}
    )
    assert refused.status_code == 422
    other = await client.post(
        "/api/exports",
        headers=await login(client, "clinic1"),
        json={"kind": "term-report", "format": "xlsx", **params},
    )
    assert other.status_code == 403
    assert await RoutineVisit.count() == 5 + len(school["routine_visits"])
