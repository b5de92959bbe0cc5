"""Shared helpers for the media HTTP tests: photos as addPhoto leaves them, test images, tus calls."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from PIL import Image

from sync.tables import Photo

OFFSET_TYPE = "application/offset+octet-stream"


@dataclass
class PhotoFile:
    id: uuid.UUID
    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def noisy_jpeg(
    width: int = 900,
    height: int = 700,
    *,
    gps: tuple[float, float] | None = None,
    taken: datetime | None = None,
    orientation: int = 1,
    quality: int = 92,
) -> bytes:
    """A JPEG that does not compress much (random pixels): ~1-2 MB at the default size."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    if taken is not None:
        exif_ifd = exif.get_ifd(0x8769)
        exif_ifd[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if gps is not None:
        lat, lon = gps
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N" if lat >= 0 else "S"
        gps_ifd[2] = _dms(abs(lat))
        gps_ifd[3] = "E" if lon >= 0 else "W"
        gps_ifd[4] = _dms(abs(lon))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    return (float(degrees), float(minutes), round((minutes_full - minutes) * 60, 4))


async def add_photo(
    inspection_id: uuid.UUID,
    data: bytes,
    *,
    item_code: str = "1.1.1",
    declared_sha256: str | None = None,
    declared_size: int | None = None,
    created_by: uuid.UUID | None = None,
    taken_at: str | None = None,
) -> PhotoFile:
    """What the sync addPhoto mutation leaves behind: a Photo row with the device's id, sha256 and size."""
    photo_id = uuid.uuid4()
    digest = declared_sha256 or sha(data)
    await Photo.insert(
        Photo(
            id=photo_id,
            inspection_id=inspection_id,
            item_code=item_code,
            sha256=digest,
            size=len(data) if declared_size is None else declared_size,
            mime="image/jpeg",
            created_by=created_by,
            taken_at=taken_at,
        )
    )
    return PhotoFile(photo_id, data, digest)


async def create(client: httpx.AsyncClient, headers: dict[str, str], photo: PhotoFile) -> httpx.Response:
    return await client.post(
        "/api/uploads",
        json={"photoId": str(photo.id), "sha256": photo.sha256, "size": photo.size, "mime": "image/jpeg"},
        headers=headers,
    )


async def patch(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    url: str,
    offset: int,
    chunk: bytes,
    *,
    checksum: str | None = None,
) -> httpx.Response:
    extra = {"Upload-Offset": str(offset), "Content-Type": OFFSET_TYPE, "Tus-Resumable": "1.0.0"}
    if checksum is not None:
        extra["Upload-Checksum"] = f"sha256 {checksum}"
    return await client.patch(url, content=chunk, headers={**headers, **extra})


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    photo: PhotoFile,
    chunk_size: int = 256 * 1024,
    *,
    with_checksums: bool = True,
) -> httpx.Response:
    """POST then PATCH every chunk; returns the last response (204 on success)."""
    created = await create(client, headers, photo)
    if created.status_code == 200:
        return created
    assert created.status_code == 201, created.text
    url = created.json()["uploadUrl"]
    offset = created.json()["offset"]
    response: Any = None
    while offset < photo.size:
        chunk = photo.data[offset : offset + chunk_size]
        response = await patch(
            client, headers, url, offset, chunk, checksum=b64sha(chunk) if with_checksums else None
        )
        if response.status_code != 204:
            return response  # type: ignore[no-any-return]
        offset = int(response.headers["Upload-Offset"])
    assert response is not None
    return response  # type: ignore[no-any-return]
