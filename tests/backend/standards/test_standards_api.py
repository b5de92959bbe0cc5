from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from backend.standards.loader import shipped_bytes
from backend.standards.tables import StandardVersion
from tests.conftest import login

SHIPPED_IDS = {"cn-thc-capacity-2018", "cn-chsc-capacity-2018"}


def _variant(**changes: Any) -> bytes:
    raw = json.loads(shipped_bytes("township-2018"))
    raw.update(changes)
    return json.dumps(raw, ensure_ascii=False).encode()


async def test_every_role_lists_and_fetches_published_standards_with_etag(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await login(client, "clinic1")
    listed = await client.get("/api/standards", headers=headers)
    assert listed.status_code == 200
    ids = {s["id"] for s in listed.json()}
    assert ids >= SHIPPED_IDS
    assert all(s["status"] == "published" for s in listed.json())

    bundle = await client.get("/api/standards/cn-thc-capacity-2018", headers=headers)
    assert bundle.status_code == 200
    assert bundle.json()["id"] == "cn-thc-capacity-2018"
    etag = bundle.headers["etag"]
    cached = await client.get(
        "/api/standards/cn-thc-capacity-2018", headers={**headers, "If-None-Match": etag}
    )
    assert cached.status_code == 304
    assert cached.content == b""
    assert (await client.get("/api/standards/no-such", headers=headers)).status_code == 404


async def test_import_refusal_names_the_json_path_and_stores_nothing(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await login(client, "admin")
    raw = json.loads(shipped_bytes("township-2018"))
    raw["id"] = "broken-copy"
    articles = raw["sections"][0]["sections"][0]["articles"]
    articles.append(dict(articles[0]))
    before = await StandardVersion.count()
    response = await client.post("/api/admin/standards", content=json.dumps(raw).encode(), headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_standard"
    assert any(
        "duplicate" in p["message"].lower() and p["path"].startswith("$.sections") for p in body["problems"]
    )
    assert await StandardVersion.count() == before


async def test_draft_publish_then_immutable(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    admin = await login(client, "admin")
    draft = await client.post("/api/admin/standards", content=_variant(id="thc-2026-draft"), headers=admin)
    assert draft.status_code == 201, draft.text
    assert draft.json()["status"] == "draft"
    # Drafts are invisible to other roles.
    office = await login(client, "office")
    assert (await client.get("/api/standards/thc-2026-draft", headers=office)).status_code == 404
    # A draft may be replaced.
    again = await client.post(
        "/api/admin/standards", content=_variant(id="thc-2026-draft", name="改名"), headers=admin
    )
    assert again.status_code == 201
    published = await client.post("/api/admin/standards/thc-2026-draft/publish", headers=admin)
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    refused = await client.post("/api/admin/standards", content=_variant(id="thc-2026-draft"), headers=admin)
    assert refused.status_code == 409
    assert refused.json()["code"] == "standard_published"
    assert (await client.get("/api/standards/thc-2026-draft", headers=office)).status_code == 200


async def test_only_admin_imports(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    for username in ("office", "inspector1", "clinic1"):
        headers = await login(client, username)
        response = await client.post("/api/admin/standards", content=_variant(id="x-1"), headers=headers)
        assert response.status_code == 403


def test_cli_import_standard_reports_paths(tmp_path: Path) -> None:
    raw = json.loads(shipped_bytes("township-2018"))
    raw["determination"]["tiers"][-1]["conditions"][0]["minRatio"] = 1.5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "import-standard", str(bad)],
        capture_output=True,
        text=True,
        env={"FIELDCHECK_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 2
    assert "$.determination.tiers" in result.stderr
    assert "minRatio" in result.stderr or "[0, 1]" in result.stderr or "ratio" in result.stderr.lower()


def test_cli_import_standard_stores_a_valid_file(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_bytes(_variant(id="thc-province-x"))
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "import-standard", str(good), "--publish"],
        capture_output=True,
        text=True,
        env={"FIELDCHECK_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "thc-province-x: published" in result.stdout
