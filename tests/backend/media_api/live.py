"""A real uvicorn server process for the socket-level tests and the memory figure (SQLite, free port)."""

from __future__ import annotations

import atexit
import io
import math
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    proc: subprocess.Popen[bytes] | ForkedServer
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        return _status_kib(self.proc.pid, "VmRSS")

    def hwm_kib(self) -> int:
        return _status_kib(self.proc.pid, "VmHWM")


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


# per process: a SQLite database that `fieldcheck demo` made (see demo_database)
_DEMO_DATABASE: list[Path] = []


def demo_database() -> Path:
    """A SQLite database with the demo data, made once per process by ``fieldcheck demo`` (migrations, demo,
    verdicts, programme: 2–5 s) in a folder removed at exit; ``live_server(..., demo_copy=True)`` starts from a
    copy of it."""
    if not _DEMO_DATABASE:
        folder = Path(tempfile.mkdtemp(prefix="fieldcheck-demo-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        env = {**os.environ, "FIELDCHECK_DATA_DIR": str(folder / "data"), "FIELDCHECK_SECRET_KEY": "-"}
        env.pop("FIELDCHECK_DATABASE_URL", None)
        made = subprocess.run(
            [sys.executable, "-m", "backend.cli", "demo"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert made.returncode == 0, made.stderr
        _DEMO_DATABASE.append(folder / "data" / "fieldcheck.sqlite")
    return _DEMO_DATABASE[0]


@contextmanager
def live_server(
    tmp: Path,
    *,
    workers: bool,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    demo_copy: bool = False,
    fork: bool = False,
) -> Iterator[LiveServer]:
    """``fieldcheck serve --demo`` (migrate, demo data, uvicorn) on 127.0.0.1:<port, free by default>.

    ``demo_copy``: on SQLite, a data dir with no database yet gets a copy of demo_database() first, so the
    server's migrations find nothing to do and its demo step finds the data there (the browser journeys start
    ~30 servers; a test of what the service itself creates in its data dir must not ask for it). ``fork``: the
    process is forked by a zygote that imported the app and compressed its files once (ForkedServer), as the
    crash tests start theirs; not for a test that measures the server's memory."""
    port = port or free_port()
    data = tmp / "live-data"
    database = data / "fieldcheck.sqlite"
    if demo_copy and "FIELDCHECK_DATABASE_URL" not in (extra_env or {}) and not database.exists():
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        # SQLite's backup: a consistent copy whatever the source's WAL still holds
        with closing(sqlite3.connect(demo_database())) as source, closing(sqlite3.connect(database)) as copy:
            source.backup(copy)
        database.chmod(0o600)
    env = {
        **os.environ,
        "FIELDCHECK_DATA_DIR": str(data),
        "FIELDCHECK_WORKERS": "true" if workers else "false",
        "FIELDCHECK_SECRET_KEY": "live-test-secret",
        **(extra_env or {}),
    }
    log_path = tmp / f"server-{port}.log"
    argv = ["serve", "--demo", "--port", str(port)]
    log = None
    proc: subprocess.Popen[bytes] | ForkedServer
    if fork:
        proc = ForkedServer.start(env, argv, log_path)
    else:
        log = open(log_path, "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", *argv],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(proc, port, data)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("server exited: " + log_path.read_text()[-3000:])
            try:
                if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 60 s")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if log is not None:
            log.close()


# per process: the zygote that forks the servers of live_server(..., fork=True)
_ZYGOTE: list[Any] = []


@dataclass
class ForkedServer:
    """A ``fieldcheck serve`` forked by this process's zygote (tests/faults/zygote.py: the app imported and
    its files compressed once), with the few calls of subprocess.Popen that live_server makes."""

    pid: int
    returncode: int | None = None

    @staticmethod
    def zygote() -> Any:
        if not _ZYGOTE:
            from tests.faults.server import Zygote

            _ZYGOTE.append(Zygote())
            atexit.register(_ZYGOTE[0].close)
        return _ZYGOTE[0]

    @classmethod
    def start(cls, env: dict[str, str], argv: list[str], log: Path) -> ForkedServer:
        return cls(int(cls.zygote().ask({"start": env, "argv": argv, "log": str(log)})["pid"]))

    def poll(self) -> int | None:
        if self.returncode is None:
            answer = self.zygote().ask({"poll": self.pid})  # reaps the child once it ended
            if not answer["running"]:
                self.returncode = int(answer["status"])
        return self.returncode

    def terminate(self) -> None:
        """SIGTERM, SIGKILL after 15 s (the zygote waits for the child and reaps it)."""
        if self.poll() is None:
            self.returncode = int(self.zygote().ask({"term": self.pid})["status"])

    def wait(self, timeout: float) -> int | None:
        return self.returncode

    def kill(self) -> None:
        self.terminate()


def login(client: httpx.Client, username: str = "inspector1") -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": "demo"})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def review_inspection(client: httpx.Client, headers: dict[str, str]) -> str:
    """The county review inspector1 is on (the only inspection an inspector sees in the demo data)."""
    pulled = client.post(
        "/api/sync/pull",
        json={"protocolVersion": 1, "clientGroupId": "live-group", "cookie": None},
        headers=headers,
    )
    pulled.raise_for_status()
    keys = [op["key"] for op in pulled.json()["patch"] if op["key"].startswith("inspection/")]
    assert len(keys) == 1, keys
    return str(keys[0].split("/", 1)[1])


class Device:
    """A client id with its mutation counter: pushes addPhoto like the PWA does."""

    def __init__(self, client: httpx.Client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self.client_id = f"live-{uuid.uuid4().hex[:8]}"
        self.next_id = 1

    def add_photo(self, inspection_id: str, data: bytes, item_code: str = "1.1.1") -> tuple[str, bool]:
        import hashlib

        photo_id = str(uuid.uuid4())
        mutation = {
            "id": self.next_id,
            "name": "addPhoto",
            "hlc": f"{int(time.time() * 1000):016d}-0000-{self.client_id}",
            "args": {
                "inspectionId": inspection_id,
                "itemCode": item_code,
                "photoId": photo_id,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "mime": "image/jpeg",
            },
        }
        response = self.client.post(
            "/api/sync/push",
            json={
                "protocolVersion": 1,
                "clientGroupId": "live-group",
                "clientId": self.client_id,
                "mutations": [mutation],
            },
            headers=self.headers,
        )
        response.raise_for_status()
        self.next_id += 1
        [result] = response.json()["results"]
        assert result["status"] == "applied", result
        return photo_id, bool(result.get("uploadRequired"))


def jpeg_of_about(target_bytes: int) -> bytes:
    """A random-pixel JPEG (quality 100, no chroma subsampling) just under ``target_bytes``."""
    pixels = target_bytes / 4.1
    for _ in range(6):
        w = int(math.sqrt(pixels * 4 / 3))
        h = int(w * 3 / 4)
        out = io.BytesIO()
        Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(out, "JPEG", quality=100, subsampling=0)
        data = out.getvalue()
        if 0.94 * target_bytes <= len(data) <= target_bytes:
            return data
        pixels *= 0.985 * target_bytes / len(data)
    raise RuntimeError(f"could not make a JPEG of about {target_bytes} bytes")


def raw_cut_patch(
    server: LiveServer, headers: dict[str, str], url: str, offset: int, chunk: bytes, cut: int
) -> None:
    """PATCH over a raw socket, send ``cut`` body bytes, then reset the connection."""
    head = (
        f"PATCH {url} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: {headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(chunk)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        sock.sendall(head + chunk[:cut])
        time.sleep(0.01)
    finally:
        # SO_LINGER 0: close with RST, like a phone dropping off the network mid-chunk
        import struct

        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
