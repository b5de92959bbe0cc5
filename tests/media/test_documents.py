"""media.documents: PDF/DOCX/XLSX told by their bytes, refused when encrypted, macro-enabled, zip bombs or
broken, and a PDF's first page rendered with ink on it."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from media.documents import (
    DOCUMENT_MIMES,
    DOCX,
    PDF,
    XLSX,
    DocumentRejected,
    check_document,
    render_first_page,
)
from sync.policy import DOCUMENT_MIMES as SYNC_DOCUMENT_MIMES
from tests.media.document_files import (
    docx_bytes,
    encrypted_office_bytes,
    legacy_doc_bytes,
    pdf_bytes,
    xlsx_bytes,
    zip_bomb_docx,
)

MAX = 25 * 1024 * 1024


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.part"
    path.write_bytes(data)
    return path


def test_sync_and_media_name_the_same_document_types() -> None:
    assert SYNC_DOCUMENT_MIMES == DOCUMENT_MIMES


@pytest.mark.parametrize(
    ("make", "mime", "pages"),
    [
        (pdf_bytes, PDF, 1),
        (lambda: pdf_bytes(pages=3), PDF, 3),
        (docx_bytes, DOCX, None),
        (xlsx_bytes, XLSX, None),
    ],
    ids=["pdf", "pdf-3-pages", "docx", "xlsx"],
)
def test_documents_accepted_by_their_bytes(
    tmp_path: Path, make: Callable[[], bytes], mime: str, pages: int | None
) -> None:
    facts = check_document(write(tmp_path, make()), max_bytes=MAX)
    assert (facts.mime, facts.pages) == (mime, pages)


@pytest.mark.parametrize(
    ("data", "reason", "fmt"),
    [
        (pdf_bytes(encrypt=(b"secret", b"owner")), "encrypted", "PDF"),
        (pdf_bytes(encrypt=(b"", b"owner")), "encrypted", "PDF"),  # opens without a password, still refused
        (pdf_bytes(broken=True), "corrupt", "PDF"),
        (docx_bytes(macro=True), "macro_enabled", "DOCX"),
        (docx_bytes(vba=True), "macro_enabled", "DOCX"),
        (xlsx_bytes(macro=True), "macro_enabled", "XLSX"),
        (xlsx_bytes(vba=True), "macro_enabled", "XLSX"),
        (encrypted_office_bytes(), "encrypted", "DOCX/XLSX"),
        (legacy_doc_bytes(), "unsupported_format", "DOC/XLS"),
        (zip_bomb_docx(), "zip_bomb", "ZIP"),
        (b"PK\x03\x04 not really a zip", "corrupt", "DOCX/XLSX"),
    ],
    ids=[
        "pdf-user-password",
        "pdf-owner-password",
        "pdf-broken",
        "docm",
        "docx-vbaproject",
        "xlsm",
        "xlsx-vbaproject",
        "office-encrypted",
        "legacy-doc",
        "zip-bomb",
        "bad-zip",
    ],
)
def test_refused_with_a_reason_and_its_parameters(tmp_path: Path, data: bytes, reason: str, fmt: str) -> None:
    with pytest.raises(DocumentRejected) as caught:
        check_document(write(tmp_path, data), max_bytes=MAX)
    assert caught.value.reason == reason
    assert caught.value.params == {"format": fmt}


def test_zip_bomb_is_refused_without_inflating(tmp_path: Path) -> None:
    # 300 MB declared in a ~300 kB file: the check reads only the central directory
    data = zip_bomb_docx()
    assert len(data) < 1024 * 1024
    with pytest.raises(DocumentRejected, match="zip_bomb"):
        check_document(write(tmp_path, data), max_bytes=MAX)


def test_size_limits(tmp_path: Path) -> None:
    with pytest.raises(DocumentRejected) as caught:
        check_document(write(tmp_path, pdf_bytes()), max_bytes=100)
    assert caught.value.reason == "too_large"
    with pytest.raises(DocumentRejected) as caught:
        check_document(write(tmp_path, b""), max_bytes=MAX)
    assert caught.value.reason == "empty"


def test_first_page_thumbnail_has_the_pages_ink(tmp_path: Path) -> None:
    pages = render_first_page(write(tmp_path, pdf_bytes(pages=2)), {"thumb": 320, "preview": 1600})
    assert set(pages) == {"thumb", "preview"}
    for name, edge in (("thumb", 320), ("preview", 1600)):
        with Image.open(io.BytesIO(pages[name].data)) as image:
            assert image.format == "JPEG"
            assert max(image.size) == edge
            assert image.height > image.width  # A4 portrait
            rgb = image.convert("RGB")
            w, h = rgb.size
            # the dark blue block in the upper half, the red bar lower down, white margins
            r, g, b = rgb.getpixel((w // 2, int(h * 0.3)))
            assert b > 100
            assert max(r, g) < 40
            r, g, b = rgb.getpixel((w // 2, int(h * 0.74)))
            assert r > 200
            assert max(g, b) < 60
            assert min(rgb.getpixel((3, 3))) > 240
            # not blank: a good share of the page is ink
            histogram = rgb.convert("L").histogram()
            dark = sum(histogram[:128])
            assert dark > 0.2 * w * h


def test_a_pdf_that_does_not_open_is_refused_at_render(tmp_path: Path) -> None:
    with pytest.raises(DocumentRejected, match="corrupt"):
        render_first_page(write(tmp_path, pdf_bytes(broken=True)), {"thumb": 320})
