"""Documents as evidence: PDF, DOCX and XLSX ledgers (台账) checked by their bytes, and a PDF's first page
rendered as a thumbnail and preview (pypdfium2, PDFium's own renderer). DOCX and XLSX are never rendered: the
app shows a type icon. Plain synchronous functions: call them in a worker thread.

Refused, each with a reason code and parameters (said in words by the app's vocabulary, documents.json):
``empty``, ``too_large``, ``unsupported_format``, ``corrupt``, ``encrypted``, ``macro_enabled``, ``zip_bomb``.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCUMENT_MIMES = frozenset({PDF, DOCX, XLSX})
# the short name a person reads (reason parameters, icons)
FORMAT_NAMES = {PDF: "PDF", DOCX: "DOCX", XLSX: "XLSX"}

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# ISO 32000: "%PDF-" may follow up to 1,024 bytes of junk
PDF_HEADER_WINDOW = 1024

# Zip bomb limits, from the central directory's declared sizes (nothing is inflated to check them). Real
# ledgers are a few MB unpacked; XML compresses about 10-20x, so 200x on a large member is not a document.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024  # small members may compress better than that (runs of spaces)
CONTENT_TYPES_MAX = 1024 * 1024


class DocumentRejected(Exception):
    """Why these bytes are not accepted as a document: ``reason`` (a vocabulary code) and ``params``."""

    def __init__(self, reason: str, detail: str, **params: Any) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.params = params


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    mime: str
    pages: int | None = None  # PDF only
    extra: dict[str, Any] = field(default_factory=dict)


def has_page_image(mime: str) -> bool:
    """Whether the derivative worker makes a thumb and preview for this type (photos and PDFs; not DOCX/XLSX)."""
    return mime not in DOCUMENT_MIMES or mime == PDF


def sniff_document(header: bytes) -> str | None:
    """PDF, a ZIP (maybe OOXML: :func:`check_document` decides which) or an OLE compound file, from the
    first 1,024 bytes; the OOXML answer is only ``application/zip`` until the members are read."""
    if header.startswith(ZIP_MAGIC):
        return "application/zip"
    if header.startswith(OLE_MAGIC):
        return "application/x-ole-storage"
    if b"%PDF-" in header[:PDF_HEADER_WINDOW]:
        return PDF
    return None


def is_document_header(header: bytes) -> bool:
    return sniff_document(header) is not None


def check_document(path: Path, *, max_bytes: int) -> DocumentFacts:
    """The upload's check of a document: type by content, size, encryption, macros, zip bombs."""
    size = path.stat().st_size
    if size == 0:
        raise DocumentRejected("empty", "the file is empty")
    if size > max_bytes:
        raise DocumentRejected(
            "too_large", f"{size} bytes; documents may be at most {max_bytes}", maxMb=max_bytes // 2**20
        )
    with path.open("rb") as handle:
        header = handle.read(PDF_HEADER_WINDOW)
    kind = sniff_document(header)
    if kind == PDF:
        return _check_pdf(path)
    if kind == "application/zip":
        return _check_ooxml(path)
    if kind == "application/x-ole-storage":
        # An encrypted DOCX/XLSX is an OLE compound file holding the EncryptionInfo and EncryptedPackage
        # streams (MS-OFFCRYPTO); directory entry names are UTF-16LE. Anything else in OLE is a legacy
        # .doc/.xls, which is not accepted (macros cannot be told apart there).
        data = path.read_bytes()
        if "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data:
            raise DocumentRejected("encrypted", "a password-protected Office file", format="DOCX/XLSX")
        raise DocumentRejected(
            "unsupported_format", "a legacy Office (OLE) file; save it as DOCX or XLSX", format="DOC/XLS"
        )
    raise DocumentRejected("unsupported_format", "not a PDF, DOCX or XLSX file", format="?")


def _check_pdf(path: Path) -> DocumentFacts:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise DocumentRejected("encrypted", "the PDF needs a password to open", format="PDF") from exc
        raise DocumentRejected("corrupt", f"the PDF does not open: {exc}", format="PDF") from exc
    try:
        # an owner password alone (no password to open, but printing/copying restricted) is encryption too:
        # the evidence must be readable and copyable by the office
        if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:
            raise DocumentRejected("encrypted", "the PDF is encrypted (owner password)", format="PDF")
        pages = len(pdf)
        if pages == 0:
            raise DocumentRejected("corrupt", "the PDF has no pages", format="PDF")
    finally:
        pdf.close()
    return DocumentFacts(mime=PDF, pages=pages)


def _check_ooxml(path: Path) -> DocumentFacts:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentRejected("corrupt", f"not a readable ZIP: {exc}", format="DOCX/XLSX") from exc
    with archive:
        members = archive.infolist()
        check_zip_sizes(members)
        names = {m.filename for m in members}
        if "word/document.xml" in names:
            mime, fmt = DOCX, "DOCX"
        elif "xl/workbook.xml" in names:
            mime, fmt = XLSX, "XLSX"
        else:
            raise DocumentRejected("unsupported_format", "a ZIP that is not a DOCX or XLSX", format="ZIP")
        if "[Content_Types].xml" not in names:
            raise DocumentRejected("corrupt", "no [Content_Types].xml", format=fmt)
        if any(name.lower().endswith("vbaproject.bin") for name in names):
            raise DocumentRejected(
                "macro_enabled", "the file carries VBA macros (vbaProject.bin)", format=fmt
            )
        try:
            with archive.open("[Content_Types].xml") as handle:
                types = handle.read(CONTENT_TYPES_MAX)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise DocumentRejected(
                "corrupt", f"[Content_Types].xml does not read: {exc}", format=fmt
            ) from exc
        # .docm/.xlsm declare their main part macroEnabled even when the macro part was removed
        if b"macroenabled" in types.lower():
            raise DocumentRejected("macro_enabled", "a macro-enabled file (.docm/.xlsm)", format=fmt)
    return DocumentFacts(mime=mime)


def check_zip_sizes(members: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip bomb from its declared sizes: too many members, too much unpacked, or a member that
    unpacks far more than any document would."""
    if len(members) > MAX_MEMBERS:
        raise DocumentRejected("zip_bomb", f"{len(members)} members (at most {MAX_MEMBERS})", format="ZIP")
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise DocumentRejected(
                "zip_bomb",
                f"{member.filename} unpacks {member.file_size} bytes from {member.compress_size}",
                format="ZIP",
            )
    if total > MAX_UNPACKED_BYTES:
        raise DocumentRejected(
            "zip_bomb", f"{total} bytes unpacked (at most {MAX_UNPACKED_BYTES})", format="ZIP"
        )


@dataclass(frozen=True, slots=True)
class PageImage:
    name: str
    data: bytes
    width: int
    height: int


def render_first_page(path: Path, sizes: dict[str, int]) -> dict[str, PageImage]:
    """The PDF's first page as JPEGs, one per size (the longest side), rendered once at the largest size on
    white, then shrunk: the same ``thumb``/``preview`` variants a photo gets."""
    import pypdfium2 as pdfium
    from PIL import Image

    largest = max(sizes.values())
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise DocumentRejected("corrupt", f"the PDF does not open: {exc}", format="PDF") from exc
    try:
        page = pdf[0]
        try:
            width, height = page.get_size()
            scale = min(largest / max(width, height, 1.0), 4.0)  # a tiny page is not blown up past 288 dpi
            bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255), may_draw_forms=True)
            try:
                image = bitmap.to_pil().convert("RGB")
            finally:
                bitmap.close()
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        raise DocumentRejected("corrupt", f"the first page does not render: {exc}", format="PDF") from exc
    finally:
        pdf.close()
    out: dict[str, PageImage] = {}
    for name, edge in sorted(sizes.items(), key=lambda kv: -kv[1]):
        copy = image.copy()
        copy.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        copy.save(buffer, "JPEG", quality=82 if edge > 400 else 78, optimize=True)
        out[name] = PageImage(name=name, data=buffer.getvalue(), width=copy.width, height=copy.height)
    return out
