"""The printable path shared by every report kind: an HTML fragment → the app's page, or a PDF.

A report kind is an async ``render(user, params, storage) -> Printable`` that checks the caller's scope itself and
returns escaped HTML using the classes of ``pwa_static/report.css``. The app shows the fragment under its own
stylesheets (``GET /api/printables/{kind}``); the PDF is the same fragment wrapped in a whole document with that
stylesheet inlined (``document``) and printed by headless Chromium (``html_to_pdf``) in an export job. Pictures
are ``data:`` URIs (allowed by the app's CSP and readable by Chromium from a file), never links needing a token.
"""

from __future__ import annotations

import asyncio
import html
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import msgspec

from backend.guards import AuthUser
from backend.vocabulary import Lang
from backend.web.assets import default_pwa_dir
from media.storage import Storage

PDF_TIMEOUT_SECONDS = 120


class PrintableParams(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """What a report is about; each kind says which fields it needs (400 ``missing_parameter`` otherwise)."""

    facility_id: UUID | None = None
    round_id: UUID | None = None
    subject_id: UUID | None = None
    lang: Lang = "zh"  # the reader's language (backend/vocabulary.py), Chinese by default


@dataclass(frozen=True, slots=True)
class Printable:
    title: str
    filename: str  # without extension; readable (facility, round, what it is: backend/vocabulary.file_name)
    body: str  # an escaped HTML fragment, no script, no style attribute (the app's CSP)
    lang: str = "zh-CN"


# (caller, params, storage for pictures) -> the report; raises Forbidden / NotFound / BadRequest itself
Render = Callable[[AuthUser, PrintableParams, Storage], Awaitable[Printable]]
# (caller, params) -> the same report as an XLSX workbook's bytes, in params.lang
WorkbookRender = Callable[[AuthUser, PrintableParams], Awaitable[bytes]]


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def stylesheet(pwa_dir: str = "") -> str:
    return (Path(pwa_dir) if pwa_dir else default_pwa_dir()).joinpath("report.css").read_text("utf-8")


# The printed page's own policy: no script, no request of any kind; pictures are data: URIs, the stylesheet is
# inlined. (Chromium's --blink-settings=scriptEnabled=false makes --print-to-pdf write nothing: not used.)
PRINT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; base-uri 'none'; form-action 'none'"


def document(printable: Printable, *, pwa_dir: str = "") -> str:
    """A whole HTML document with the report stylesheet inlined: what Chromium prints."""
    return (
        f'<!doctype html><html lang="{esc(printable.lang)}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{PRINT_CSP}">'
        f"<title>{esc(printable.title)}</title><style>{stylesheet(pwa_dir)}</style></head>"
        f'<body class="printable-doc">{printable.body}</body></html>'
    )


class PdfError(Exception):
    """Chromium did not print the page (missing, crashed, timed out)."""


def html_to_pdf(document_html: str, *, chromium: str) -> bytes:
    """Blocking (run it in a thread): print a whole HTML document to PDF with headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="fc-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        out = Path(tmp) / "report.pdf"
        page.write_text(document_html, "utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - a fixed program and our own arguments
                command, capture_output=True, timeout=PDF_TIMEOUT_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfError(f"chromium could not print: {exc}") from exc
        if not out.exists() or out.stat().st_size == 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise PdfError(f"chromium exited {done.returncode} without a PDF: {' | '.join(detail)}")
        return out.read_bytes()


async def to_pdf(printable: Printable, *, chromium: str, pwa_dir: str = "") -> bytes:
    return await asyncio.to_thread(html_to_pdf, document(printable, pwa_dir=pwa_dir), chromium=chromium)
