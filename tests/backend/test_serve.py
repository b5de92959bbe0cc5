"""What `make run` does after installing: `fieldcheck serve --demo` on an empty data dir, over real HTTP."""

from __future__ import annotations

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
