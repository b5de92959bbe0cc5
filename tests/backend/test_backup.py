"""``fieldcheck backup`` of a serving app under writes, ``fieldcheck restore`` into a fresh data dir, same state."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.audit.services import verify_chain
from backend.backup import BackupError, backup, restore
from backend.db import bind_engine, make_engine, prepare_engine
from backend.settings import Settings
from backend.tables_index import TABLES
from tests.backend.media_api.live import (
    ROOT,
    Device,
    jpeg_of_about,
    live_server,
    login,
    review_inspection,
    wait_for,
)

NOTES_PER_PUSH = 3


def cli(command: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FIELDCHECK_DATA_DIR": str(data_dir)}
    env.pop("FIELDCHECK_SECRET_KEY", None)
    env.pop("FIELDCHECK_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pull_all(
    client: httpx.Client, headers: dict[str, str], group: str | None = None
) -> tuple[dict[str, Any], dict[str, int]]:
    """The whole view from scratch: key → value, and the last mutation id of each client of the group."""
    view: dict[str, Any] = {}
    last_ids: dict[str, int] = {}
    cookie = None
    group = group or f"backup-{uuid.uuid4().hex[:8]}"
    while True:
        response = client.post(
            "/api/sync/pull",
            json={"protocolVersion": 1, "clientGroupId": group, "cookie": cookie},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        for op in page["patch"]:
            if op["op"] == "put":
                view[op["key"]] = op["value"]
            else:
                view.pop(op["key"], None)
        last_ids.update(page["lastMutationIds"])
        cookie = page["cookie"]
        if not page["hasMore"]:
            return view, last_ids


class NoteWriter:
    """One device pushing addNote mutations (NOTES_PER_PUSH per push) until stopped; records what was acked."""

    def __init__(self, url: str, headers: dict[str, str], inspection: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)
        self.headers = headers
        self.inspection = inspection
        self.client_id = f"writer-{uuid.uuid4().hex[:8]}"
        self.group = f"group-{self.client_id}"
        self.acked: list[list[str]] = []  # note texts of each acknowledged push, in order
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.error: BaseException | None = None

    def push(self) -> None:
        n = len(self.acked)
        texts = [f"{self.client_id} push {n} note {j}" for j in range(NOTES_PER_PUSH)]
        mutations = [
            {
                "id": n * NOTES_PER_PUSH + j + 1,
                "name": "addNote",
                "hlc": f"{int(time.time() * 1000):016d}-{n * NOTES_PER_PUSH + j:04d}-{self.client_id}",
                "args": {
                    "inspectionId": self.inspection,
                    "itemCode": "1.1.1",
                    "noteId": str(uuid.uuid4()),
                    "text": text,
                },
            }
            for j, text in enumerate(texts)
        ]
        response = self.client.post(
            "/api/sync/push",
            json={
                "protocolVersion": 1,
                "clientGroupId": self.group,
                "clientId": self.client_id,
                "mutations": mutations,
            },
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        assert [r["status"] for r in response.json()["results"]] == ["applied"] * NOTES_PER_PUSH
        self.acked.append(texts)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.push()
        except BaseException as error:
            self.error = error

    def __enter__(self) -> NoteWriter:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(30)
        self.client.close()


def upload(client: httpx.Client, headers: dict[str, str], photo_id: str, data: bytes) -> None:
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
    response = client.patch(
        created.json()["uploadUrl"],
        content=data,
        headers={**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert response.status_code == 204, response.text


def photo_states(client: httpx.Client, headers: dict[str, str], inspection: str) -> dict[str, str]:
    receipt = client.get(f"/api/inspections/{inspection}/receipt", headers=headers).json()
    return {p["photoId"]: p["state"] for p in receipt["photos"]}


def original(client: httpx.Client, headers: dict[str, str], photo_id: str) -> bytes:
    response = client.get(f"/api/photos/{photo_id}/original", headers=headers, follow_redirects=True)
    assert response.status_code == 200, response.text
    return response.content


def notes(view: dict[str, Any]) -> set[str]:
    return {value["text"] for key, value in view.items() if key.startswith("note/")}


def test_backup_while_serving_then_restore_serves_the_same_state(tmp_path: Path) -> None:
    source_env = {"FIELDCHECK_SECRET_KEY": ""}  # the key is generated into the data dir and backed up
    stored_photo, spooled_photo = jpeg_of_about(700_000), jpeg_of_about(500_000)
    dest = tmp_path / "backup"
    (tmp_path / "a").mkdir()
    with (
        live_server(tmp_path / "a", workers=False, extra_env=source_env) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        headers = login(client)
        inspection = review_inspection(client, headers)
        device = Device(client, headers)
        # a photo that reaches storage (a worker run), and one left in the spool (no worker in the app)
        stored_id, _ = device.add_photo(inspection, stored_photo)
        upload(client, headers, stored_id, stored_photo)
        worked = cli(["worker", "--once"], server.data_dir)
        assert worked.returncode == 0, worked.stderr
        spooled_id, _ = device.add_photo(inspection, spooled_photo, item_code="1.2.1")
        upload(client, headers, spooled_id, spooled_photo)
        assert photo_states(client, headers, inspection) == {stored_id: "stored", spooled_id: "received"}
        # a set answer and notes, all acknowledged before the backup starts
        answer = client.post(
            "/api/sync/push",
            json={
                "protocolVersion": 1,
                "clientGroupId": "live-group",
                "clientId": device.client_id,
                "mutations": [
                    {
                        "id": device.next_id,
                        "name": "setAnswer",
                        "hlc": f"{int(time.time() * 1000):016d}-0000-{device.client_id}",
                        "args": {
                            "inspectionId": inspection,
                            "itemCode": "1.2.2",
                            "field": "value",
                            "value": "B",
                            "baseVersion": 0,
                        },
                    }
                ],
            },
            headers=headers,
        )
        assert answer.json()["results"][0]["status"] == "applied", answer.text
        before, _ = pull_all(client, headers)
        secret = (server.data_dir / "secret_key").read_text()

        with NoteWriter(server.url, headers, inspection) as writer:
            wait_for(lambda: len(writer.acked) >= 3, timeout=30)
            acked_before_backup = len(writer.acked)
            made = cli(["backup", str(dest)], server.data_dir)
            acked_during_backup = len(writer.acked)
            wait_for(lambda: len(writer.acked) >= acked_during_backup + 3, timeout=30)
        assert writer.error is None, writer.error
        assert made.returncode == 0, made.stderr
        assert made.stdout.startswith(f"backed up to {dest}"), made.stdout
        # writes went on while the backup ran, and after it
        assert len(writer.acked) > acked_during_backup
        acked = writer.acked

    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["integrityCheck"] == "ok"
    assert manifest["secretKey"] == "copied"
    assert manifest["storage"]["files"] >= 1
    assert manifest["spool"]["files"] >= 1

    # the machine is gone: nothing of the old data dir may be needed (spool paths in the database included)
    shutil.rmtree(tmp_path / "a")
    fresh = tmp_path / "b" / "live-data"
    restored_run = cli(["restore", str(dest)], fresh)
    assert restored_run.returncode == 0, restored_run.stderr
    assert (fresh / "secret_key").read_text() == secret
    with sqlite3.connect(fresh / "fieldcheck.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        spool_paths = [row[0] for row in conn.execute("SELECT spool_path FROM media_blob")]
    assert [p for p in spool_paths if p] == [p for p in spool_paths if p and p.startswith(str(fresh))]
    # a restore over data is refused without --force
    again = cli(["restore", str(dest)], fresh)
    assert again.returncode == 2
    assert "not empty" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    with (
        live_server(tmp_path / "b", workers=True, extra_env=source_env) as restored,
        httpx.Client(base_url=restored.url, timeout=60) as client,
    ):
        assert restored.data_dir == fresh
        headers = login(client)
        after, _ = pull_all(client, headers)
        _, last_ids = pull_all(client, headers, writer.group)
        # everything acknowledged before the backup is served as it was
        for key, value in before.items():
            if key.startswith("inspection/"):  # the writer's notes moved its version on
                assert after[key]["version"] > value["version"]
                value = {**value, "version": after[key]["version"]}
            # the restored app's worker may have derived the spooled photo (its flags, a new version)
            if key == f"photo/{spooled_id}":
                value = {**value, "version": after[key]["version"], "flags": after[key]["flags"]}
            assert after.get(key) == value, f"{key}: {value} != {after.get(key)}"
        # the concurrent writer: whole pushes only, a prefix of what was acknowledged, which the server's
        # last mutation id for that device agrees with (so the device resends exactly the rest)
        present = notes(after) - notes(before)
        kept = len(present) // NOTES_PER_PUSH
        assert present == {text for push in acked[:kept] for text in push}
        assert acked_before_backup <= kept <= len(acked)
        assert last_ids.get(writer.client_id, 0) == kept * NOTES_PER_PUSH
        # the photos: the stored one at once, the spooled one after the restored app's worker moved it
        assert original(client, headers, stored_id) == stored_photo
        assert original(client, headers, spooled_id) == spooled_photo
        wait_for(lambda: set(photo_states(client, headers, inspection).values()) == {"stored"}, timeout=60)
        assert original(client, headers, spooled_id) == spooled_photo

    async def chain() -> tuple[bool, int | None]:
        engine = make_engine(Settings(data_dir=str(fresh)))
        bind_engine(engine, TABLES)
        await prepare_engine(engine)
        return await verify_chain()

    assert asyncio.run(chain()) == (True, None)


def test_backup_and_restore_refuse_postgres_and_s3_and_bad_places(tmp_path: Path) -> None:
    pg = Settings(data_dir=str(tmp_path), database_url="postgresql://u@127.0.0.1:5432/x")
    s3 = Settings(data_dir=str(tmp_path), storage="s3")
    for settings, word in ((pg, "pg_dump"), (s3, "bucket versioning")):
        with pytest.raises(BackupError, match=word):
            backup(settings, tmp_path / "out")
        with pytest.raises(BackupError, match=r"docs/operations\.md"):
            restore(settings, tmp_path / "out")
    with pytest.raises(BackupError, match="no database"):
        backup(Settings(data_dir=str(tmp_path / "none")), tmp_path / "out")
    with pytest.raises(BackupError, match="not a fieldcheck backup"):
        restore(Settings(data_dir=str(tmp_path / "new")), tmp_path)
    assert not (tmp_path / "out").exists()

    refused = cli(["backup", str(tmp_path / "out")], tmp_path / "none")
    assert refused.returncode == 2
    assert refused.stderr.startswith("fieldcheck backup: no database")
