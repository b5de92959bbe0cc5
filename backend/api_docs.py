"""The API reference at ``/schema``: Scalar, served from this process (works offline, no inline script)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.router import Router

# Vendored from the npm registry: `npm pack @scalar/api-reference@1.72.1`, file dist/browser/standalone.js
# (MIT licence); see backend/api_docs_assets/README.md.
SCALAR_VERSION = "1.72.1"
SCALAR_FILE = f"scalar-api-reference-{SCALAR_VERSION}.js"
ASSETS = Path(__file__).with_name("api_docs_assets")
# Nothing that reaches scalar.com: no web fonts, client button, AI agent, MCP or developer tools.
SCALAR_OPTIONS: dict[str, Any] = {
    "withDefaultFonts": False,
    "hideClientButton": True,
    "showDeveloperTools": "never",
    "agent": {"disabled": True},
    "mcp": {"disabled": True},
}


@get(
    f"/assets/{SCALAR_FILE}",
    operation_id="apiDocsScript",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(max_age=31536000, public=True),
)
def scalar_script() -> Response[bytes]:
    # the name carries the version, so the file may be cached for a year
    return Response(
        (ASSETS / SCALAR_FILE).read_bytes(), media_type="text/javascript"
    )  # Litestar adds the charset


class LocalScalarRenderPlugin(ScalarRenderPlugin):
    """Scalar with its bundle served by us and its configuration in data attributes (CSP: no inline script)."""

    def __init__(self) -> None:
        super().__init__(js_url=f"assets/{SCALAR_FILE}", favicon="", style="")

    def receive_router(self, router: Router) -> None:
        router.register(scalar_script)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec_url = html.escape(self.get_openapi_json_route(request))
        script_url = html.escape(request.app.route_reverse(scalar_script))
        options = html.escape(msgspec.json.encode(SCALAR_OPTIONS).decode())
        # An empty <script> without src is never run, so CSP does not block it; Scalar reads its attributes.
        return (
            "<!DOCTYPE html>\n<html>\n<head>\n"
            f'<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n</head>\n<body>\n"
            "<noscript>The API reference needs JavaScript; the raw schema is at "
            f'<a href="{spec_url}">{spec_url}</a>.</noscript>\n'
            f'<script id="api-reference" data-url="{spec_url}" data-configuration="{options}"></script>'
            f'\n<script src="{script_url}"></script>\n</body>\n</html>\n'
        ).encode()
