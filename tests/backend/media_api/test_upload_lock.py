"""One writer per upload, also across processes: the PATCH holds flock on the spool part file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import httpx
import pytest
from litestar import Litestar

from media import spool, upload_local
from tests.backend.media_api.helpers import add_photo, b64sha, create, noisy_jpeg, patch


async def test_a_patch_waits_for_another_process_holding_the_upload(
    client: httpx.AsyncClient,
    app: Litestar,
    demo: dict[str, Any],
    inspector: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = noisy_jpeg(300, 200)
    photo = await add_photo(demo["review_inspection"], data)
    created = (await create(client, inspector, photo)).json()
    url = created["uploadUrl"]
    upload_id = url.rsplit("/", 1)[1]
    part = spool.part_path(app.state.settings.data_path / "spool", upload_id)
    holder = subprocess.Popen(  # noqa: ASYNC220 - a short-lived helper process, started once
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, sys, time
                with open({str(part)!r}, "r+b") as f:
                    fcntl.flock(f, fcntl.LOCK_EX)
                    print("locked", flush=True)
                    sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        assert spool.open_locked(part) is None  # this process cannot take it either
        monkeypatch.setattr(upload_local, "LOCK_WAIT_SECONDS", 0.3)
        chunk = data[: len(data) // 2]
        busy = await patch(client, inspector, url, 0, chunk, checksum=b64sha(chunk))
        assert busy.status_code == 409
        assert busy.json()["code"] == "upload_busy"
        assert busy.headers["Upload-Offset"] == "0"
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
    done = await patch(client, inspector, url, 0, chunk, checksum=b64sha(chunk))
    assert done.status_code == 204
    assert done.headers["Upload-Offset"] == str(len(chunk))
    head = await client.head(url, headers=inspector)
    assert head.headers["Upload-Offset"] == str(len(chunk))
    assert part.stat().st_size == len(chunk)  # the spool file is the offset
