"""Conditional GETs of JSON that changes only with its ETag (a standard's bundle, its checklist): the app keeps
them offline and asks again with ``If-None-Match``; an unchanged one answers 304 with no body."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

# private: it is read under the caller's rights; no-cache: every use asks the server, which answers 304 cheaply
CACHE_CONTROL = "private, no-cache"


def names_etag(if_none_match: str | None, quoted: str) -> bool:
    """The ``If-None-Match`` header lists this (quoted) ETag."""
    return bool(if_none_match) and quoted in [tag.strip() for tag in (if_none_match or "").split(",")]


def etag_response(request: Request[Any, Any, Any], etag: str, body: bytes | str) -> Response[Any]:
    """The JSON body with its ETag, or 304 without it when the request's ``If-None-Match`` names that ETag."""
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Cache-Control": CACHE_CONTROL}
    if names_etag(request.headers.get("if-none-match"), quoted):
        return Response(content=b"", status_code=304, headers=headers)
    content = body.encode() if isinstance(body, str) else body
    return Response(content=content, media_type="application/json", headers=headers)
