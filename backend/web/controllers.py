"""HTTP for the PWA's files: ``/`` (shell), ``/sw.js``, ``/manifest.webmanifest``, ``/static/...``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath

from backend.errors import NotFound
from backend.web.assets import AppFiles, Asset

# The shell and assets revalidate (ETag) so an update is seen at once; the worker is never cached by HTTP,
# so the browser's update check always reaches the server.
REVALIDATE = "no-cache"
NEVER_CACHE = "no-store"


def _files(request: Request[Any, Any, State]) -> AppFiles:
    files: AppFiles = request.app.state.app_files
    return files


def _serve(request: Request[Any, Any, State], key: str, cache_control: str) -> Response[bytes]:
    asset: Asset | None = _files(request).get(key)
    if asset is None:
        raise NotFound(f"/{key} is not part of the app", code="not_found")
    headers = {"Cache-Control": cache_control, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers, media_type=asset.content_type)
    return Response(asset.body, headers=headers, media_type=asset.content_type)


class AppShellController(Controller):
    """The app's files carry no secrets: every route here is public (the data behind them is not)."""

    tags = ["app"]
    include_in_schema = False
    security = []

    @get("/", operation_id="appShell")
    async def shell(self, request: Request[Any, Any, State]) -> Response[bytes]:
        return _serve(request, "index.html", REVALIDATE)

    @get("/sw.js", operation_id="appServiceWorker")
    async def service_worker(self, request: Request[Any, Any, State]) -> Response[bytes]:
        response = _serve(request, "sw.js", NEVER_CACHE)
        response.headers["Service-Worker-Allowed"] = "/"
        return response

    @get("/manifest.webmanifest", operation_id="appManifest")
    async def manifest(self, request: Request[Any, Any, State]) -> Response[bytes]:
        return _serve(request, "manifest.webmanifest", REVALIDATE)

    @get("/static/{path:path}", operation_id="appStatic")
    async def static(self, request: Request[Any, Any, State], path: FromPath[str]) -> Response[bytes]:
        return _serve(request, "static/" + path.lstrip("/"), REVALIDATE)
