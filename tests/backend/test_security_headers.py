"""Every response carries the web-app security headers; /schema works offline under its CSP; CORS only if set."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx
import msgspec
import pytest
from litestar import Litestar

from backend.api_docs import ASSETS, SCALAR_FILE
from backend.app import create_app
from backend.db import prepare_engine
from backend.settings import Settings
from backend.web_security import APP_CSP, DOCS_CSP, app_csp, storage_origins
from tests.conftest import login

# Taken from the npm tarball when it was vendored (see backend/api_docs_assets/README.md).
SCALAR_SHA256 = "bf091006bdc3af6067af77c2f534812e3e633e94a94e87138069f570f33b762c"


def _directives(csp: str) -> dict[str, list[str]]:
    parts = (part.split() for part in csp.split(";") if part.strip())
    return {name: values for name, *values in parts}


def assert_web_headers(response: httpx.Response, csp: str = APP_CSP) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == csp
    assert "access-control-allow-origin" not in response.headers


def test_policies_name_no_other_origin() -> None:
    for csp in (APP_CSP, DOCS_CSP):
        directives = _directives(csp)
        sources = {source for values in directives.values() for source in values}
        assert sources <= {"'self'", "'none'", "'unsafe-inline'", "blob:", "data:"}, sources
        assert directives["frame-ancestors"] == ["'none'"]
        assert directives["object-src"] == ["'none'"]
        # no inline or evaluated script anywhere, the API docs included
        assert directives["script-src"] == ["'self'"]
    assert _directives(APP_CSP)["style-src"] == ["'self'"]


async def test_every_kind_of_response_has_the_headers(client: httpx.AsyncClient, demo: object) -> None:
    headers = await login(client, "admin")
    responses = [
        await client.get("/health"),
        await client.get("/api/regions", headers=headers),
        await client.get("/api/regions"),  # 401
        await client.get("/api/no/such/path"),  # 404 from the router
        await client.post("/api/admin/regions", content=b"{", headers=headers),  # 400
        await client.delete("/health"),  # 405
        await client.get("/"),  # the PWA's shell, its service worker and manifest
        await client.get("/sw.js"),
        await client.get("/manifest.webmanifest"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 401, 404, 400, 405, 200, 200, 200]
    for response in responses:
        assert_web_headers(response)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_bodies: list[str] = []
        self.urls: list[str] = []
        self.styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        assert "style" not in values, f"inline style attribute on <{tag}>"
        assert not any(name.startswith("on") for name in values), f"inline event handler on <{tag}>"
        self.urls += [v for k, v in values.items() if k in {"src", "href"} and v]
        if tag == "script":
            self.scripts.append(values)
            self._in_script = True
        self.styles += tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_bodies.append(data)


@pytest.mark.no_database
@pytest.mark.parametrize("path", ["/schema", "/schema/scalar"])
async def test_api_docs_are_served_by_us_without_inline_script(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_web_headers(response, DOCS_CSP)
    page = _Page()
    page.feed(response.text)
    assert page.styles == 0
    assert page.inline_bodies == [] or all(not body.strip() for body in page.inline_bodies)
    assert all(url.startswith("/") and not url.startswith("//") for url in page.urls), page.urls
    config = next(s for s in page.scripts if s.get("id") == "api-reference")
    assert config["data-url"] == "/schema/openapi.json"
    assert msgspec.json.decode(config["data-configuration"] or "")["withDefaultFonts"] is False
    [bundle] = [s["src"] for s in page.scripts if s.get("src")]
    assert bundle == f"/schema/assets/{SCALAR_FILE}"

    script = await client.get(bundle)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in script.headers["cache-control"]
    assert hashlib.sha256(script.content).hexdigest() == SCALAR_SHA256
    assert_web_headers(script, DOCS_CSP)

    spec = await client.get(config["data-url"] or "")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "fieldcheck"


def test_the_vendored_bundle_is_the_npm_file() -> None:
    assert hashlib.sha256((ASSETS / SCALAR_FILE).read_bytes()).hexdigest() == SCALAR_SHA256


@pytest.mark.no_database
async def test_no_cors_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/api/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


@pytest.fixture
async def cors_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    configured = msgspec.structs.replace(settings, cors_origins=" https://app.example , https://b.example")
    application: Litestar = create_app(configured, start_pool=False)
    await prepare_engine(application.state.engine)
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.mark.no_database
async def test_cors_for_configured_origins_only(cors_client: httpx.AsyncClient) -> None:
    preflight = await cors_client.options(
        "/api/auth/login",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers

    simple = await cors_client.get("/health", headers={"Origin": "https://b.example"})
    assert simple.headers["access-control-allow-origin"] == "https://b.example"
    assert "upload-offset" in simple.headers["access-control-expose-headers"].lower()

    other = await cors_client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = await cors_client.options(
        "/api/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers


def test_the_object_stores_origin_is_in_the_apps_policy_on_s3() -> None:
    """Signed photo URLs on S3 point at the bucket's endpoint: the app may fetch and show them from there."""
    assert storage_origins(Settings(storage="local")) == ()
    on_rgw = Settings(storage="s3", s3_endpoint_url="https://s3.example.org:7480/")
    assert storage_origins(on_rgw) == ("https://s3.example.org:7480",)
    on_aws = Settings(storage="s3", s3_region="cn-north-1")
    assert storage_origins(on_aws) == ("https://s3.cn-north-1.amazonaws.com", "https://s3.amazonaws.com")
    assert app_csp(()) == APP_CSP
    before, after = _directives(APP_CSP), _directives(app_csp(storage_origins(on_rgw)))
    assert after["img-src"] == [*before["img-src"], "https://s3.example.org:7480"]
    assert after["connect-src"] == [*before["connect-src"], "https://s3.example.org:7480"]
    assert {k: v for k, v in after.items() if k not in ("img-src", "connect-src")} == {
        k: v for k, v in before.items() if k not in ("img-src", "connect-src")
    }
