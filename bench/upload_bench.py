"""Upload throughput over loopback against plain file copies, in the same run.

Run: ``.venv/bin/python bench/upload_bench.py [--runs 5] [--size-mb 24] [--write]``

Starts ``fieldcheck serve --demo`` (uvicorn, SQLite, workers off so only the upload path is measured) on a
free port, creates photos with the real sync push (``addPhoto``) and uploads the same random-pixel JPEG with
the tus PATCH protocol over loopback. Baselines, measured on the same bytes in the same data directory:

- plain copy: ``shutil.copyfile`` then one ``fsync`` (the fastest way to put the bytes on disk);
- durable chunked copy: the same chunk size as the upload, ``fsync`` after each chunk (what a spool that
  survives a crash between chunks has to do anyway).

The upload is timed twice: the chunk phase (bytes into the spool, every chunk fsynced and its offset
committed) and end to end (plus the last chunk's whole-file sha256, the content check that decodes the
image to catch truncation and bombs, and the blob + outbox write). ``--write`` replaces the section
"## Media: upload throughput" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BENCH_DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Media: upload throughput"
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(data_dir: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_WORKERS": "false"}
    with open(data_dir.parent / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("server exited; see " + str(data_dir.parent / "server.log"))
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(15)


def random_jpeg(target: int) -> bytes:
    """Random pixels, quality 100, no subsampling: about ``target`` bytes that do not compress."""
    pixels = target / 4.1
    data = b""
    for _ in range(6):
        w = int(math.sqrt(pixels * 4 / 3))
        h = int(w * 3 / 4)
        out = io.BytesIO()
        Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(out, "JPEG", quality=100, subsampling=0)
        data = out.getvalue()
        if 0.95 * target <= len(data) <= target:
            return data
        pixels *= 0.985 * target / len(data)
    return data


@dataclass
class Session:
    client: httpx.Client
    headers: dict[str, str]
    inspection: str
    client_id: str
    next_id: int = 1

    def add_photo(self, data: bytes) -> str:
        photo_id = str(uuid.uuid4())
        mutation = {
            "id": self.next_id,
            "name": "addPhoto",
            "args": {
                "inspectionId": self.inspection,
                "itemCode": "1.2.1",
                "photoId": photo_id,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "mime": "image/jpeg",
            },
        }
        body = {
            "protocolVersion": 1,
            "clientGroupId": "bench",
            "clientId": self.client_id,
            "mutations": [mutation],
        }
        self.client.post("/api/sync/push", json=body, headers=self.headers).raise_for_status()
        self.next_id += 1
        return photo_id


def open_session(url: str) -> Session:
    client = httpx.Client(base_url=url, timeout=120)
    token = client.post("/api/auth/login", json={"username": "inspector1", "password": "demo"}).json()[
        "token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    pulled = client.post(
        "/api/sync/pull",
        json={"protocolVersion": 1, "clientGroupId": "bench", "cookie": None},
        headers=headers,
    ).json()
    [key] = [op["key"] for op in pulled["patch"] if op["key"].startswith("inspection/")]
    return Session(client, headers, key.split("/", 1)[1], f"bench-{uuid.uuid4().hex[:8]}")


def upload(session: Session, data: bytes, chunk: int, checksums: bool) -> tuple[float, float]:
    """(seconds for all chunks but the last, seconds end to end) for one upload."""
    photo_id = session.add_photo(data)
    digest = hashlib.sha256(data).hexdigest()
    started = time.perf_counter()
    created = session.client.post(
        "/api/uploads",
        json={"photoId": photo_id, "sha256": digest, "size": len(data), "mime": "image/jpeg"},
        headers=session.headers,
    )
    assert created.status_code == 201, created.text
    url = created.json()["uploadUrl"]
    offset = 0
    before_last = started
    while offset < len(data):
        piece = data[offset : offset + chunk]
        headers = {
            **session.headers,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        }
        if checksums:
            headers["Upload-Checksum"] = "sha256 " + base64.b64encode(hashlib.sha256(piece).digest()).decode()
        if offset + len(piece) == len(data):
            before_last = time.perf_counter()
        response = session.client.patch(url, content=piece, headers=headers)
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    ended = time.perf_counter()
    return before_last - started, ended - started


def unique(jpeg: bytes) -> bytes:
    """The same JPEG with a random 16-byte comment segment after SOI: still valid, a different sha256."""
    comment = os.urandom(16)
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


def plain_copy(src: Path, dst: Path) -> float:
    started = time.perf_counter()
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - started


def chunked_copy(src: Path, dst: Path, chunk: int) -> float:
    started = time.perf_counter()
    with open(src, "rb") as source, open(dst, "wb") as out:
        while piece := source.read(chunk):
            out.write(piece)
            out.flush()
            os.fsync(out.fileno())
    return time.perf_counter() - started


def mbps(size: int, seconds: float) -> float:
    return size / MIB / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mb", type=float, default=24.0)
    parser.add_argument("--write", action="store_true", help="rewrite the section in docs/benchmarks.md")
    args = parser.parse_args(argv)

    data = random_jpeg(int(args.size_mb * 1000 * 1000))
    size = len(data)
    # the last chunk carries the whole-file check; with 4 MiB chunks on 24 MB that is 1/6 of the bytes
    with tempfile.TemporaryDirectory(prefix="fc-upload-bench-", dir=ROOT) as tmp:
        data_dir = Path(tmp) / "data"
        with server(data_dir) as url:
            session = open_session(url)
            upload(session, random_jpeg(400_000), 256 * 1024, True)  # warm-up
            src = data_dir / "bench-source.jpg"
            src.write_bytes(data)
            results: dict[str, list[float]] = {}
            for chunk in (1 * MIB, 4 * MIB):
                for _run in range(args.runs):
                    fresh = unique(data)  # a new sha256 each run, so no upload is answered by dedupe
                    plain = plain_copy(src, data_dir / "plain.copy")
                    chunked = chunked_copy(src, data_dir / "chunked.copy", chunk)
                    phase, total = upload(session, fresh, chunk, checksums=True)
                    phase_bytes = size - (size % chunk or chunk)
                    results.setdefault("plain", []).append(mbps(size, plain))
                    results.setdefault(f"chunked {chunk // MIB}", []).append(mbps(size, chunked))
                    results.setdefault(f"phase {chunk // MIB}", []).append(mbps(phase_bytes, phase))
                    results.setdefault(f"total {chunk // MIB}", []).append(mbps(size, total))
            session.client.close()
    med = {k: statistics.median(v) for k, v in results.items()}
    plain_med = med["plain"]
    lines = [
        SECTION,
        "",
        f"Input: a {size / 1e6:.1f} MB random-pixel JPEG (incompressible), uploaded {args.runs}× per chunk size "
        "with `Upload-Checksum` on every chunk, over loopback to a `fieldcheck serve` uvicorn process (SQLite, "
        f"workers off). Baselines copy the same file in the same data directory in the same run. "
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs. Median MiB/s:",
        "",
        "| what | MiB/s | vs plain copy | vs durable chunked copy |",
        "|---|---:|---:|---:|",
        f"| plain copy (`copyfile` + one fsync) | {plain_med:.0f} | 100 % | |",
    ]
    for chunk in (1, 4):
        durable = med[f"chunked {chunk}"]
        lines.append(
            f"| durable copy, {chunk} MiB chunks, fsync each | {durable:.0f} | {100 * durable / plain_med:.0f} % | 100 % |"
        )
        for key, label in (
            (f"phase {chunk}", f"upload, {chunk} MiB chunks: chunk phase (spool, fsync, offset commit)"),
            (f"total {chunk}", f"upload, {chunk} MiB chunks: end to end (+ sha256, image check, blob row)"),
        ):
            lines.append(
                f"| {label} | {med[key]:.0f} | {100 * med[key] / plain_med:.0f} % | {100 * med[key] / durable:.0f} % |"
            )
    best_phase = max(med["phase 1"] / med["chunked 1"], med["phase 4"] / med["chunked 4"])
    best_total = max(med["total 1"], med["total 4"]) / plain_med
    lines += [
        "",
        f"Target ≥ 80 % of a plain file copy: end to end {'met' if best_total >= 0.8 else 'NOT met'} "
        f"({100 * best_total:.0f} %); chunk phase vs the durable chunked copy: {100 * best_phase:.0f} %. "
        "Command: `.venv/bin/python bench/upload_bench.py --write`.",
    ]
    print("\n".join(lines))
    if args.write:
        write_section(lines)
    return 0


def write_section(lines: list[str], doc: Path = BENCH_DOC) -> None:
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    block = "\n".join(lines).rstrip() + "\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: block + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + block
    doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
