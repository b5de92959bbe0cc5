"""What `make run` does after installing: `fieldcheck serve --demo` on an empty data dir, over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    env = {**os.environ, "FIELDCHECK_DATA_DIR": str(tmp_path / "data"), "FIELDCHECK_PORT": str(port)}
    env.pop("FIELDCHECK_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code in (200, 503):
                break
        except httpx.TransportError:
            time.sleep(0.2)
    try:
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()


def test_serve_demo_health_and_login(served: tuple[str, subprocess.Popen[str]], tmp_path: Path) -> None:
    base, _ = served
    health = httpx.get(f"{base}/health", timeout=5)
    assert health.status_code == 200, health.text
    assert health.json()["checks"] == {"database": "ok", "storage": "ok"}
    login = httpx.post(
        f"{base}/api/auth/login", json={"username": "inspector1", "password": "demo"}, timeout=10
    )
    assert login.status_code == 200, login.text
    me = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {login.json()['token']}"}, timeout=5)
    assert me.json()["username"] == "inspector1"
    assert httpx.get(f"{base}/schema/openapi.json", timeout=5).json()["info"]["title"] == "fieldcheck"
    assert (tmp_path / "data" / "fieldcheck.sqlite").exists()


def test_demo_warning_is_logged(served: tuple[str, subprocess.Popen[str]]) -> None:
    base, process = served
    assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    process.terminate()
    output, _ = process.communicate(timeout=30)
    assert "demo accounts with the password 'demo' exist" in output


def test_serve_with_two_processes_on_one_port(tmp_path: Path) -> None:
    """`fieldcheck serve --workers 2`: both processes answer on the one port, /metrics sums them, logs are
    JSON lines."""
    port = _free_port()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "FIELDCHECK_DATA_DIR": str(data),
        "FIELDCHECK_PORT": str(port),
        "FIELDCHECK_METRICS_TOKEN": "t0ken-for-the-test",
        "FIELDCHECK_WORKERS": "false",
    }
    env.pop("FIELDCHECK_DATABASE_URL", None)
    env.pop("FIELDCHECK_METRICS_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--demo", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        pids: set[str] = set()
        asked = 0
        while time.monotonic() < deadline and len(pids) < 2:
            try:
                # a new connection each time: the kernel hands connections to either process
                asked += httpx.get(f"{base}/health", timeout=2).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            pids = {p.name.rsplit("_", 1)[-1] for p in (data / "metrics").glob("histogram_*.db")}
        assert len(pids) == 2, f"one process answered all {asked} requests"
        scraped = httpx.get(
            f"{base}/metrics", headers={"Authorization": "Bearer t0ken-for-the-test"}, timeout=5
        )
        assert scraped.status_code == 200
        counts = [
            float(line.rsplit(" ", 1)[1])
            for line in scraped.text.splitlines()
            if line.startswith("fieldcheck_http_request_duration_seconds_count") and 'route="health"' in line
        ]
        assert sum(counts) == asked  # both processes' samples, summed
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any("demo accounts" in line["message"] for line in lines), output
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
