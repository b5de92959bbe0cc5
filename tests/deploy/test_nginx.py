"""deploy/nginx/fieldcheck.conf run by a real nginx (Debian's) in front of two fieldcheck processes on one
PostgreSQL and one S3 (Ceph RGW, the S3 upload spool): an inspection syncs through it, photos and all, with
requests spread over both processes."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from sync.client import HttpxTransport, SyncClient
from tests.backend.media_api.live import LiveServer, free_port, live_server
from tests.conftest import _pg_admin, pg_dsn
from tests.faults.devices import random_jpeg
from tests.media.s3servers import rgw_available, start_rgw

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "fieldcheck.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
METRICS_TOKEN = "nginx-test-metrics-token"

pytestmark = [
    pytest.mark.s3,
    pytest.mark.skipif(not rgw_available(), reason="Ceph RGW not installed (scripts/s3/install-rgw.sh)"),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx not installed (apt-get install nginx)"),
]


def render_site(ports: list[int], listen: int) -> str:
    """The repo's site file with the test's upstream ports and listening port (nothing else changed)."""
    site = SITE.read_text()
    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+ .*;$", site, re.M)
    assert len(servers) == 2, servers
    for line, port in zip(servers, ports, strict=True):
        site = site.replace(line, re.sub(r":\d+", f":{port}", line, count=1))
    assert "listen 80;" in site
    return site.replace("listen 80;", f"listen 127.0.0.1:{listen};")


def nginx_conf(prefix: Path, site: str) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"user root;\nworker_processes 1;\ndaemon off;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} info;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n    access_log {prefix / 'access.log'};\n{temp}\n{site}\n}}\n"
    )


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[LiveServer], Path]]:
    tmp = tmp_path_factory.mktemp("nginx")
    rgw = start_rgw(port=0)
    database = f"fc_nginx_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
    env = {
        "FIELDCHECK_DATABASE_URL": pg_dsn(database),
        "FIELDCHECK_STORAGE": "s3",
        "FIELDCHECK_UPLOAD_SPOOL": "s3",
        "FIELDCHECK_S3_ENDPOINT_URL": rgw.endpoint_url,
        "FIELDCHECK_S3_REGION": rgw.region,
        "FIELDCHECK_S3_BUCKET": f"fc-nginx-{uuid.uuid4().hex[:8]}",
        "FIELDCHECK_S3_ACCESS_KEY": rgw.access_key,
        "FIELDCHECK_S3_SECRET_KEY": rgw.secret_key,
        "FIELDCHECK_METRICS_TOKEN": METRICS_TOKEN,
    }
    nginx: subprocess.Popen[bytes] | None = None
    try:
        with ExitStack() as stack:
            servers = []
            for name in ("a", "b"):  # one after the other: the first loads the demo data
                (tmp / name).mkdir()
                servers.append(
                    stack.enter_context(live_server(tmp / name, workers=True, extra_env=env, fork=True))
                )
            prefix = tmp / "nginx"
            prefix.mkdir()
            port = free_port()
            (prefix / "nginx.conf").write_text(
                nginx_conf(prefix, render_site([s.port for s in servers], port))
            )
            check = subprocess.run(
                [
                    NGINX,
                    "-t",
                    "-p",
                    str(prefix),
                    "-e",
                    str(prefix / "error.log"),
                    "-c",
                    str(prefix / "nginx.conf"),
                ],
                capture_output=True,
                text=True,
            )
            assert check.returncode == 0, check.stderr
            nginx = subprocess.Popen(
                [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf")]
            )
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (prefix / "error.log").read_text()[-2000:]
                time.sleep(0.1)
            yield url, servers, prefix
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        rgw.stop()


def process_metrics(server: LiveServer) -> dict[str, float]:
    """Counters of one process, asked directly (not through nginx), summed by name and route."""
    text = httpx.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    ).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, value = line.rsplit(" ", 1)
        name = name_labels.split("{", 1)[0]
        route = re.search(r'route="([^"]+)"', name_labels)
        key = f"{name}:{route.group(1)}" if route else name
        out[key] = out.get(key, 0.0) + float(value)
    return out


async def sync_through(url: str) -> dict[uuid.UUID, bytes]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        login = await http.post("/api/auth/login", json={"username": "inspector1", "password": "demo"})
        assert login.status_code == 200, login.text
        # nginx's request id reached the app: it answers with it, as its logs and problems carry it
        assert re.fullmatch(r"[0-9a-f]{32}", login.headers["x-request-id"])
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        device = SyncClient(HttpxTransport(http, headers))
        await device.pull()
        [key] = [k for k in device.store if k.startswith("inspection/")]
        inspection = uuid.UUID(key.split("/", 1)[1])
        notes = [device.add_note(inspection, "1.1.1", f"through nginx {n}") for n in range(6)]
        device.set_answer(inspection, "1.1.1", "value", "A")
        device.max_batch = 2
        for _ in range(4):
            await device.push()
            await device.pull()
        assert device.pending == []
        assert {f"note/{n}" for n in notes} <= set(device.store)
        photos = {}
        for n in range(4):
            data = random_jpeg(random.Random(n))
            photos[device.add_photo(inspection, "1.1.1", hashlib.sha256(data).hexdigest(), len(data))] = data
        await device.push()
        for photo_id, data in photos.items():
            sha = hashlib.sha256(data).hexdigest()
            body = {"photoId": str(photo_id), "sha256": sha, "size": len(data), "mime": "image/jpeg"}
            created = await http.post("/api/uploads", json=body, headers=headers)
            assert created.status_code == 201, created.text
            upload_url, offset = created.json()["uploadUrl"], 0
            while offset < len(data):
                tus = {**headers, "Tus-Resumable": "1.0.0"}
                head = await http.head(upload_url, headers=tus)
                assert int(head.headers["Upload-Offset"]) == offset
                piece = data[offset : offset + 32 * 1024]
                answer = await http.patch(
                    upload_url,
                    content=piece,
                    headers={
                        **tus,
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                assert answer.status_code == 204, answer.text
                offset = int(answer.headers["Upload-Offset"])
        await device.pull()
        for photo_id, data in photos.items():
            got = await http.get(f"/api/photos/{photo_id}/original", headers=headers, follow_redirects=True)
            assert got.status_code == 200, got.text
            assert got.content == data
        receipt = await http.get(f"/api/inspections/{inspection}/receipt", headers=headers)
        assert receipt.status_code == 200, receipt.text
        return photos


def test_an_inspection_syncs_through_nginx_over_two_processes(
    proxied: tuple[str, list[LiveServer], Path],
) -> None:
    url, servers, prefix = proxied
    photos = asyncio.run(sync_through(url))
    seen = [process_metrics(server) for server in servers]
    for n, metrics in enumerate(seen):
        # each process took part in the sync and in the uploads
        assert metrics.get("fieldcheck_http_request_duration_seconds_count:syncPush", 0) >= 1, (n, metrics)
        assert metrics.get("fieldcheck_http_request_duration_seconds_count:syncPull", 0) >= 1, (n, metrics)
        assert metrics.get("fieldcheck_upload_bytes_total", 0) > 0, (n, metrics)
    assert sum(m["fieldcheck_upload_bytes_total"] for m in seen) == sum(len(d) for d in photos.values())
    assert sum(m["fieldcheck_sync_pushes_total"] for m in seen) >= 5
    assert "POST /api/sync/push" in (prefix / "access.log").read_text()
    # /metrics through the proxy: allowed from 127.0.0.1, and still needs the token
    assert httpx.get(f"{url}/metrics", timeout=5).status_code == 404
