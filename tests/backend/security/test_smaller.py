"""Issue 21, item 13: the access log keeps no query strings (signed media URLs), HSTS is opt-in, and a PDF is
printed from a page with its own CSP and no script."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.reports.printable import Printable, document, html_to_pdf
from backend.settings import Settings
from tests.backend.accounts.test_login_throttle import app_with
from tests.backend.media_api.live import live_server, login


def test_the_access_log_keeps_no_query_string(tmp_path: Path) -> None:
    with (
        live_server(tmp_path, workers=False, demo_copy=True, fork=True) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        headers = login(client)
        client.get("/api/me?sig=SECRET-SIGNATURE&exp=1", headers=headers)
        client.get("/media/blobs/x?exp=1&sig=ANOTHER-SECRET")
    log = next(tmp_path.glob("server-*.log")).read_text()
    # the server logs JSON lines (backend/metrics.py: log_config); the access line is one of their messages
    messages = [json.loads(line).get("message", "") for line in log.splitlines() if line.startswith("{")]
    assert any('"GET /api/me?[redacted] HTTP/1.1" 200' in message for message in messages), log
    assert "SECRET" not in log


async def test_hsts_is_sent_only_when_configured(settings: Settings) -> None:
    async with app_with(settings) as plain:
        transport = httpx.ASGITransport(app=plain)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert "strict-transport-security" not in (await http.get("/health")).headers
    async with app_with(settings, hsts_seconds=31_536_000) as behind_tls:
        transport = httpx.ASGITransport(app=behind_tls)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/health")).headers["strict-transport-security"] == "max-age=31536000"


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_the_pdf_page_runs_no_script_and_fetches_nothing(listener: tuple[str, list[str]]) -> None:
    url, hits = listener
    # what a report could carry if an escape were ever missed: a script and a remote picture
    body = (
        f'<p>报告</p><img src="{url}/img"><script>fetch("{url}/script")</script>'
        f'<link rel="stylesheet" href="{url}/css">'
    )
    page = document(Printable(title="t", filename="t", body=body))
    assert "script-src" not in page or "default-src 'none'" in page
    pdf = html_to_pdf(page, chromium="/usr/bin/chromium")
    assert pdf.startswith(b"%PDF")
    assert hits == []
