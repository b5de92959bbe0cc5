"""Media benchmarks. Run: ``.venv/bin/python bench/media_bench.py [--part all|upload|derivatives]
[--runs 15] [--upload-runs 7] [--size-mb 24] [--no-write]``.

Part "upload throughput" (issue 5): a real ``fieldcheck serve --demo`` uvicorn process on 127.0.0.1
(SQLite, workers off so only the upload path is measured); photos are created with the real sync push
(``addPhoto``) and a ~24 MB incompressible JPEG is uploaded with the tus PATCH protocol in 4 MiB chunks, each
run with a fresh sha256 (no dedupe). Timed from the POST to the last 204 (the last PATCH includes the
whole-file sha256, the structural image check and the blob + outbox write). Baselines on the same bytes in
the same data directory, interleaved with the uploads in the same run:

- (a) plain copy: ``shutil.copyfile`` then one ``fsync`` — the issue's target is ≥ 80 % of this;
- (b) durable chunked copy: 4 MiB writes with ``fsync`` after each, the durability the protocol promises.

Floor components are measured too (sha256 of the file in memory; the bytes through a loopback TCP socket
between two threads), so the report can say what part of the gap is physics of the protocol.
Rewrites "## Media: upload throughput" of docs/benchmarks.md.

Part "derivatives": cost of making thumb (320 px) + preview (1600 px) from a 12 MP camera JPEG with EXIF
orientation, our pipeline (media.images.make_derivatives: one draft() decode) against the naive pipeline
(open → exif_transpose → thumbnail, once per size), in the same process, pinned to one CPU core. Rewrites
only the "## Media: derivatives" section. The upload part runs first (the derivatives part pins the process).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import io
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.serving import free_port, serving  # noqa: E402
from bench.upload_floor import floor_rates  # noqa: E402
from media import images  # noqa: E402
from media.images import DERIVATIVE_SIZES, make_derivatives  # noqa: E402

BENCH_DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Media: derivatives"
UPLOAD_SECTION = "## Media: upload throughput"
MIB = 1024 * 1024
CHUNK = 4 * MIB


# -- input -------------------------------------------------------------------------------------------------------
def make_camera_jpeg(
    path: Path, size: tuple[int, int] = (4000, 3000), orientation: int = 6, seed: int = 7
) -> int:
    """A 12 MP JPEG that compresses like a photo: shapes, gradients, blur and sensor noise; EXIF orientation.

    Returns the file size. Deterministic for a given seed (Pillow's noise generator is seeded by content).
    """
    w, h = size
    base = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    draw = ImageDraw.Draw(base)
    rnd = _Lcg(seed)
    for _ in range(400):  # walls, equipment, labels: edges and flat areas at many scales
        x0, y0 = rnd.below(w), rnd.below(h)
        x1, y1 = x0 + rnd.below(w // 4) + 8, y0 + rnd.below(h // 4) + 8
        colour = (rnd.below(256), rnd.below(256), rnd.below(256))
        if rnd.below(2):
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour, outline=(0, 0, 0), width=3)
    base = base.filter(ImageFilter.GaussianBlur(1.2))
    # Sensor noise: luma (same in every channel) plus weaker chroma noise, both centred on 0.
    luma = Image.effect_noise((w, h), 9)
    photo = ImageChops.add(base, Image.merge("RGB", [luma, luma, luma]), 1.0, -128)
    chroma = Image.merge("RGB", [Image.effect_noise((w, h), 4) for _ in range(3)])
    photo = ImageChops.add(photo, chroma, 1.0, -128)
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "BenchCam"
    photo.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path.stat().st_size


class _Lcg:
    def __init__(self, seed: int) -> None:
        self.state = seed

    def below(self, n: int) -> int:
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % 2**64
        return (self.state >> 33) % max(1, n)


# -- pipelines ---------------------------------------------------------------------------------------------------
def naive_derivatives(path: Path) -> dict[str, bytes]:
    """What one writes first: full decode, rotate, thumbnail — once per size."""
    out = {}
    for name, long_side in DERIVATIVE_SIZES.items():
        with Image.open(path) as im:
            upright = ImageOps.exif_transpose(im)
            upright.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            upright.convert("RGB").save(buf, "JPEG", quality=82)
            out[name] = buf.getvalue()
    return out


def ours(path: Path) -> dict[str, bytes]:
    return {k: v.data for k, v in make_derivatives(path).items()}


def decode_only(path: Path) -> Image.Image:
    """The floor of our pipeline: the draft() decode alone (entropy decoding dominates it)."""
    with Image.open(path) as im:
        long_side = max(DERIVATIVE_SIZES.values())
        scale = long_side / max(im.size)
        im.draft("RGB", (round(im.width * scale), round(im.height * scale)))
        im.load()
        return im


def ours_lanczos_preview(path: Path) -> dict[str, bytes]:
    """Same pipeline with LANCZOS instead of HAMMING for the mild (< 2x) preview reduction: the quality
    alternative, shown so the trade-off is visible."""
    real = images._shrink

    def lanczos(im: Image.Image, target: tuple[int, int]) -> Image.Image:
        if target == im.size:
            return im.copy()
        return im.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)

    images._shrink = lanczos
    try:
        return ours(path)
    finally:
        images._shrink = real


@dataclass
class Timing:
    name: str
    samples_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        s = sorted(self.samples_ms)
        return s[min(len(s) - 1, round(0.9 * (len(s) - 1)))]


def _time_interleaved(fns: list[Callable[[Path], object]], path: Path, runs: int) -> list[Timing]:
    """Time the pipelines round-robin, so background load hits all of them alike (ratios stay fair)."""
    for fn in fns:
        fn(path)  # warm-up (imports, caches)
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn(path)
            samples[i].append((time.perf_counter() - t0) * 1000)
    return [Timing(getattr(fn, "__name__", "fn"), s) for fn, s in zip(fns, samples, strict=True)]


def pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def bench_derivatives(runs: int = 15) -> tuple[list[str], dict[str, float]]:
    """Returns markdown lines for the section and the key figures."""
    pinned = pin_one_core()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "camera.jpg"
        nbytes = make_camera_jpeg(src)
        with Image.open(src) as im:
            size = im.size
        got = make_derivatives(src)
        decoded_size = decode_only(src).size
        naive, mine, lanczos, decode = _time_interleaved(
            [naive_derivatives, ours, ours_lanczos_preview, decode_only], src, runs
        )
    speedup = naive.median / mine.median
    figures = {
        "naive_ms": naive.median,
        "ours_ms": mine.median,
        "speedup": speedup,
        "ours_lanczos_ms": lanczos.median,
    }
    ok_speed = "yes" if speedup >= 2.5 else "NO"
    ok_ms = "yes" if mine.median <= 80 else "NO"
    lines = [
        SECTION,
        "",
        f"Input: {size[0]}×{size[1]} JPEG (q90, {nbytes / 1e6:.1f} MB, EXIF orientation 6, synthetic photo-like "
        f"content with sensor noise), made by the bench. Output: thumb {got['thumb'].width}×{got['thumb'].height} "
        f"+ preview {got['preview'].width}×{got['preview'].height} JPEG, both per run. {runs} rounds after one "
        f"warm-up, pipelines interleaved round-robin, one process, {pinned}, load average {os.getloadavg()[0]:.1f}. Python {platform.python_version()}, Pillow {Image.__version__}, "
        f"{platform.machine()}.",
        "",
        "| pipeline | median ms | p90 ms | vs naive |",
        "|---|---:|---:|---:|",
        f"| naive: open → exif_transpose → thumbnail, per size | {naive.median:.1f} | {naive.p90:.1f} | 1.00× |",
        f"| ours: one draft() decode → exif_transpose → preview → thumb | {mine.median:.1f} | {mine.p90:.1f} "
        f"| {speedup:.2f}× faster |",
        f"| same, LANCZOS instead of HAMMING for the preview | {lanczos.median:.1f} | {lanczos.p90:.1f} "
        f"| {naive.median / lanczos.median:.2f}× faster |",
        f"| (part of ours) the draft() decode alone, {decoded_size[0]}×{decoded_size[1]} | {decode.median:.1f} "
        f"| {decode.p90:.1f} | |",
        "",
        f"Targets: ≥ 2.5× faster than naive — {ok_speed}; ≤ 80 ms for both sizes — {ok_ms} "
        f"({mine.median:.1f} ms). HAMMING for the preview's mild (< 2×) reduction is what keeps it under "
        "80 ms; the decode is the floor. Command: `.venv/bin/python bench/media_bench.py`.",
        "",
    ]
    return lines, figures


# -- upload throughput -------------------------------------------------------------------------------------------
@contextmanager
def server(data_dir: Path) -> Iterator[str]:
    """``fieldcheck serve --demo`` on a free port (SQLite in ``data_dir``, workers off); yields its URL."""
    port = free_port()
    env = {**os.environ, "FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_WORKERS": "false"}
    command = [sys.executable, "-m", "backend.cli", "serve", "--demo", "--port", str(port)]
    with open(data_dir.parent / "server.log", "wb") as log, serving(command, port, env=env, log=log) as url:
        yield url


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


def upload(
    session: Session, data: bytes, chunk: int, checksums: bool, phases: dict[str, list[float]] | None = None
) -> tuple[float, float]:
    """(seconds for all chunks but the last, seconds end to end) for one upload, and into ``phases`` the
    seconds of the POST, of each full chunk and of the last PATCH; checksums computed inline,
    as a client does. The timed requests go through a kept-alive ``http.client`` connection with the chunks
    as memoryview slices (no copy), a lean client as a browser's fetch is; the server's work is the same."""
    photo_id = session.add_photo(data)
    digest = hashlib.sha256(data).hexdigest()
    host, port = session.client.base_url.host, session.client.base_url.port
    connection = http.client.HTTPConnection(host, port, timeout=120)
    try:
        started = time.perf_counter()
        body = json.dumps({"photoId": photo_id, "sha256": digest, "size": len(data), "mime": "image/jpeg"})
        connection.request(
            "POST", "/api/uploads", body=body, headers={**session.headers, "Content-Type": "application/json"}
        )
        created = connection.getresponse()
        answer = created.read()
        assert created.status == 201, answer
        posted = time.perf_counter()
        chunk_times: list[float] = []
        url = json.loads(answer)["uploadUrl"]
        view = memoryview(data)
        offset = 0
        before_last = started
        while offset < len(data):
            piece = view[offset : offset + chunk]
            headers = {
                **session.headers,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }
            if checksums:
                headers["Upload-Checksum"] = (
                    "sha256 " + base64.b64encode(hashlib.sha256(piece).digest()).decode()
                )
            if offset + len(piece) == len(data):
                before_last = time.perf_counter()
            sent = time.perf_counter()
            connection.request("PATCH", url, body=piece, headers=headers)
            response = connection.getresponse()
            text = response.read()
            assert response.status == 204, text
            offset = int(response.headers["Upload-Offset"])
            chunk_times.append(time.perf_counter() - sent)
        ended = time.perf_counter()
    finally:
        connection.close()
    if phases is not None:
        phases.setdefault("post", []).append(posted - started)
        phases.setdefault("chunk", []).extend(chunk_times[:-1])
        phases.setdefault("last", []).append(chunk_times[-1])
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


def sha256_seconds(data: bytes) -> float:
    started = time.perf_counter()
    hashlib.sha256(data).digest()
    return time.perf_counter() - started


def loopback_seconds(data: bytes, chunk: int = CHUNK) -> float:
    """The bytes through a loopback TCP connection (sender and receiver threads), nothing else."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        got = bytearray(len(data))

        def receive() -> None:
            conn, _ = listener.accept()
            with conn:
                view = memoryview(got)
                while view:
                    n = conn.recv_into(view)
                    if not n:
                        break
                    view = view[n:]

        thread = threading.Thread(target=receive)
        thread.start()
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as out:
            for i in range(0, len(data), chunk):
                out.sendall(data[i : i + chunk])
        thread.join()
        return time.perf_counter() - started


def bench_upload(runs: int = 7, size_mb: float = 24.0) -> tuple[list[str], dict[str, float]]:
    data = random_jpeg(int(size_mb * 1000 * 1000))
    size = len(data)
    samples: dict[str, list[float]] = {}
    phases: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory(prefix="fc-upload-bench-", dir=ROOT) as tmp:
        data_dir = Path(tmp) / "data"
        with server(data_dir) as url:
            session = open_session(url)
            upload(session, random_jpeg(400_000), 256 * 1024, True)  # warm-up (imports, connections)
            upload(session, unique(data), CHUNK, True)
            src = data_dir / "bench-source.jpg"
            src.write_bytes(data)
            for _run in range(runs):
                add("plain", mbps(size, plain_copy(src, data_dir / "plain.copy")))
                add("durable", mbps(size, chunked_copy(src, data_dir / "chunked.copy", CHUNK)))
                add("upload+checksum", mbps(size, upload(session, unique(data), CHUNK, True)[1]))
                add("upload", mbps(size, upload(session, unique(data), CHUNK, False, phases)[1]))
                add("sha256", mbps(size, sha256_seconds(data)))
                add("loopback", mbps(size, loopback_seconds(data)))
            session.client.close()
        for mode, rates in floor_rates(data, CHUNK, data_dir, runs, free_port()).items():
            samples["bare-" + mode] = rates
    med = {k: statistics.median(v) for k, v in samples.items()}
    best = {k: max(v) for k, v in samples.items()}
    plain, durable = med["plain"], med["durable"]
    # a serial floor for the protocol: the bytes cross loopback, are written durably and hashed once
    floor = 1 / (1 / med["loopback"] + 1 / durable + 1 / med["sha256"])
    top = max(med["upload+checksum"], med["upload"])
    figures = dict(med) | {"floor": floor, "ratio_plain": top / plain}
    post_ms, chunk_ms, last_ms = (1000 * statistics.median(phases[k]) for k in ("post", "chunk", "last"))
    copy_ms = 1000 * size / MIB / plain

    def row(label: str, key: str) -> str:
        return (
            f"| {label} | {med[key]:.0f} | {best[key]:.0f} | {100 * med[key] / plain:.0f} % "
            f"| {100 * med[key] / durable:.0f} % |"
        )

    met = "met" if top / plain >= 0.8 else "NOT met"
    lines = [
        UPLOAD_SECTION,
        "",
        f"Input: a {size / 1e6:.1f} MB random-pixel JPEG (incompressible), {runs} runs, 4 MiB chunks, over "
        "loopback to a `fieldcheck serve --demo` uvicorn process (httptools + uvloop, SQLite, workers off); "
        "timed from the POST to the last 204, so the last PATCH's whole-file sha256, structural image check "
        "and blob + outbox write are included. Each run uploads a fresh sha256 (no dedupe). Baselines copy "
        "the same file in the same data directory, interleaved with the uploads. "
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs (client and server "
        f"share them), load average {os.getloadavg()[0]:.1f}. MiB/s:",
        "",
        "| what | median | best | vs (a) plain copy | vs (b) durable chunked copy |",
        "|---|---:|---:|---:|---:|",
        row("(a) plain copy: `shutil.copyfile` + one fsync", "plain"),
        row("(b) durable chunked copy: 4 MiB writes, fsync after each", "durable"),
        row("upload, `Upload-Checksum` on every chunk (client hashes inline)", "upload+checksum"),
        row("upload, no chunk checksums", "upload"),
        row("(ceiling) bare uvicorn app, same requests: body read and dropped", "bare-receive"),
        row("(ceiling) bare uvicorn app: body hashed (sha256, worker thread)", "bare-hash"),
        row("(ceiling) bare uvicorn app: our chunk writer (hashed, written, fsynced)", "bare-write"),
        row("(floor part) sha256 of the file in memory, one core", "sha256"),
        row("(floor part) the bytes through a loopback TCP socket, two threads", "loopback"),
        "",
        f"Issue 5's target is ≥ 80 % of (a), end to end: **{met}** ({100 * top / plain:.0f} % of (a) and "
        f"{100 * top / durable:.0f} % of (b), medians, the better variant). Command: "
        "`.venv/bin/python bench/media_bench.py --part upload`.",
        "",
        f"Where an upload's time goes (medians, without chunk checksums): the POST {post_ms:.1f} ms (session "
        f"row and files); a 4 MiB PATCH {chunk_ms:.1f} ms ({4 / chunk_ms * 1000:.0f} MiB/s: received, hashed "
        "and written in two worker threads at once, then fsynced before the 204 as DESIGN §7 requires); the "
        f"last PATCH {last_ms:.1f} ms (also the content check and the blob + jobs write). The plain copy takes "
        f"{copy_ms:.1f} ms for the same bytes, all inside the kernel; an upload must also carry them through "
        "loopback (the client's and the server's copies), hash them with sha256 (alone "
        f"{med['sha256']:.0f} MiB/s on one core) and answer seven HTTP requests, on 2 cores shared with the "
        f"client. Done one after the other, loopback + durable write + sha256 alone come to {floor:.0f} MiB/s "
        f"({100 * floor / plain:.0f} % of (a)).",
        "",
    ]
    return lines, figures


def write_section(lines: list[str], doc: Path = BENCH_DOC, section: str = SECTION) -> None:
    """Replace (or append) one "## ..." section of docs/benchmarks.md, leaving the others alone."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    body = "\n".join(lines).rstrip("\n") + "\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fieldcheck media benchmarks")
    parser.add_argument("--part", choices=["all", "upload", "derivatives"], default="all")
    parser.add_argument("--runs", type=int, default=15, help="derivatives rounds")
    parser.add_argument("--upload-runs", type=int, default=7)
    parser.add_argument("--size-mb", type=float, default=24.0)
    parser.add_argument("--no-write", action="store_true", help="print only, do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    parts: list[tuple[str, list[str]]] = []
    if args.part in ("all", "upload"):  # first: the derivatives part pins this process to one core
        parts.append((UPLOAD_SECTION, bench_upload(args.upload_runs, args.size_mb)[0]))
    if args.part in ("all", "derivatives"):
        parts.append((SECTION, bench_derivatives(args.runs)[0]))
    for section, lines in parts:
        print("\n".join(lines))
        if not args.no_write:
            write_section(lines, section=section)
            print(f"(section written to {BENCH_DOC.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
