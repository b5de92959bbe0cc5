"""Against a real uvicorn process: memory of a 25 MB upload, and connections reset mid-chunk over sockets.

Photos are created with the real sync push (``addPhoto``), so these also check the link both ways:
``uploadRequired`` is true until the blob is stored, then false for the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
from pathlib import Path

import httpx

from tests.backend.media_api.live import (
    Device,
    jpeg_of_about,
    live_server,
    login,
    raw_cut_patch,
    review_inspection,
    wait_for,
)

CHUNK = 4 * 1024 * 1024
MIB = 1024 * 1024


def _upload(
    client: httpx.Client, headers: dict[str, str], photo_id: str, data: bytes, chunk: int = CHUNK
) -> None:
    created = client.post(
        "/api/uploads",
        json={
            "photoId": photo_id,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "mime": "image/jpeg",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    url = created.json()["uploadUrl"]
    offset = 0
    while offset < len(data):
        piece = data[offset : offset + chunk]
        response = client.patch(
            url,
            content=piece,
            headers={
                **headers,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": "sha256 " + base64.b64encode(hashlib.sha256(piece).digest()).decode(),
            },
        )
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])


def test_25mb_upload_raises_server_rss_by_less_than_20mb(tmp_path: Path) -> None:
    big = jpeg_of_about(25 * 1000 * 1000)
    warm = jpeg_of_about(300_000)
    with (
        live_server(tmp_path, workers=False) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        headers = login(client)
        inspection = review_inspection(client, headers)
        device = Device(client, headers)
        # warm-up: the same code path once (imports, Pillow, thread pool, database connections)
        warm_id, _ = device.add_photo(inspection, warm)
        _upload(client, headers, warm_id, warm, chunk=256 * 1024)
        photo_id, required = device.add_photo(inspection, big)
        assert required

        time.sleep(0.5)
        baseline = server.rss_kib()
        peak = baseline
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, server.rss_kib())
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        try:
            _upload(client, headers, photo_id, big)
        finally:
            stop.set()
            sampler.join()
        time.perf_counter() - started
        growth_mib = (peak - baseline) / 1024
        receipt = client.get(f"/api/inspections/{inspection}/receipt", headers=headers).json()
        states = {p["photoId"]: p["state"] for p in receipt["photos"]}
        assert states[photo_id] == "received"
        assert growth_mib < 20, f"server RSS grew by {growth_mib:.1f} MiB"


def test_sockets_reset_mid_chunk_then_resume_and_worker_stores(tmp_path: Path) -> None:
    rng = random.Random()
    files = [jpeg_of_about(rng.randint(600_000, 2_500_000)) for _ in range(6)]
    with (
        live_server(tmp_path, workers=True) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        headers = login(client)
        inspection = review_inspection(client, headers)
        device = Device(client, headers)
        ids = []
        total_resets = 0
        for data in files:
            photo_id, required = device.add_photo(inspection, data)
            assert required
            sha = hashlib.sha256(data).hexdigest()
            created = client.post(
                "/api/uploads",
                json={"photoId": photo_id, "sha256": sha, "size": len(data), "mime": "image/jpeg"},
                headers=headers,
            )
            url = created.json()["uploadUrl"]
            resets = 0
            while True:
                head = client.head(url, headers=headers)
                assert head.status_code == 200, head.status_code
                offset = int(head.headers["Upload-Offset"])
                chunk = data[offset : offset + rng.choice([256 * 1024, MIB, 2 * MIB])]
                if resets < 4 and rng.random() < 0.7:
                    raw_cut_patch(server, headers, url, offset, chunk, rng.randrange(1, len(chunk)))
                    resets += 1
                    continue
                response = client.patch(
                    url,
                    content=chunk,
                    headers={
                        **headers,
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                assert response.status_code in (204, 409), response.text
                if response.status_code == 204 and int(response.headers["Upload-Offset"]) == len(data):
                    break
            ids.append(photo_id)
            total_resets += resets
        assert total_resets >= len(files)  # connections really were reset, several per file

        def all_stored() -> bool:
            receipt = client.get(f"/api/inspections/{inspection}/receipt", headers=headers).json()
            return {p["state"] for p in receipt["photos"]} == {"stored"}

        wait_for(all_stored, timeout=60)  # the in-process workers (app lifespan) did the transfer
        for photo_id, data in zip(ids, files, strict=True):
            got = client.get(f"/api/photos/{photo_id}/original", headers=headers, follow_redirects=True)
            assert got.status_code == 200
            assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(data).hexdigest()
        # the same bytes again (another photo): the server already has them
        _, required = device.add_photo(inspection, files[0], item_code="1.2.1")
        assert not required
