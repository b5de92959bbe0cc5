"""The PWA's files as the backend serves them: types, cache headers, the stamped service worker."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
import pytest

from backend.web.assets import ON_DEMAND, load_app_files
from sync.mutations import Mutation

ROOT = Path(__file__).resolve().parents[3]
PWA = ROOT / "pwa_static"


@pytest.mark.no_database
async def test_shell_worker_manifest_and_assets_are_served_with_their_types_and_cache_rules(
    client: httpx.AsyncClient,
) -> None:
    shell = await client.get("/")
    assert shell.status_code == 200
    assert shell.headers["content-type"].startswith("text/html")
    assert shell.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/static/app.js">' in shell.text

    worker = await client.get("/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-store"  # the browser's update check always reaches us
    assert "__FIELDCHECK_VERSION__" not in worker.text

    manifest = await client.get("/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    body = manifest.json()
    assert body["display"] == "standalone"
    assert body["start_url"] == "/"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in body["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in body["icons"]:
        response = await client.get(icon["src"])
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"

    module = await client.get("/static/app.js")
    assert module.headers["content-type"].startswith("text/javascript")
    again = await client.get("/static/app.js", headers={"If-None-Match": module.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.no_database
@pytest.mark.parametrize("accept", ["br", "identity"])
@pytest.mark.parametrize(
    ("condition", "modified"),
    [
        ("{etag}", False),
        ('"stale", {etag}', False),  # a list: any tag the client holds
        ('"stale",W/{etag}', False),  # If-None-Match compares weakly (RFC 9110 §13.1.2)
        ("W/{etag}", False),
        ("*", False),
        ('"stale"', True),
        ('W/"stale", "{longer}"', True),  # the tag with more after it: another tag
    ],
)
async def test_static_files_answer_if_none_match_as_rfc_9110_says(
    client: httpx.AsyncClient, accept: str, condition: str, modified: bool
) -> None:
    """The app's files take backend/http_cache.py's rule, as the JSON that changes with its ETag does."""
    for url in ("/", "/static/app.js"):
        first = await client.get(url, headers={"Accept-Encoding": accept})
        etag = first.headers["etag"]
        header = condition.format(etag=etag, longer=etag.strip('"') + "x")
        again = await client.get(url, headers={"Accept-Encoding": accept, "If-None-Match": header})
        assert again.status_code == (200 if modified else 304), (url, header)
        assert again.headers["etag"] == etag
        assert again.content == (first.content if modified else b"")


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("br, gzip", "br"),
        ("gzip, deflate", "gzip"),
        ("gzip;q=0, br;q=0", None),
        ("identity", None),
        ("*", "br"),
    ],
)
async def test_static_files_are_precompressed_with_one_charset_and_vary(
    client: httpx.AsyncClient, accept: str, coding: str | None
) -> None:
    response = await client.get("/static/app.js", headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"  # one charset
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers.get("content-encoding") == coding
    assert response.content == (PWA / "app.js").read_bytes()  # decoded by httpx, byte for byte
    if coding is not None:
        assert int(response.headers["content-length"]) < len(response.content) / 2
    again = await client.get(
        "/static/app.js", headers={"Accept-Encoding": accept, "If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    other = "identity" if coding else "br"
    fresh = await client.get(
        "/static/app.js", headers={"Accept-Encoding": other, "If-None-Match": response.headers["etag"]}
    )
    assert fresh.status_code == 200  # another representation, another ETag
    shell = await client.get("/", headers={"Accept-Encoding": accept})
    assert shell.headers["content-type"] == "text/html; charset=utf-8"
    icon = await client.get("/static/icons/icon-192.png", headers={"Accept-Encoding": accept})
    assert "content-encoding" not in icon.headers  # PNG is compressed already
    assert "vary" not in icon.headers


@pytest.mark.parametrize(
    "path", ["/static/../backend/app.py", "/static/nothing.js", "/static/%2e%2e/README.md"]
)
async def test_only_the_apps_own_files_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404


def test_worker_version_changes_exactly_when_a_file_changes(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "pwa"
    shutil.copytree(PWA, copy)
    first = load_app_files(copy)
    assert load_app_files(copy).version == first.version
    (copy / "app.css").write_text((copy / "app.css").read_text() + "\n/* next */\n")
    second = load_app_files(copy)
    assert second.version != first.version
    worker = second.assets["sw.js"].body.decode()
    precache = json.loads(worker.split("const PRECACHE = ", 1)[1].split(";\n", 1)[0])
    assert "/" in precache
    assert "/static/app.js" in precache
    assert "/static/vendor/tus/tus.min.js" in precache
    assert not any(p.endswith(("LICENSE", ".md")) for p in precache)


def test_files_are_compressed_when_first_asked_for_not_at_start(tmp_path: Path) -> None:
    """Loading the app compresses nothing (brotli 11 of every file cost each process 1.1–1.9 s at start): a
    file is compressed on its first request, once, and the representations are those that save bytes."""
    import brotli

    copy = tmp_path / "pwa"
    copy.mkdir()
    # bytes this process has never seen, so no earlier test's cache answers for them
    marker = uuid.uuid4().hex
    (copy / "app.js").write_text(f"// {marker}\n" + "export const words = 'fieldcheck';\n" * 400)
    (copy / "tiny.txt").write_text(marker[:3])
    files = load_app_files(copy)
    script, tiny = files.assets["static/app.js"], files.assets["static/tiny.txt"]
    assert not script.encodings_ready()
    assert not tiny.encodings_ready()
    encoded = script.encodings()
    assert script.encodings_ready()
    assert encoded is script.encodings()  # compressed once
    assert set(encoded) == {"br", "gzip"}
    assert brotli.decompress(encoded["br"][0]) == script.body
    assert encoded["br"][1] == script.etag[:-1] + '-br"'
    assert tiny.encodings() == {}  # three bytes: compressing would not save any


def test_every_module_is_preloaded_by_the_shell() -> None:
    """index.html lists every ES module of the start-up (fetched at once, not import by import); not those
    loaded on demand."""
    html = (PWA / "index.html").read_text()
    listed = set(re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', html))
    modules = {
        p.relative_to(PWA).as_posix()
        for p in PWA.rglob("*.js")
        if p.name not in ("sw.js", "app.js")
        and "vendor/tus" not in p.as_posix()
        and not p.relative_to(PWA)
        .as_posix()
        .startswith(ON_DEMAND)  # the office's screens, the clinic's result
    }
    assert listed == modules


def test_no_inline_script_in_the_shell() -> None:
    html = (PWA / "index.html").read_text()
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, tag  # the Content-Security-Policy forbids inline scripts


def test_the_app_and_the_server_know_the_same_mutations() -> None:
    """pwa_static/sync/mutators.js registers a local apply for every wire name the server accepts."""
    from typing import get_args

    server = {cls.__struct_config__.tag for cls in get_args(Mutation)}
    source = (PWA / "sync" / "mutators.js").read_text()
    block = source.split("export const MUTATORS = {", 1)[1].split("\n};", 1)[0]
    app = set(re.findall(r"^  (\w+)\(", block, flags=re.MULTILINE))
    assert app == server


def test_app_module_imports_run_one_way() -> None:
    """views -> store, lib, vendor; store -> sync, upload, db, lib; sync and upload -> db, lib; db -> vendor;
    lib -> vocabulary (the JSON texts)."""
    allowed = {
        "views": {"views", "store", "lib", "vendor"},
        "store": {"store", "sync", "upload", "db", "lib", "vendor"},
        "sync": {"sync", "db", "lib", "vendor"},
        "upload": {"upload", "db", "lib", "vendor"},
        "db": {"db", "vendor"},
        "lib": {"lib", "vendor", "vocabulary"},  # lib/vocabulary.js reads the JSON texts
    }
    for folder, may in allowed.items():
        for path in (PWA / folder).rglob("*.js"):
            for target in re.findall(r"from '(\.[^']+)'", path.read_text()):
                resolved = (path.parent / target).resolve().relative_to(PWA.resolve()).parts[0]
                assert resolved in may, f"{path.relative_to(PWA)} imports {target}"
