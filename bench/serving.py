"""A server in a child process for the benches: started, waited for (``GET /health`` answers 200), stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    command: list[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    log: IO[bytes] | None = None,
    timeout: float = 60,
) -> Iterator[str]:
    """Run ``command`` (which listens on 127.0.0.1:``port``) and yield its base URL once it is up."""
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env or dict(os.environ), stdout=log, stderr=subprocess.STDOUT if log else None
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{command} exited with {proc.returncode}" + (f"; see {log.name}" if log else "")
                )
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start within {timeout} s")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)
