"""The PWA's files, read once at start-up into a table: path -> bytes, content type, ETag.

The service worker is stamped with a version (a digest of every file) and the precache list, so a deploy can
never forget to bump the version, and the worker's bytes change exactly when an asset changed. Text files are
compressed with brotli and gzip at their highest levels when first asked for, once per process and file (the
files never change while the process runs; compressing all of them at start cost every process 1.1–1.9 s), and
served in the encoding the browser accepts (backend/web/controllers.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli

# The app's files are plain ES modules; mimetypes varies by machine, so the types that matter are fixed here.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
SERVICE_WORKER = "sw.js"
# Never precached: the worker itself, and documentation that ships beside the vendored files.
NOT_PRECACHED = (".md", ".txt", ".map", "LICENSE")
# Loaded on demand and kept by the worker once fetched (sw.js), not precached: the precache holds what the
# offline roles (inspectors, clinics) need from a cold start with no network, within the shell's budget
# (docs/benchmarks.md). The office's screens, their view model and texts and the clinic's result are read
# online; the 512 px icons are fetched by the browser when it installs the app.
# tests/backend/web/test_precache.py walks the offline roles' static imports: each is precached, none of these.
ON_DEMAND = (
    "views/office/",
    "views/result.js",
    "lib/reconcile.js",
    "vocabulary/office.json",
    "vocabulary/columns.json",
    "vocabulary/reports.json",
    "vocabulary/verdict.json",
    "vocabulary/stages.json",
    "vocabulary/programmes_office.json",
    "icons/icon-512.png",
    "icons/maskable-512.png",
)
VERSION_MARK = "__FIELDCHECK_VERSION__"
PRECACHE_MARK = '"__FIELDCHECK_PRECACHE__"'


# compressed when it saves bytes: text, scripts, styles, JSON, the manifest, SVG
COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".webmanifest", ".svg", ".md", ".txt")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str
    # a text type, worth trying to compress (encodings() says which representations save bytes)
    compressible: bool

    def encodings_ready(self) -> bool:
        """Whether encodings() answers at once (not compressible, or compressed already by this process)."""
        return not self.compressible or self.etag in _ENCODED

    def encodings(self) -> dict[str, tuple[bytes, str]]:
        """Content-Encoding -> (body, ETag of that representation), for the codings that save bytes; empty
        for files not worth compressing. Compressed on the first call (brotli 11 takes up to ~0.3 s for the
        largest module: call it off the event loop unless encodings_ready()), then cached."""
        if not self.compressible:
            return {}
        cached = _ENCODED.get(self.etag)
        if cached is None:
            tag = self.etag.strip('"')
            cached = {}
            # each representation has its own strong ETag (RFC 9110 §8.8.3)
            for coding, packed in _compress(self.body).items():
                if len(packed) < len(self.body):
                    cached[coding] = (packed, f'"{tag}-{coding}"')
            _ENCODED[self.etag] = cached
        return cached


@dataclass(frozen=True, slots=True)
class AppFiles:
    version: str
    assets: dict[str, Asset]  # "static/app.js", "sw.js", "index.html", "manifest.webmanifest"

    def get(self, path: str) -> Asset | None:
        return self.assets.get(path)


def default_pwa_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "pwa_static"


def _asset(body: bytes, suffix: str) -> Asset:
    content_type = (
        CONTENT_TYPES.get(suffix) or mimetypes.guess_type("x" + suffix)[0] or "application/octet-stream"
    )
    tag = hashlib.sha256(body).hexdigest()[:32]
    return Asset(body=body, content_type=content_type, etag=f'"{tag}"', compressible=suffix in COMPRESSIBLE)


# ETag -> the representations that save bytes. Brotli at quality 11 takes 1.1–1.9 s for the whole app, so
# a process compresses a file only when a client first asks for it, and once (an app made again, as the tests
# do, or a deploy that changed one file, reuses the rest; the ETag is the digest of the bytes).
_ENCODED: dict[str, dict[str, tuple[bytes, str]]] = {}


def _compress(body: bytes) -> dict[str, bytes]:
    return {
        "br": brotli.compress(body, quality=11),
        "gzip": gzip.compress(body, compresslevel=9, mtime=0),
    }


def load_app_files(root: Path) -> AppFiles:
    """Read every file under ``root``; a missing directory gives an app with no files (API only)."""
    files: dict[str, bytes] = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    digest = hashlib.sha256()
    for name, body in files.items():
        if name != SERVICE_WORKER:
            digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    version = digest.hexdigest()[:16]
    precache = ["/", "/manifest.webmanifest"] + [
        "/static/" + name
        for name in files
        if name not in (SERVICE_WORKER, "index.html", "manifest.webmanifest")
        and not name.endswith(NOT_PRECACHED)
        and not name.startswith(ON_DEMAND)
    ]
    assets: dict[str, Asset] = {}
    for name, body in files.items():
        if name == SERVICE_WORKER:
            text = body.decode().replace(VERSION_MARK, version).replace(PRECACHE_MARK, json.dumps(precache))
            body = text.encode()
        key = name if name in (SERVICE_WORKER, "index.html", "manifest.webmanifest") else "static/" + name
        assets[key] = _asset(body, Path(name).suffix)
    return AppFiles(version=version, assets=assets)
