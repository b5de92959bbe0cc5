"""Documents as evidence over HTTP, on both databases: PDF, DOCX and XLSX ledgers added with addPhoto (their mime
says the kind), uploaded through the same tus path, stored, the PDF's first page derived; bad, encrypted,
macro-enabled and zip-bomb files refused with a reason code and parameters; an article whose minimum is a
document satisfied by one (receipt and submit)."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar
from PIL import Image

from backend.inspections.tables import Inspection
from backend.standards.loader import shipped_bytes
from media.documents import DOCX, PDF, XLSX
from media.tables import Blob, Job, Upload
from media.worker import MediaWorker
from sync.tables import Photo
from tests.backend.media_api.helpers import PhotoFile, sha, upload
from tests.backend.sync_api.sync_support import (
    Devices,
    add_camera_photo,
    answer_everything,
    camera_photo,
    photo_minimums,
    upload_all,
)
from tests.conftest import login
from tests.media.document_files import (
    docx_bytes,
    encrypted_office_bytes,
    pdf_bytes,
    xlsx_bytes,
    zip_bomb_docx,
)

DOCUMENT_STANDARD = "thc-ledgers-test"


async def document(
    devices: Devices, inspection: uuid.UUID, data: bytes, mime: str, item: str = "1.1.1"
) -> PhotoFile:
    """A ledger added the way the app adds it: addPhoto with the document's mime, pushed."""
    device = await devices.device("inspector1")
    photo = PhotoFile(uuid.uuid4(), data, sha(data))
    device.add_photo(inspection, item, photo.sha256, photo.size, mime=mime, photo_id=photo.id)
    await device.push()
    result = device.results[max(device.results)]
    assert (result.status, result.upload_required) == ("applied", True), result
    return photo


@pytest.mark.parametrize(
    ("make", "mime"), [(pdf_bytes, PDF), (docx_bytes, DOCX), (xlsx_bytes, XLSX)], ids=["pdf", "docx", "xlsx"]
)
async def test_ledger_uploads_stores_and_derives(
    make: Callable[[], bytes],
    mime: str,
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
    worker: MediaWorker,
) -> None:
    inspection = demo["review_inspection"]
    photo = await document(Devices(client), inspection, make(), mime)
    row = await Photo.select(Photo.mime).where(Photo.id == photo.id).first()
    assert row == {"mime": mime}
    assert (await upload(client, inspector, photo)).status_code == 204
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    assert (blob["state"], blob["mime"]) == ("spooled", mime)  # sniffed from the bytes
    assert await worker.run_once() == 2  # transfer + derive
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    assert (blob["state"], blob["derived"], blob["derive_error"]) == ("stored", True, None)

    original = await client.get(f"/api/photos/{photo.id}/original", headers=inspector)
    assert original.status_code == 307
    got = await client.get(original.headers["Location"])
    assert got.content == photo.data
    assert got.headers["content-type"] == mime

    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    (entry,) = receipt["photos"]
    assert (entry["kind"], entry["mime"], entry["state"]) == ("document", mime, "stored")
    assert entry["flags"] == []  # no capture time or place is asked of a ledger
    # only a PDF gets a thumbnail: a device asks for none of a DOCX or XLSX (no 404 on the way)
    assert entry["thumbReady"] is (mime == PDF)

    thumb = await client.get(f"/api/photos/{photo.id}/thumb", params={"as": "json"}, headers=inspector)
    if mime != PDF:
        assert thumb.status_code == 404
        assert thumb.json()["code"] == "no_variant"  # the app shows the type's icon
        return
    assert thumb.status_code == 200
    for variant, edge in (("thumb", 320), ("preview", 1600)):
        link = await client.get(f"/api/photos/{photo.id}/{variant}", params={"as": "json"}, headers=inspector)
        image = await client.get(link.json()["url"])
        with Image.open(io.BytesIO(image.content)) as im:
            assert im.format == "JPEG"
            assert max(im.size) == edge
            gray = im.convert("L")
            histogram = gray.histogram()
            # the first page's ink is there: not a blank (white) or failed (grey) render
            assert sum(histogram[:128]) > 0.2 * gray.width * gray.height
            assert sum(histogram[240:]) > 0.2 * gray.width * gray.height


REFUSED = {
    "encrypted-pdf": (lambda: pdf_bytes(encrypt=(b"secret", b"owner")), PDF, "encrypted", "PDF"),
    "owner-password-pdf": (lambda: pdf_bytes(encrypt=(b"", b"owner")), PDF, "encrypted", "PDF"),
    "broken-pdf": (lambda: pdf_bytes(broken=True), PDF, "corrupt", "PDF"),
    "docm": (lambda: docx_bytes(macro=True), DOCX, "macro_enabled", "DOCX"),
    "xlsx-with-vba": (lambda: xlsx_bytes(vba=True), XLSX, "macro_enabled", "XLSX"),
    "encrypted-office": (encrypted_office_bytes, DOCX, "encrypted", "DOCX/XLSX"),
    "zip-bomb": (zip_bomb_docx, DOCX, "zip_bomb", "ZIP"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_bad_documents_refused_with_a_reason_and_nothing_kept(
    name: str,
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
) -> None:
    make, mime, reason, fmt = REFUSED[name]
    inspection = demo["review_inspection"]
    photo = await document(Devices(client), inspection, make(), mime)
    response = await upload(client, inspector, photo, chunk_size=64 * 1024)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["code"], problem["params"]) == (reason, {"format": fmt})
    assert await Upload.count() == 0
    assert await Job.count() == 0
    blob = await Blob.select().where(Blob.sha256 == photo.sha256).first()
    assert blob is not None
    assert (blob["state"], blob["spool_path"]) == ("rejected", None)
    receipt = (await client.get(f"/api/inspections/{inspection}/receipt", headers=inspector)).json()
    assert receipt["photos"][0]["state"] == "rejected"
    assert receipt["photos"][0]["reason"].split(":")[0] == reason
    assert not any((app.state.settings.data_path / "storage").rglob("*.*"))


async def test_a_document_is_not_taken_for_a_photo_by_its_claim(
    client: httpx.AsyncClient, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    # declared a JPEG, the bytes are a PDF: the blob says what the bytes are
    inspection = demo["review_inspection"]
    device = await Devices(client).device("inspector1")
    data = pdf_bytes()
    photo = PhotoFile(uuid.uuid4(), data, sha(data))
    device.add_photo(inspection, "1.1.1", photo.sha256, photo.size, photo_id=photo.id)
    await device.push()
    assert (await upload(client, inspector, photo)).status_code == 204
    blob = await Blob.select(Blob.mime).where(Blob.sha256 == photo.sha256).first()
    assert blob == {"mime": PDF}
    # and a type that is neither is still refused by the sync push
    device.add_photo(inspection, "1.1.1", sha(b"x"), 1, mime="text/html")
    await device.push()
    refused = device.results[max(device.results)]
    assert (refused.status, refused.reason) == ("rejected", "unsupported_mime")


async def use_document_standard(client: httpx.AsyncClient, inspection: uuid.UUID) -> None:
    """The township standard with article 1.2.1 asking for a ledger instead of a photo, published."""
    raw = json.loads(shipped_bytes("township-2018"))
    raw["id"] = DOCUMENT_STANDARD

    def walk(sections: list[dict[str, Any]]) -> None:
        for section in sections:
            for article in section.get("articles", []):
                if article["number"] == "1.2.1":
                    article["evidence"] = {**article["evidence"], "minPhotos": 0, "minDocuments": 1}
            walk(section.get("sections", []))

    walk(raw["sections"])
    admin = await login(client, "admin")
    response = await client.post(
        "/api/admin/standards", params={"publish": "true"}, content=json.dumps(raw).encode(), headers=admin
    )
    assert response.status_code == 201, response.text
    await Inspection.update({Inspection.standard_version_id: DOCUMENT_STANDARD}).where(
        Inspection.id == inspection
    )


async def test_a_minimum_satisfied_by_a_document(
    client: httpx.AsyncClient, demo: dict[str, Any], inspector: dict[str, str], worker: MediaWorker
) -> None:
    review = demo["review_inspection"]
    await use_document_standard(client, review)
    devices = Devices(client)
    device = await devices.device("inspector1")
    answer_everything(device, review)
    needs = await photo_minimums(DOCUMENT_STANDARD)
    assert "1.2.1" not in needs
    photos = [camera_photo() for item, n in needs.items() for _ in range(n)]  # every other minimum met
    for photo, item in zip(photos, [item for item, n in needs.items() for _ in range(n)], strict=True):
        add_camera_photo(device, review, item, photo)
    picture = camera_photo()  # a photo on 1.2.1: does not stand in for the ledger
    add_camera_photo(device, review, "1.2.1", picture)
    await device.push()
    await upload_all(client, inspector, [*photos, picture])

    receipt = (await client.get(f"/api/inspections/{review}/receipt", headers=inspector)).json()
    short = [(s["itemCode"], s["evidence"], s["have"], s["required"]) for s in receipt["shortArticles"]]
    assert short == [("1.2.1", "document", 0, 1)]
    device.submit_inspection(review)
    await device.push()
    refused = device.results[max(device.results)]
    assert (refused.status, refused.reason) == ("rejected", "evidence_missing")
    assert refused.detail == "1 item(s) short of their minimum documents: 1.2.1 (0/1)"

    # the ledger is added: pushed, then its file uploaded
    ledger = await document(devices, review, xlsx_bytes(), XLSX, item="1.2.1")
    receipt = (await client.get(f"/api/inspections/{review}/receipt", headers=inspector)).json()
    assert [s["itemCode"] for s in receipt["shortArticles"]] == ["1.2.1"]  # its file is not here yet
    # a submit before the file arrived: refused, and the refusal names the ledger still on its way
    device.submit_inspection(review)
    await device.push()
    waiting = device.results[max(device.results)]
    assert (waiting.status, waiting.reason) == ("rejected", "documents_on_the_way")
    assert waiting.detail == "1 document(s) still on their way to the server: 1.2.1 (1)"
    assert waiting.params == {"items": ["1.2.1"], "n": 1}  # the app says it in the reader's words
    assert await Inspection.select(Inspection.status).where(Inspection.id == review).first() == {
        "status": "in_progress"
    }
    assert (await upload(client, inspector, ledger)).status_code == 204
    receipt = (await client.get(f"/api/inspections/{review}/receipt", headers=inspector)).json()
    assert receipt["shortArticles"] == []
    assert receipt["complete"] is True
    device.submit_inspection(review)
    await device.push()
    assert device.results[max(device.results)].status == "applied"


@pytest.mark.s3
async def test_ledgers_stored_in_s3_with_the_pdf_page(
    client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any], inspector: dict[str, str]
) -> None:
    """The same path with S3 storage (moto): the original byte for byte under its blob key, the PDF's
    first-page thumb and preview beside it, a DOCX with no derivative."""
    from backend.workers import build_media_worker
    from media.blob_jobs import derivative_key
    from media.storage import blob_key
    from media.worker import WorkerConfig
    from tests.backend.media_api.test_s3_outage import list_objects
    from tests.media.s3servers import make_s3_storage, running_moto

    with running_moto() as server:
        storage = make_s3_storage(server, verify_readback=True)  # moto ignores Content-MD5
        await storage.ensure_bucket()
        app.state.storage = storage
        worker = build_media_worker(
            app.state.settings,
            app.state.engine,
            storage,
            WorkerConfig(backoff_base_seconds=0.01, backoff_cap_seconds=0.05, lease_seconds=30),
        )
        devices = Devices(client)
        pdf = await document(devices, demo["review_inspection"], pdf_bytes(), PDF)
        docx = await document(devices, demo["review_inspection"], docx_bytes(), DOCX)
        for ledger in (pdf, docx):
            assert (await upload(client, inspector, ledger)).status_code == 204
        assert await worker.run_once() == 4  # a transfer and a derive each
        objects = await asyncio.to_thread(list_objects, server, storage.bucket)
        assert objects[blob_key(pdf.sha256)] == pdf.data
        assert objects[blob_key(docx.sha256)] == docx.data
        for variant in ("thumb", "preview"):
            with Image.open(io.BytesIO(objects[derivative_key(pdf.sha256, variant)])) as im:
                assert im.format == "JPEG"
            assert derivative_key(docx.sha256, variant) not in objects
        assert len(objects) == 4
        link = await client.get(f"/api/photos/{pdf.id}/original", params={"as": "json"}, headers=inspector)
        assert link.status_code == 200
        async with httpx.AsyncClient() as plain:
            got = await plain.get(link.json()["url"])  # the presigned GET
        assert got.content == pdf.data
        assert got.headers["content-type"] == PDF
