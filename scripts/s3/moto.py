#!/usr/bin/env python3
"""moto's standalone S3 server on a free port: the fast loop for storage tests.

moto does NOT check signatures, expiry of presigned URLs or Content-MD5 (see docs/media.md); use the Ceph
RGW server (rgw.py) for those. Two modes:

- ``process`` (default): ``python -m moto.server`` as a child process — isolated from the test process
  (no moto threads or warnings inside pytest), about 1-2 s to start.
- ``thread``: moto's ``ThreadedMotoServer`` inside this process — faster to start, shares the GIL.

As a script: ``python scripts/s3/moto.py [--port 0]`` prints FIELDCHECK_S3_* lines and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

if __name__ == "__main__":
    # This file is called moto.py: run as a script, its folder would shadow the real `moto` package.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]

ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # noqa: S105 - moto accepts any key; test-only
REGION = "us-east-1"


class MotoError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MotoServer:
    port: int
    mode: str
    proc: subprocess.Popen[bytes] | None = None
    thread_server: Any = None
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    startup_seconds: float = 0.0

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "FIELDCHECK_S3_ENDPOINT_URL": self.endpoint_url,
            "FIELDCHECK_S3_REGION": self.region,
            "FIELDCHECK_S3_ACCESS_KEY": self.access_key,
            "FIELDCHECK_S3_SECRET_KEY": self.secret_key,
        }

    def reset(self) -> None:
        """Drop every bucket and object (moto's reset API)."""
        req = urllib.request.Request(self.endpoint_url + "/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            resp.read()

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            self.proc = None
        if self.thread_server is not None:
            self.thread_server.stop()
            self.thread_server = None

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_http(server: MotoServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.proc is not None and server.proc.poll() is not None:
            out = server.proc.stdout.read().decode(errors="replace") if server.proc.stdout else ""
            raise MotoError(f"moto_server exited with {server.proc.returncode}: {out[-2000:]}")
        try:
            with urllib.request.urlopen(server.endpoint_url + "/moto-api/", timeout=1) as resp:  # noqa: S310
                resp.read()
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise MotoError(f"moto did not answer on {server.endpoint_url} in {timeout}s")
        time.sleep(0.05)


def start_moto(
    port: int = 0, mode: Literal["process", "thread"] = "process", timeout: float = 30.0
) -> MotoServer:
    """Start moto on 127.0.0.1:``port`` (0 = a free port) and wait until it answers HTTP."""
    started = time.monotonic()
    if port == 0:
        port = free_port()
    server = MotoServer(port=port, mode=mode)
    if mode == "process":
        server.proc = subprocess.Popen(
            # -I: the child's sys.path gets neither cwd nor this folder (which holds a moto.py of its own)
            [sys.executable, "-I", "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    else:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines in test output

        server.thread_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.thread_server.start()
    try:
        _wait_http(server, timeout)
    except BaseException:
        server.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server


@contextlib.contextmanager
def running_moto(port: int = 0, mode: Literal["process", "thread"] = "process") -> Iterator[MotoServer]:
    server = start_moto(port=port, mode=mode)
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="moto S3 server for fieldcheck tests")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = start_moto(port=args.port, mode="process")
    for k, v in server.env().items():
        print(f"{k}={v}")
    print(f"# started in {server.startup_seconds:.1f}s; Ctrl-C to stop", flush=True)
    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        while not stop and server.proc is not None and server.proc.poll() is None:
            time.sleep(0.5)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
