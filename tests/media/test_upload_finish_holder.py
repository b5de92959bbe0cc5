"""A finished upload makes its sender a holder of the blob in the same commit as the blob and the session's end.

The crash this pins down (tests/faults, the S3 spool): the last chunk's commit stored the blob and deleted the
session row, and the process died before the request recorded the holder (on the S3 spool three S3 calls ran in
between). After the restart HEAD said 404, POST found the blob but not the sender among its holders and opened a
new session at offset 0: below what the 204s had acknowledged, and the photo read ``awaiting_upload``.
Here the crash is the return of ``append_chunk``: nothing of the request after the service call runs.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from PIL import Image

from media import uploads
from media.spool_s3 import S3Spool
from media.tables import Upload
from tests.media.s3servers import make_s3_storage, start_moto


@pytest.fixture(scope="module")
def moto_server() -> Iterator[Any]:
    server = start_moto(port=0)
    yield server
    server.stop()


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64 + seed, 48), (seed % 256, 90, 30)).save(out, "JPEG", quality=90)
    return out.getvalue()


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def config_for(spool: str, tmp_path: Path, request: pytest.FixtureRequest) -> uploads.UploadConfig:
    if spool == "local":
        return uploads.UploadConfig(spool_root=tmp_path, max_upload_bytes=1 << 22)
    storage = make_s3_storage(request.getfixturevalue("moto_server"))
    await storage.ensure_bucket()
    return uploads.UploadConfig(spool_root=tmp_path, max_upload_bytes=1 << 22, s3=S3Spool(storage))


async def send(
    app: Litestar, config: uploads.UploadConfig, user: uuid.UUID, photo: uuid.UUID, data: bytes
) -> uploads.Appended:
    """POST, then the file in two chunks; returns the last chunk's answer (the service's, before the 204)."""
    sha = hashlib.sha256(data).hexdigest()
    created = await uploads.create_upload(
        engine=app.state.engine,
        config=config,
        photo_id=photo,
        sha256_hex=sha,
        size=len(data),
        mime="image/jpeg",
        user_id=user,
    )
    assert not created.complete
    assert created.upload_id is not None
    half = len(data) // 2
    result: uploads.Appended | None = None
    for offset, piece in ((0, data[:half]), (half, data[half:])):
        result = await uploads.append_chunk(
            engine=app.state.engine,
            config=config,
            validator=uploads.image_validator(max_pixels=10_000_000, max_bytes=1 << 22),
            upload_id=created.upload_id,
            user_id=user,
            offset=offset,
            body=body(piece),
            content_length=len(piece),
            checksum=None,
        )
    assert result is not None
    return result


@pytest.mark.parametrize("spool", ["local", pytest.param("s3", marks=pytest.mark.s3)])
async def test_the_sender_holds_the_blob_once_the_last_chunk_commits(
    app: Litestar, spool: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config = await config_for(spool, tmp_path, request)
    user, photo, data = uuid.uuid4(), uuid.uuid4(), jpeg(1)
    sha = hashlib.sha256(data).hexdigest()
    result = await send(app, config, user, photo, data)
    assert result.complete
    # the process dies here (before the answer): the file counts as the sender's, nothing to send again
    assert await uploads.held_blobs([sha], user) == {sha}
    again = await uploads.create_upload(
        engine=app.state.engine,
        config=config,
        photo_id=photo,
        sha256_hex=sha,
        size=len(data),
        mime="image/jpeg",
        user_id=user,
    )
    assert again.complete, again
    assert await Upload.select(Upload.id).where(Upload.photo_id == photo) == []


@pytest.mark.parametrize("spool", ["local", pytest.param("s3", marks=pytest.mark.s3)])
async def test_a_second_sender_of_known_bytes_holds_them_in_the_same_commit(
    app: Litestar, spool: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The blob exists already (another user's): the second sender's last chunk ends its session and records it
    as a holder together."""
    config = await config_for(spool, tmp_path, request)
    data = jpeg(2)
    sha = hashlib.sha256(data).hexdigest()
    first, second = uuid.uuid4(), uuid.uuid4()
    await send(app, config, first, uuid.uuid4(), data)
    photo = uuid.uuid4()
    result = await send(app, config, second, photo, data)
    assert result.complete
    assert await uploads.held_blobs([sha], second) == {sha}
    again = await uploads.create_upload(
        engine=app.state.engine,
        config=config,
        photo_id=photo,
        sha256_hex=sha,
        size=len(data),
        mime="image/jpeg",
        user_id=second,
    )
    assert again.complete
