"""The S3 spool's housekeeping: objects of a session whose row is gone (a kill between a finished session's
commit and the removal of its objects) are removed once idle past the TTL; a live session's are kept."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from media import uploads
from media.spool_s3 import S3Spool
from media.tables import Upload
from tests.media.s3servers import make_s3_storage, start_moto

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def moto_server() -> Iterator[Any]:
    server = start_moto(port=0)
    yield server
    server.stop()


def keys(spool: S3Spool) -> set[str]:
    answer = spool.storage.client().list_objects_v2(Bucket=spool.bucket, Prefix="uploads/")
    return {item["Key"] for item in answer.get("Contents", [])}


async def test_orphan_session_objects_are_swept_live_ones_kept(
    app: Litestar, moto_server: Any, tmp_path: Path
) -> None:
    storage = make_s3_storage(moto_server)
    await storage.ensure_bucket()
    spool = S3Spool(storage)
    config = uploads.UploadConfig(spool_root=tmp_path, max_upload_bytes=1 << 20, s3=spool)
    orphan, live = str(uuid.uuid4()), uuid.uuid4()
    for upload_id in (orphan, str(live)):
        await asyncio.to_thread(spool.put_tail, upload_id, b"tail bytes")
        client = spool.storage.client()
        await asyncio.to_thread(
            client.put_object, Bucket=spool.bucket, Key=spool.object_key(upload_id), Body=b"assembled"
        )
    now = int(time.time() * 1000)
    await Upload.insert(
        Upload(
            id=live,
            photo_id=uuid.uuid4(),
            sha256="a" * 64,
            size=10,
            spool_path="s3:" + spool.object_key(str(live)),
            user_id=uuid.uuid4(),
            created_at_ms=now,
            expires_at_ms=now + 10 * config.ttl_seconds * 1000,
        )
    )
    # not idle yet: nothing is removed, even without a row
    await uploads.expire_uploads(app.state.engine, config, now=now - 60_000)
    assert len(keys(spool)) == 4
    # past the TTL: the orphan's assembled object and tail go, the live session (row not expired) keeps its own
    await uploads.expire_uploads(app.state.engine, config, now=now + (config.ttl_seconds + 60) * 1000)
    assert keys(spool) == {spool.object_key(str(live)), spool.tail_key(str(live))}
