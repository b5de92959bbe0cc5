"""/metrics after a sync and an upload (both databases), its token, request ids in answers, problems and logs,
and the multiprocess mode summing several processes."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar import Litestar
from prometheus_client.parser import text_string_to_metric_families

from backend.app import create_app
from backend.db import prepare_engine
from backend.db_sqlite import close_pool, open_pool
from backend.metrics import REQUEST_ID, JsonLogFormatter
from backend.settings import Settings
from tests.backend.media_api.helpers import upload
from tests.backend.sync_api.sync_support import Devices, camera_photo, push_body, set_answer

TOKEN = "scrape-token-for-tests"


@pytest.fixture
async def metrics_app(settings: Settings) -> AsyncIterator[Litestar]:
    application = create_app(msgspec.structs.replace(settings, metrics_token=TOKEN), start_pool=False)
    await prepare_engine(application.state.engine)
    idle = await open_pool(application.state.engine)
    try:
        yield application
    finally:
        await close_pool(idle)


@pytest.fixture
async def http(metrics_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=metrics_app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_count_a_sync_and_an_upload(http: httpx.AsyncClient, metrics_app: Litestar) -> None:
    from backend.demo import load_demo

    demo = await load_demo()
    devices = Devices(http)
    headers = await devices.auth("inspector1")
    other = await devices.auth("inspector2")
    inspection = demo["review_inspection"]
    photo = camera_photo()
    first = push_body(
        "device-a",
        [
            set_answer(1, inspection, "1.1.1", "A"),
            set_answer(2, inspection, "1.2.1", "B"),
            set_answer(3, inspection, "1.2.2", "no such grade"),  # rejected
            {
                "id": 4,
                "name": "addPhoto",
                "hlc": "h4",
                "args": {
                    "inspectionId": str(inspection),
                    "itemCode": "1.1.1",
                    "photoId": str(photo.id),
                    "sha256": photo.sha256,
                    "size": photo.size,
                    "mime": "image/jpeg",
                },
            },
        ],
    )
    answer = await http.post("/api/sync/push", content=first, headers=headers)
    assert answer.status_code == 200, answer.text
    statuses = [r["status"] for r in answer.json()["results"]]
    assert statuses == ["applied", "applied", "rejected", "applied"]
    # the other device edits 1.1.1 from version 0: a conflict
    conflict = await http.post(
        "/api/sync/push",
        content=push_body("device-b", [set_answer(1, inspection, "1.1.1", "C")], "g2"),
        headers=other,
    )
    assert [r["status"] for r in conflict.json()["results"]] == ["conflict"]
    pulled = await http.post(
        "/api/sync/pull",
        content=msgspec.json.encode({"protocolVersion": 1, "clientGroupId": "g-1", "cookie": None}),
        headers=headers,
    )
    assert pulled.status_code == 200
    done = await upload(http, headers, photo, chunk_size=64 * 1024)
    assert done.status_code == 204, done.text
    patches = -(-photo.size // (64 * 1024))
    # a push refused as a whole (a gap in the ids)
    gap = await http.post(
        "/api/sync/push",
        content=push_body("device-a", [set_answer(9, inspection, "1.1.1", "B")]),
        headers=headers,
    )
    assert gap.status_code == 409

    got = await scrape(http)
    assert got[("fieldcheck_sync_pushes_total", (("outcome", "answered"),))] == 2
    assert got[("fieldcheck_sync_pushes_total", (("outcome", "refused"),))] == 1
    assert got[("fieldcheck_sync_mutations_total", (("status", "applied"),))] == 3
    assert got[("fieldcheck_sync_mutations_total", (("status", "rejected"),))] == 1
    assert got[("fieldcheck_sync_mutations_total", (("status", "conflict"),))] == 1
    assert got[("fieldcheck_upload_bytes_total", ())] == photo.size
    assert got[("fieldcheck_uploads_completed_total", ())] == 1
    route = "fieldcheck_http_request_duration_seconds_count"
    assert got[(route, (("method", "POST"), ("route", "syncPush"), ("status", "200")))] == 2
    assert got[(route, (("method", "POST"), ("route", "syncPush"), ("status", "409")))] == 1
    assert got[(route, (("method", "POST"), ("route", "syncPull"), ("status", "200")))] == 1
    patch_route = [k for k in got if k[0] == route and ("status", "204") in k[1]]
    assert sum(got[k] for k in patch_route) == patches
    # the workers do not run in this app: the received photo waits as a job
    assert got[("fieldcheck_job_queue_depth", (("kind", "transfer"),))] >= 1
    assert got[("fieldcheck_job_lag_seconds", (("kind", "transfer"),))] >= 0
    assert ("fieldcheck_db_connections", (("state", "idle"),)) in got


async def test_metrics_are_closed_to_the_public(http: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    assert (await http.get("/metrics")).status_code == 404
    assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 404
    # no token configured: no endpoint, whatever is sent
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 404


async def test_request_ids_in_answers_problems_and_logs(http: httpx.AsyncClient) -> None:
    from backend.demo import load_demo

    await load_demo()
    given = await http.get("/health", headers={"X-Request-ID": "lb-1234.abc"})
    assert given.headers["x-request-id"] == "lb-1234.abc"
    made = await http.get("/health", headers={"X-Request-ID": "not sane; " * 10})
    assert len(made.headers["x-request-id"]) == 16
    assert made.headers["x-request-id"] != "lb-1234.abc"
    refused = await http.post("/api/auth/login", json={"username": "inspector1", "password": "wrong"})
    assert refused.status_code == 401
    assert refused.json()["requestId"] == refused.headers["x-request-id"]
    got = await scrape(http)
    assert got[("fieldcheck_login_failures_total", ())] == 1

    token = REQUEST_ID.set("r-42")
    try:
        record = logging.LogRecord("fieldcheck", logging.WARNING, __file__, 1, "同步 %s", ("done",), None)
        line = json.loads(JsonLogFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["requestId"] == "r-42"
    assert line["message"] == "同步 done"
    assert line["level"] == "warning"
    assert line["time"].endswith("Z")


WRITER = """
import sys
from backend.metrics import Metrics
m = Metrics(sys.argv[1])
m.pushes.labels("answered").inc(int(sys.argv[2]))
m.request_seconds.labels("syncPush", "POST", "200").observe(0.004)
"""


def test_multiprocess_mode_sums_the_processes(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    for count in (3, 4):  # two processes, two pids
        subprocess.run([sys.executable, "-c", WRITER, str(directory), str(count)], check=True)
    reader = (
        "import sys\nfrom backend.metrics import Metrics\n"
        "sys.stdout.write(Metrics(sys.argv[1]).exposition([('derive', 2, 1.5)]).decode())\n"
    )
    text = subprocess.run(
        [sys.executable, "-c", reader, str(directory)], check=True, capture_output=True, text=True
    ).stdout
    got = samples(text)
    assert got[("fieldcheck_sync_pushes_total", (("outcome", "answered"),))] == 7
    key = (
        "fieldcheck_http_request_duration_seconds_count",
        (("method", "POST"), ("route", "syncPush"), ("status", "200")),
    )
    assert got[key] == 2
    assert got[("fieldcheck_job_queue_depth", (("kind", "derive"),))] == 2
