"""Export jobs (CSV, XLSX, the report's PDF) run by the media workers, their scope, failures and leases;
the facility report's content and scope."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import msgspec
import openpyxl
import pypdfium2
from litestar import Litestar

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import create_user
from backend.audit.tables import AuditLog
from backend.exports.tables import ExportJob
from backend.registry.tables import Facility
from backend.workers import build_media_worker
from media.worker import WorkerConfig
from tests.backend.review.test_conclusions import ARTICLES, PASSED, put_answers
from tests.conftest import login


def _is_uuid(value: object) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


async def run_jobs(app: Litestar, **settings: Any) -> int:
    config = msgspec.structs.replace(app.state.settings, **settings)
    worker = build_media_worker(config, app.state.engine, app.state.storage, WorkerConfig(lease_seconds=60))
    return await worker.run_once()


async def seed(demo: dict[str, Any]) -> None:
    selfs = demo["self_inspections"]
    await put_answers(selfs[0], {**PASSED, **dict.fromkeys(ARTICLES, "A")})
    await put_answers(selfs[1], {**PASSED, **dict.fromkeys(ARTICLES, "B")})
    # the county review of facility 0 grades the first article two grades lower
    await put_answers(demo["review_inspection"], {**PASSED, ARTICLES[0]: "C", ARTICLES[1]: "A"})


async def start(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post("/api/exports", json=body, headers=headers)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] == "queued"
    assert job["progress"] == 0
    assert job["downloadUrl"] is None
    return job


async def other_office(demo: dict[str, Any], client: httpx.AsyncClient) -> dict[str, str]:
    await create_user(
        data=CreateUserRequest(
            username="office2", password="demo", role="office", region_id=demo["cities"][1]
        ),
        actor_id=None,
        is_demo=True,  # the demo password, as the demo accounts
    )
    return await login(client, "office2")


async def test_xlsx_and_csv_exports_run_in_the_background(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    await seed(demo)
    office = await login(client, "office")
    round_id = str(demo["round"])
    answers = await start(client, office, kind="answers", format="xlsx", roundId=round_id)
    conclusions = await start(client, office, kind="conclusions", format="csv", roundId=round_id)
    gaps = await start(client, office, kind="discrepancies", format="xlsx", roundId=round_id)
    rankings = await start(client, office, kind="rankings", format="csv", roundId=round_id)
    # not ready yet: the download says so
    early = await client.get(answers["downloadUrl"] or f"/api/exports/{answers['id']}/file", headers=office)
    assert early.status_code == 409
    assert early.json()["code"] == "export_not_ready"

    assert await run_jobs(app) == 4
    audited = await AuditLog.select().where(AuditLog.action == "export.start")
    assert len(audited) == 4
    assert {r["entity"] for r in audited} == {
        f"export/{j['id']}" for j in (answers, conclusions, gaps, rankings)
    }
    listed = (await client.get(f"/api/exports?roundId={round_id}", headers=office)).json()
    assert {j["id"] for j in listed} == {answers["id"], conclusions["id"], gaps["id"], rankings["id"]}
    job = (await client.get(f"/api/exports/{answers['id']}", headers=office)).json()
    assert (job["status"], job["progress"], job["error"]) == ("done", 1.0, None)
    n_answers = 2 * (len(PASSED) + len(ARTICLES)) + len(PASSED) + 2
    assert job["rows"] == n_answers
    assert job["downloadUrl"] == f"/api/exports/{answers['id']}/file"

    got = await client.get(job["downloadUrl"], headers=office)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in got.headers["content-disposition"]
    # a readable file name: the round's and what it holds (UTF-8 filename*, an ASCII fallback)
    assert job["filename"] == "2026年度“优质服务基层行”活动-评分明细.xlsx"
    assert "filename*=UTF-8''2026" in got.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(got.content), read_only=True)
    rows = list(book["评分明细"].iter_rows(values_only=True))
    # Chinese column titles, facilities by name, stages and answers in words, each article with its title
    assert rows[0] == ("机构", "县（区）", "阶段", "条款编号", "条款名称", "评定")
    assert len(rows) == 1 + n_answers
    mine = {(r[2], r[3]): r[5] for r in rows[1:] if r[0] == "城关镇卫生院"}
    assert mine[("自评", ARTICLES[0])] == "A"
    assert mine[("县级初审", ARTICLES[0])] == "C"
    assert mine[("自评", "P1")] == "符合"
    assert all(r[4] for r in rows[1:] if r[3] == ARTICLES[0]), "every graded article has its title"
    assert not any(_is_uuid(v) for r in rows for v in r), "no bare id columns"

    gap_book = openpyxl.load_workbook(
        io.BytesIO((await client.get(f"/api/exports/{gaps['id']}/file", headers=office)).content),
        read_only=True,
    )
    gap_rows = list(gap_book["自评与评审差异"].iter_rows(values_only=True))
    wide = [r for r in gap_rows[1:] if r[9] == "是"]
    assert [(r[2], r[3], r[5], r[6], r[7], r[8]) for r in wide] == [
        ("县级初审", ARTICLES[0], "A", "C", "低于自评", 2)
    ]

    text = (await client.get(f"/api/exports/{conclusions['id']}/file", headers=office)).content.decode(
        "utf-8"
    )
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(table) == 7  # 甲市's six self-assessments and the county review; nothing of 乙市
    names = await Facility.select(Facility.name).where(Facility.id.is_in(demo["facilities"][:6]))
    assert {r["机构"] for r in table} == {n["name"] for n in names}
    assert {r["阶段"] for r in table} == {"自评", "县级初审"}
    ranked = (await client.get(f"/api/exports/{rankings['id']}/file", headers=office)).content.decode()
    places = [r for r in csv.DictReader(io.StringIO(ranked.lstrip("\ufeff"))) if r["机构"] == "城关镇卫生院"]
    assert {(r["阶段"], r["排名范围"], r["名次"]) for r in places if r["条款编号"] == ARTICLES[0]} >= {
        ("自评", "县", "1")
    }
    assert all(r["条款名称"] for r in places)

    # the office of another region sees none of it; a clinic starts no round export
    elsewhere = await other_office(demo, client)
    assert (await client.get(f"/api/exports/{answers['id']}", headers=elsewhere)).status_code == 403
    assert (await client.get(f"/api/exports/{answers['id']}/file", headers=elsewhere)).status_code == 403
    assert (await client.get("/api/exports", headers=elsewhere)).json() == []
    clinic = await login(client, "clinic1")
    refused = await client.post(
        "/api/exports", json={"kind": "answers", "format": "csv", "roundId": round_id}, headers=clinic
    )
    assert refused.status_code == 403
    assert (await client.get(f"/api/exports/{answers['id']}/file", headers=clinic)).status_code == 403
    bad = await client.post(
        "/api/exports", json={"kind": "answers", "format": "pdf", "roundId": round_id}, headers=office
    )
    assert bad.status_code == 422  # the format allowed by the schema, refused for this kind
    assert bad.json()["code"] == "unsupported_format"
    bad = await client.post("/api/exports", json={"kind": "nonsense", "format": "csv"}, headers=office)
    assert bad.status_code == 422
    assert bad.json()["code"] == "unknown_export_kind"


async def test_the_report_says_what_is_known_in_scope(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    await seed(demo)
    facility, round_id = demo["facilities"][0], demo["round"]
    url = f"/api/printables/facility-report?facilityId={facility}&roundId={round_id}"
    office = await login(client, "office")
    got = await client.get(url, headers=office)
    assert got.status_code == 200, got.text
    report = got.json()
    assert report["title"].startswith("城关镇卫生院")
    body = report["html"]
    assert "城关镇卫生院" in body
    assert "东城县" in body
    assert "<svg" in body
    assert 'data-stage="self"' in body
    assert 'data-stage="county"' in body
    assert f'data-item="{ARTICLES[0]}" data-wide-gap="true"' in body
    assert f'data-item="{ARTICLES[1]}" data-wide-gap="false"' in body
    assert "至少达到" in body or "尚无确定的档次" in body  # the conclusion's "what is known", in Chinese
    assert "<script" not in body
    assert "style=" not in body
    # in the reader's language, Chinese by default: no English word in the visible text
    visible = re.sub(r"<[^>]+>", " ", re.sub(r'src="[^"]*"', "", body))
    assert re.findall(r"\b[A-Za-z]{2,}\b", visible) == []  # codes such as a licence number are data
    english = (await client.get(f"{url}&lang=en", headers=office)).json()["html"]
    assert "Facility review report" in english
    assert "At least" in english or "at least" in english or "no tier is certain" in english
    # a clinic reads its own report, without the county's conclusion; no other facility's
    clinic = await login(client, "clinic1")
    own = (await client.get(url, headers=clinic)).json()["html"]
    assert 'data-stage="self"' in own
    assert 'data-stage="county"' not in own
    other = f"/api/printables/facility-report?facilityId={demo['facilities'][1]}&roundId={round_id}"
    assert (await client.get(other, headers=clinic)).status_code == 403
    assert (await client.get(url, headers=await other_office(demo, client))).status_code == 403
    missing = await client.get(f"/api/printables/facility-report?facilityId={facility}", headers=office)
    assert missing.status_code == 422
    assert missing.json()["code"] == "missing_parameter"
    assert (await client.get("/api/printables/nonsense", headers=office)).status_code == 404


async def test_the_report_prints_to_a_pdf(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any], tmp_path: Path
) -> None:
    await seed(demo)
    clinic = await login(client, "clinic1")
    body = {"kind": "facility-report", "format": "pdf", "facilityId": str(demo["facilities"][0])}
    body["roundId"] = str(demo["round"])
    job = await start(client, clinic, **body)
    other = {**body, "facilityId": str(demo["facilities"][1])}
    assert (await client.post("/api/exports", json=other, headers=clinic)).status_code == 403
    assert await run_jobs(app) == 1
    done = (await client.get(f"/api/exports/{job['id']}", headers=clinic)).json()
    assert done["status"] == "done", done
    pdf = (await client.get(done["downloadUrl"], headers=clinic)).content
    assert pdf.startswith(b"%PDF")
    document = pypdfium2.PdfDocument(pdf)
    assert len(document) >= 1
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "城关镇卫生院" in text
    assert "机构信息" in text


async def test_a_failed_export_says_so(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    office = await login(client, "office")
    body = {"kind": "facility-report", "format": "pdf", "facilityId": str(demo["facilities"][0])}
    job = await start(client, office, roundId=str(demo["round"]), **body)
    assert await run_jobs(app, chromium="/nonexistent/chromium") == 1
    failed = (await client.get(f"/api/exports/{job['id']}", headers=office)).json()
    assert failed["status"] == "failed"
    assert "chromium" in failed["error"]
    refused = await client.get(f"/api/exports/{job['id']}/file", headers=office)
    assert refused.status_code == 409
    assert refused.json()["code"] == "export_failed"
    assert await run_jobs(app) == 0  # ended, not retried


async def test_a_job_run_twice_after_a_lost_lease_leaves_one_whole_file(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    await seed(demo)
    office = await login(client, "office")
    job = await start(client, office, kind="answers", format="xlsx", roundId=str(demo["round"]))
    now = [1_000_000_000_000]
    first = build_media_worker(
        app.state.settings, app.state.engine, app.state.storage, WorkerConfig(lease_seconds=10)
    )
    second = build_media_worker(
        app.state.settings, app.state.engine, app.state.storage, WorkerConfig(lease_seconds=10)
    )
    first.clock = second.clock = lambda: now[0]
    now[0] = 2_000_000_000_000  # the job is due
    [claimed] = await first.claim()
    now[0] += 11_000  # the first worker stalls past its lease; the second takes the job over
    [again] = await second.claim()
    assert again.id == claimed.id
    await first.process(claimed)  # finds its lease gone: changes nothing
    row = await ExportJob.select().where(ExportJob.id == UUID(job["id"])).first()
    assert row is not None
    assert row["status"] == "running"
    assert row["storage_key"] is None
    await second.process(again)
    row = await ExportJob.select().where(ExportJob.id == UUID(job["id"])).first()
    assert row is not None
    assert row["status"] == "done"
    files = list((Path(app.state.settings.data_dir) / "storage" / "exports").rglob("*"))
    assert [f.name for f in files if f.is_file()] == ["export.xlsx"]  # an ASCII key; the name is the row's
    book = openpyxl.load_workbook(
        io.BytesIO((await client.get(f"/api/exports/{job['id']}/file", headers=office)).content)
    )
    assert book["评分明细"].max_row > 1
