"""HTTP for the PWA's files: ``/`` (shell), ``/sw.js``, ``/manifest.webmanifest``, ``/static/...``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath

from backend.errors import NotFound
from backend.http_cache import names_etag
from backend.web.assets import AppFiles, Asset

# The shell and assets revalidate (ETag) so an update is seen at once; the worker is never cached by HTTP,
# so the browser's update check always reaches the server.
REVALIDATE = "no-cache"
NEVER_CACHE = "no-store"


def _files(request: Request[Any, Any, State]) -> AppFiles:
    files: AppFiles = request.app.state.app_files
    return files


def accepted_encoding(accept_encoding: str | None, offered: Iterable[str]) -> str | None:
    """The encoding to send: brotli before gzip, among those the request accepts (a q of 0 refuses)."""
    accepted: dict[str, float] = {}
    for part in (accept_encoding or "").split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name:
            accepted[name.strip().lower()] = q
    for coding in ("br", "gzip"):
        if coding in offered and accepted.get(coding, accepted.get("*", 0.0)) > 0:
            return coding
    return None


async def _serve(request: Request[Any, Any, State], key: str, cache_control: str) -> Response[bytes]:
    asset: Asset | None = _files(request).get(key)
    if asset is None:
        raise NotFound(f"/{key} is not part of the app", code="not_found")
    body, etag = asset.body, asset.etag
    # the type as it is, once: Litestar would append a second charset to a media_type of text/*
    headers = {"Cache-Control": cache_control, "Content-Type": asset.content_type}
    # compressed on the first request for the file (brotli 11: off the event loop), then from memory
    encoded = (
        asset.encodings() if asset.encodings_ready() else await anyio.to_thread.run_sync(asset.encodings)
    )
    if encoded:
        headers["Vary"] = "Accept-Encoding"  # caches keep one copy per encoding
        coding = accepted_encoding(request.headers.get("accept-encoding"), encoded)
        if coding is not None:
            body, etag = encoded[coding]
            headers["Content-Encoding"] = coding
    headers["ETag"] = etag
    if names_etag(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, headers=headers)


class AppShellController(Controller):
    """The app's files carry no secrets: every route here is public (the data behind them is not)."""

    tags = ["app"]
    include_in_schema = False
    security = []

    @get("/", operation_id="appShell")
    async def shell(self, request: Request[Any, Any, State]) -> Response[bytes]:
        return await _serve(request, "index.html", REVALIDATE)

    @get("/sw.js", operation_id="appServiceWorker")
    async def service_worker(self, request: Request[Any, Any, State]) -> Response[bytes]:
        response = await _serve(request, "sw.js", NEVER_CACHE)
        response.headers["Service-Worker-Allowed"] = "/"
        return response

    @get("/manifest.webmanifest", operation_id="appManifest")
    async def manifest(self, request: Request[Any, Any, State]) -> Response[bytes]:
        return await _serve(request, "manifest.webmanifest", REVALIDATE)

    @get("/static/{path:path}", operation_id="appStatic")
    async def static(self, request: Request[Any, Any, State], path: FromPath[str]) -> Response[bytes]:
        return await _serve(request, "static/" + path.lstrip("/"), REVALIDATE)
