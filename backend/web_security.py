"""Response headers for a served web app: CSP, no sniffing, no referrer, no framing; CORS only when configured."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from backend.metrics import set_response_headers
from backend.settings import Settings

# The PWA loads only its own scripts and stylesheets; photos are shown from blob:/data: URLs made on the device.
APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The API reference (Scalar, served by us under /schema) injects <style> elements at run time, so its pages
# also allow inline styles; scripts, fonts and requests still come only from this origin.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_PREFIX = "/schema"


def storage_origins(settings: Settings) -> tuple[str, ...]:
    """Where browsers fetch photos from besides this origin: the S3 endpoint that the signed thumbnail and
    original URLs point to (path-style, so the endpoint's origin; AWS's regional and global names when none
    is set). Local storage signs URLs of this server: nothing more."""
    if settings.storage != "s3":
        return ()
    if settings.s3_endpoint_url:
        url = urlsplit(settings.s3_endpoint_url)
        return (f"{url.scheme}://{url.netloc}",)
    region = settings.s3_region or "us-east-1"
    return (f"https://s3.{region}.amazonaws.com", "https://s3.amazonaws.com")


def app_csp(media_origins: tuple[str, ...] = ()) -> str:
    """The app's policy, with the object store's origin in img-src and connect-src when photos come from it
    (the team's thumbnails are fetched, then shown from blob: URLs; an original opens as a link)."""
    if not media_origins:
        return APP_CSP
    extra = " ".join(media_origins)
    return APP_CSP.replace("img-src 'self' blob: data:;", f"img-src 'self' blob: data: {extra};").replace(
        "connect-src 'self';", f"connect-src 'self' {extra};"
    )


COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def is_docs_path(path: str) -> bool:
    return path == DOCS_PREFIX or path.startswith(DOCS_PREFIX + "/")


def security_headers_hook(
    *, hsts_seconds: int = 0, media_origins: tuple[str, ...] = ()
) -> BeforeMessageSendHookHandler:
    """A ``before_send`` hook: it sees every response, errors and unknown paths included.

    ``hsts_seconds`` > 0 adds Strict-Transport-Security (``FIELDCHECK_HSTS_SECONDS``): only for a deployment
    reached over TLS alone, since browsers then refuse plain HTTP to this host for that long.
    ``media_origins``: the object store's origins (:func:`storage_origins`), allowed in the app's CSP."""
    allowed: dict[str, str] = {}
    # encoded once: the hook runs on every response
    common = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in COMMON_HEADERS.items()
    ]
    if hsts_seconds > 0:
        common.append((b"strict-transport-security", f"max-age={hsts_seconds}".encode("latin-1")))
    app_headers = [*common, (b"content-security-policy", app_csp(media_origins).encode("latin-1"))]
    docs_headers = [*common, (b"content-security-policy", DOCS_CSP.encode("latin-1"))]

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        set_response_headers(message, docs_headers if is_docs_path(scope.get("path", "")) else app_headers)
        if scope.get("method") != "OPTIONS":
            return
        headers = MutableScopeHeaders.from_message(message)
        if "allow" in headers:
            # Litestar 2's automatic OPTIONS answer lists the methods of one handler of a path only
            # (litestar-org/litestar#4169, fixed in v3): answer with every method of the path
            if not allowed:
                allowed.update(
                    {
                        route.path_format: ", ".join(sorted(route.methods))
                        for route in scope["app"].routes
                        if isinstance(route, HTTPRoute)
                    }
                )
            methods = allowed.get(scope.get("path_template", ""))
            if methods:
                headers["Allow"] = methods

    return add_headers


def cors_config(settings: Settings) -> CORSConfig | None:
    """No CORS at all unless ``FIELDCHECK_CORS_ORIGINS`` names the origins allowed to call the API."""
    origins = settings.cors_origin_list
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "If-None-Match",
            "Tus-Resumable",
            "Upload-Offset",
            "Upload-Length",
            "Upload-Checksum",
        ],
        # what a browser client reads back: resumable upload state, throttling, cached standards
        expose_headers=[
            "Location",
            "Upload-Offset",
            "Upload-Length",
            "Upload-Expires",
            "Upload-State",
            "Tus-Resumable",
            "Retry-After",
            "ETag",
        ],
        allow_credentials=False,
        max_age=600,
    )
