"""Media benchmarks. Run: ``.venv/bin/python bench/media_bench.py [--runs 15] [--no-write]``.

Part "derivatives" (this file's first section): cost of making thumb (320 px) + preview (1600 px) from a
12 MP camera JPEG with EXIF orientation, our pipeline (media.images.make_derivatives: one draft() decode)
against the naive pipeline (open → exif_transpose → thumbnail, once per size), in the same process, pinned
to one CPU core. Prints a table and rewrites only the "## Media: derivatives" section of docs/benchmarks.md.

Other media benchmarks (upload throughput, ...) add their own ``bench_*`` function and section; keep
``main()`` as the one entry point.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from media import images  # noqa: E402
from media.images import DERIVATIVE_SIZES, make_derivatives  # noqa: E402

BENCH_DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Media: derivatives"


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
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="print only, do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    lines, _ = bench_derivatives(args.runs)
    print("\n".join(lines))
    if not args.no_write:
        write_section(lines)
        print(f"(section written to {BENCH_DOC.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
