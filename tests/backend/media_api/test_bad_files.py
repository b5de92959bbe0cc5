"""Files that are not acceptable photos: a clear 4xx with the reason, and nothing stored or spooled."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from PIL import Image

from media.tables import Blob, Job, Upload
from tests.backend.media_api.helpers import add_photo, create, noisy_jpeg, patch, upload


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _bomb_png() -> bytes:
    # 12,000 × 12,000 = 144 MP of a single colour: a ~20 KB file that would decode to 144 MB (limit 60 MP)
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def _truncated_jpeg() -> bytes:
    data = noisy_jpeg(600, 400)
    return data[: len(data) * 2 // 3]


BAD_FILES: dict[str, tuple[Any, set[str]]] = {
    "decompression bomb": (_bomb_png, {"too_many_pixels", "decompression_bomb"}),
    "truncated jpeg": (_truncated_jpeg, {"truncated"}),
    # PDFs are evidence now (docs/media.md § Documents): this one has no page tree or xref, so it is broken
    "broken pdf named .jpg": (
        lambda: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"0" * 4000,
        {"corrupt"},
    ),
    # a ZIP may be a DOCX/XLSX ledger: this one has no central directory, so it does not open
    "broken zip named .jpg": (
        lambda: b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 4000,
        {"corrupt"},
    ),
    "html named .jpg": (
        lambda: b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        {"unsupported_format"},
    ),
    "svg": (
        lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
        {"unsupported_format"},
    ),
    "jpeg magic then garbage": (
        lambda: b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x13" * 5000,
        {"corrupt", "truncated"},
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
async def test_bad_file_is_422_with_reason_and_nothing_kept(
    name: str,
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
) -> None:
    make, reasons = BAD_FILES[name]
    data = make()
    inspection = demo["review_inspection"]
    photo = await add_photo(inspection, data)
    response = await upload(client, inspector, photo, chunk_size=64 * 1024)
    assert response.status_code == 422, (name, response.status_code, response.text)
    problem = response.json()
    assert problem["code"] in reasons, problem
    assert problem["detail"]
    settings = app.state.settings
    assert _files(settings.data_path / "spool") == []
    assert _files(settings.data_path / "storage") == []
    assert await Upload.count() == 0
    assert await Job.count() == 0
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    assert blob["state"] == "rejected"
    assert blob["spool_path"] is None
    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    assert receipt["photos"][0]["state"] == "rejected"
    assert receipt["photos"][0]["reason"].split(":")[0] == problem["code"]
    # asking again gets the same answer at once, without sending bytes
    again = await create(client, inspector, photo)
    assert again.status_code == 422
    assert again.json()["code"] == "content_rejected"


async def test_zero_bytes_and_oversize_refused_at_create(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    inspection = demo["review_inspection"]
    empty = await add_photo(inspection, b"")
    response = await create(client, inspector, empty)
    assert response.status_code == 422
    assert response.json()["code"] == "empty_file"

    limit = app.state.settings.max_upload_bytes
    big = await add_photo(inspection, b"x", declared_size=limit + 1)
    response = await client.post(
        "/api/uploads",
        json={"photoId": str(big.id), "sha256": big.sha256, "size": limit + 1},
        headers=inspector,
    )
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert await Upload.count() == 0
    assert await Blob.count() == 0
    assert _files(app.state.settings.data_path / "spool") == []


async def test_chunk_past_declared_size_and_over_chunk_limit(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    data = noisy_jpeg(200, 200)
    photo = await add_photo(demo["review_inspection"], data)
    url = (await create(client, inspector, photo)).json()["uploadUrl"]
    too_long = await patch(client, inspector, url, 0, data + b"extra")
    assert too_long.status_code == 400
    assert too_long.json()["code"] == "chunk_past_end"
    huge = await patch(client, inspector, url, 0, b"\0" * (4 * 1024 * 1024 + 1))
    assert huge.status_code == 413
    assert (await client.head(url, headers=inspector)).headers["Upload-Offset"] == "0"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("HEAD", "/api/uploads/..%2F..%2Fsecret_key"),
        ("PATCH", "/api/uploads/../../secret_key"),
        ("PATCH", "/api/uploads/%2e%2e%2fsecret_key"),
        ("GET", "/api/photos/..%2F..%2Fsecret_key/original"),
        ("GET", "/api/photos/00000000-0000-0000-0000-000000000000/..%2F..%2Fsecret_key"),
        ("GET", "/api/media/signed/..%2Fsecret_key?exp=99999999999&sig=x"),
        ("GET", "/api/media/signed/blobs/../../secret_key?exp=99999999999&sig=x"),
        ("GET", "/api/media/signed/%2e%2e/%2e%2e/fieldcheck.sqlite?exp=99999999999&sig=x"),
        ("GET", "/api/inspections/..%2F..%2Fetc/receipt"),
    ],
)
async def test_path_like_ids_are_4xx(
    method: str, path: str, client: httpx.AsyncClient, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    response = await client.request(
        method,
        path,
        headers={**inspector, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert b"test-secret" not in response.content
    assert b"SQLite format" not in response.content


async def test_path_like_photo_id_in_body_is_400(
    client: httpx.AsyncClient, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    for photo_id in ("../../etc/passwd", "..\\..\\x", str(uuid.uuid4()) + "/../x"):
        response = await client.post(
            "/api/uploads", json={"photoId": photo_id, "sha256": "0" * 64, "size": 10}, headers=inspector
        )
        assert response.status_code == 400, response.text
    bad_sha = await add_photo(demo["review_inspection"], b"abc", declared_sha256="../" * 21 + "x")
    response = await create(client, inspector, bad_sha)
    assert response.status_code in (400, 422)
