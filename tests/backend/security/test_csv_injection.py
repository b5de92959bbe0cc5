"""Issue 21, item 3: no CSV the server makes carries a cell a spreadsheet would run as a formula (OWASP CSV
injection), and the XLSX exports hold no formulas."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import openpyxl
from litestar import Litestar

from backend.csv_cells import neutralise
from tests.backend.exports.test_exports import run_jobs, seed, start
from tests.backend.sync_api.sync_support import Devices, push_body

GAP = "=cmd|' /C calc'!A0"
NAME = "@SUM(1+1)*cmd|' /C calc'!A0"


def test_every_formula_start_is_neutralised() -> None:
    for start_ in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start_}1+1") == f"'{start_}1+1"
    assert neutralise("城关镇卫生院") == "城关镇卫生院"
    assert neutralise(-3) == -3  # numbers are not text
    assert neutralise(None) is None


def cells(body: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def dangerous(values: list[str]) -> list[str]:
    return [v for v in values if v[:1] in ("=", "+", "-", "@", "\t", "\r")]


async def test_csv_exports_neutralise_formulas(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    await seed(demo)
    devices = Devices(client)
    admin, office, clinic = [await devices.auth(u) for u in ("admin", "office", "clinic1")]
    facility = demo["facilities"][0]
    renamed = await client.patch(f"/api/admin/facilities/{facility}", headers=admin, json={"name": NAME})
    assert renamed.status_code == 200, renamed.text
    create = {
        "inspectionId": str(demo["self_inspections"][0]),
        "improvementId": str(uuid.uuid4()),
        "itemCode": "1.1.1",
        "gap": GAP,
        "kind": "soon",
        "owner": "+86 院办",
    }
    pushed = await client.post(
        "/api/sync/push",
        content=push_body("c-csv", [{"id": 1, "name": "createImprovement", "hlc": "h", "args": create}]),
        headers=clinic,
    )
    assert pushed.json()["results"][0]["status"] == "applied", pushed.text
    round_id = str(demo["round"])

    bodies: dict[str, bytes] = {}
    improvement = await client.get(f"/api/improvement/rounds/{round_id}/export", headers=office)
    assert improvement.status_code == 200, improvement.text
    bodies["improvement"] = improvement.content
    for kind in ("conclusions", "rankings"):
        response = await client.get(f"/api/rounds/{round_id}/exports/{kind}", headers=office)
        assert response.status_code == 200, response.text
        bodies[kind] = response.content
    jobs = {
        kind: await start(client, office, kind=kind, format="csv", roundId=round_id)
        for kind in ("answers", "conclusions", "discrepancies", "rankings")
    }
    xlsx = await start(client, office, kind="answers", format="xlsx", roundId=round_id)
    assert await run_jobs(app) == len(jobs) + 1
    for kind, job in jobs.items():
        bodies[f"job-{kind}"] = (await client.get(f"/api/exports/{job['id']}/file", headers=office)).content

    for name, body in bodies.items():
        values = cells(body)
        assert dangerous(values) == [], name
        assert f"'{NAME}" in values, name
    assert f"'{GAP}" in cells(bodies["improvement"])
    assert "'+86 院办" in cells(bodies["improvement"])

    book = openpyxl.load_workbook(
        io.BytesIO((await client.get(f"/api/exports/{xlsx['id']}/file", headers=office)).content)
    )
    written = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in written if cell.data_type == "f"]
    assert NAME in {cell.value for cell in written}  # text, as it was typed
