"""Issue 21, items 6 and 8: what the service writes is private to it (files 0600, directories 0700) on both
databases, a backup too; and a restore ends every sign-in (tokens logged out after the backup stay dead)."""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.media_api.live import (
    Device,
    jpeg_of_about,
    live_server,
    login,
    review_inspection,
    wait_for,
)
from tests.backend.test_backup import cli, photo_states, upload
from tests.conftest import DB_KINDS, _pg_admin, pg_dsn


def loose_modes(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) that anyone but the owner may read, write or enter."""
    found = []
    for directory, _, names in os.walk(root):
        for path in [Path(directory), *(Path(directory) / name for name in names)]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077:
                found.append(f"{path.relative_to(root.parent)} {mode:o}")
    return found


@pytest.fixture(params=DB_KINDS)
def database_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    # the key is generated into the data dir, as in a deployment that sets none
    env = {"FIELDCHECK_SECRET_KEY": ""}
    database = f"fc_modes_{uuid.uuid4().hex[:12]}"
    if request.param == "postgres":
        asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
        env["FIELDCHECK_DATABASE_URL"] = pg_dsn(database)
    try:
        yield env
    finally:
        if request.param == "postgres":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def test_the_data_dir_is_private_to_the_service(tmp_path: Path, database_env: dict[str, str]) -> None:
    data = tmp_path / "live-data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # an existing data dir made by hand
    old_umask = os.umask(0o022)  # the usual default: the service must not rely on it
    try:
        with (
            live_server(tmp_path, workers=True, extra_env=database_env) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            headers = login(client)
            inspection = review_inspection(client, headers)
            photo = jpeg_of_about(60_000)
            photo_id, _ = Device(client, headers).add_photo(inspection, photo)
            upload(client, headers, photo_id, photo)
            wait_for(lambda: photo_states(client, headers, inspection) == {photo_id: "stored"}, timeout=60)
            assert (data / "secret_key").is_file()
            assert any((data / "storage").rglob("*")), "the photo reached storage"
            assert loose_modes(data) == []
            if "FIELDCHECK_DATABASE_URL" not in database_env:
                made = cli(["backup", str(tmp_path / "backup")], data)
                assert made.returncode == 0, made.stderr
                assert loose_modes(tmp_path / "backup") == []
    finally:
        os.umask(old_umask)


def test_a_restore_ends_every_sign_in(tmp_path: Path) -> None:
    """SQLite only: ``fieldcheck backup``/``restore`` cover the embedded deployment (PostgreSQL has its own)."""
    (tmp_path / "a").mkdir()
    with (
        live_server(tmp_path / "a", workers=False) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        kept = login(client, "office")
        logged_out = login(client, "inspector1")
        made = cli(["backup", str(tmp_path / "backup")], server.data_dir)
        assert made.returncode == 0, made.stderr
        assert client.post("/api/auth/logout", headers=logged_out).status_code == 204
        assert client.get("/api/me", headers=kept).status_code == 200
    restored = cli(["restore", str(tmp_path / "backup")], tmp_path / "b" / "live-data")
    assert restored.returncode == 0, restored.stderr
    with (
        live_server(tmp_path / "b", workers=False) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        assert client.get("/api/me", headers=logged_out).status_code == 401
        assert client.get("/api/me", headers=kept).status_code == 401
        assert client.get("/api/me", headers=login(client, "inspector1")).status_code == 200
