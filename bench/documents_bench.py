"""Documents as evidence: what a ledger costs the upload check and the derive worker, against the photo
pipeline in the same run. Run: ``.venv/bin/python bench/documents_bench.py [--runs 15] [--no-write]``.

- derive: a PDF's first page (A4) → thumb 320 + preview 1600 (media.documents.render_first_page) against a
  12 MP camera JPEG → the same two sizes (media.images.make_derivatives), interleaved round-robin;
- upload check: media.documents.check_document on a 100-page PDF, a 2,000-row XLSX and a 300 MB zip bomb,
  against the whole-file sha256 the upload computes anyway (media.spool.sha256_file) of the same file.

Rewrites only the "## Media: documents" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.media_bench import write_section  # noqa: E402
from media.documents import DocumentRejected, check_document, render_first_page  # noqa: E402
from media.images import make_derivatives  # noqa: E402
from media.spool import sha256_file  # noqa: E402
from tests.media.document_files import pdf_bytes, zip_bomb_docx  # noqa: E402

SECTION = "## Media: documents"
SIZES = {"thumb": 320, "preview": 1600}


def camera_jpeg(path: Path) -> None:
    from PIL import Image

    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    noise.save(path, "JPEG", quality=90)


def big_xlsx(path: Path, rows: int = 2000) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("台账")
    for r in range(rows):
        sheet.write_row(r, 0, (f"2026-05-{r % 28 + 1:02d}", "消毒", "张三", r, r * 1.5, "已核对"))
    workbook.close()


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    for fn in fns.values():
        fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - start) * 1000)
    return out


def p90(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.9) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        jpeg, pdf, pdf100, xlsx, bomb = (
            root / n for n in ("c.jpg", "a4.pdf", "p100.pdf", "l.xlsx", "b.docx")
        )
        camera_jpeg(jpeg)
        pdf.write_bytes(pdf_bytes())
        pdf100.write_bytes(pdf_bytes(pages=100))
        big_xlsx(xlsx)
        bomb.write_bytes(zip_bomb_docx())
        derive = interleaved(
            {
                "photo": lambda: make_derivatives(jpeg, sizes=SIZES),
                "pdf": lambda: render_first_page(pdf, SIZES),
            },
            args.runs,
        )
        checks = []
        for label, path in (("PDF, 100 pages", pdf100), ("XLSX, 2,000 rows", xlsx), ("DOCX zip bomb", bomb)):

            def check(p: Path = path) -> None:
                # the bomb is refused: the time is what is measured
                with contextlib.suppress(DocumentRejected):
                    check_document(p, max_bytes=25 * 2**20)

            check_ms = timed(check, args.runs)
            sha_ms = timed(lambda p=path: sha256_file(p, None), args.runs)
            checks.append(
                (label, path.stat().st_size, statistics.median(check_ms), statistics.median(sha_ms))
            )
    import PIL
    import pypdfium2

    photo, page = statistics.median(derive["photo"]), statistics.median(derive["pdf"])
    lines = [
        SECTION,
        "",
        f"{args.runs} rounds after one warm-up, one process pinned to CPU 0, load average "
        f"{os.getloadavg()[0]:.1f}. Python {platform.python_version()}, Pillow {PIL.__version__}, "
        f"pypdfium2 {pypdfium2.version.PYPDFIUM_INFO} (PDFium {pypdfium2.version.PDFIUM_INFO}), {platform.machine()}.",
        "",
        "| derive (thumb 320 + preview 1600) | median ms | p90 ms | vs photo |",
        "|---|---:|---:|---:|",
        f"| photo: 12 MP camera JPEG (make_derivatives) | {photo:.1f} | {p90(derive['photo']):.1f} | 1.00× |",
        f"| PDF: first page of an A4 ledger (render_first_page) | {page:.1f} | {p90(derive['pdf']):.1f} "
        f"| {photo / page:.2f}× faster |",
        "",
        "| upload check | bytes | check_document median ms | sha256 of the file, ms | check / sha256 |",
        "|---|---:|---:|---:|---:|",
        *(f"| {label} | {size:,} | {c:.2f} | {s:.2f} | {c / s:.2f} |" for label, size, c, s in checks),
        "",
        "No target was set; the figures show a ledger costs the derive worker less than a photo, and the upload "
        "check opens a PDF lazily (PDFium reads its cross-reference table and page tree, no page content) and reads only a ZIP's central directory (a 300 MB zip bomb is refused "
        "without inflating a byte). Command: `.venv/bin/python bench/documents_bench.py`.",
        "",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section(lines, section=SECTION)


if __name__ == "__main__":
    main()
