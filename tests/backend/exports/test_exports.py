"""Export jobs (CSV, XLSX, the report's PDF) run by the media workers, their scope, failures and leases;
the facility report's content and scope."""

from __future__ import annotations

import csv
import io
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
from backend.workers import build_media_worker
from media.worker import WorkerConfig
from tests.backend.review.test_conclusions import ARTICLES, PASSED, put_answers
from tests.conftest import login


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
    book = openpyxl.load_workbook(io.BytesIO(got.content), read_only=True)
    rows = list(book["answers"].iter_rows(values_only=True))
    assert rows[0] == ("facility_id", "facility", "county", "stage", "inspection_id", "item", "value")
    assert len(rows) == 1 + n_answers
    first = str(demo["facilities"][0])
    mine = {(r[3], r[5]): r[6] for r in rows[1:] if r[0] == first}
    assert mine[("self", ARTICLES[0])] == "A"
    assert mine[("county", ARTICLES[0])] == "C"
    assert mine[("self", "P1")] == "met"
    assert {r[1] for r in rows[1:] if r[0] == first} == {"城关镇卫生院"}

    gap_book = openpyxl.load_workbook(
        io.BytesIO((await client.get(f"/api/exports/{gaps['id']}/file", headers=office)).content),
        read_only=True,
    )
    gap_rows = list(gap_book["discrepancies"].iter_rows(values_only=True))
    wide = [r for r in gap_rows[1:] if r[9] == "yes"]
    assert [(r[3], r[4], r[5], r[6], r[7], r[8]) for r in wide] == [
        ("county", ARTICLES[0], "A", "C", "lower", 2)
    ]

    text = (await client.get(f"/api/exports/{conclusions['id']}/file", headers=office)).content.decode(
        "utf-8"
    )
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(table) == 7  # 甲市's six self-assessments and the county review; nothing of 乙市
    assert {r["facility_id"] for r in table} == {str(f) for f in demo["facilities"][:6]}
    ranked = (await client.get(f"/api/exports/{rankings['id']}/file", headers=office)).content.decode()
    places = [r for r in csv.DictReader(io.StringIO(ranked.lstrip("\ufeff"))) if r["facility_id"] == first]
    assert {(r["stage"], r["scope"], r["rank"]) for r in places if r["item"] == ARTICLES[0]} >= {
        ("self", "county", "1")
    }

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
    assert bad.status_code == 400
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
    assert "at least" in body or "no tier is certain" in body  # the conclusion's "what is known"
    assert "<script" not in body
    assert "style=" not in body
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
    assert [f.name for f in files if f.is_file()] == [job["filename"]]
    book = openpyxl.load_workbook(
        io.BytesIO((await client.get(f"/api/exports/{job['id']}/file", headers=office)).content)
    )
    assert book["answers"].max_row > 1
