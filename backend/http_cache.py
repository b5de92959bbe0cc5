"""Conditional GETs: the one ``If-None-Match`` rule (``names_etag``) for the app's files (backend/web) and for
JSON that changes only with its ETag (a standard's bundle, its checklist: ``etag_response``). The app keeps
them offline and asks again with ``If-None-Match``; an unchanged one answers 304 with no body."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response

# private: it is read under the caller's rights; no-cache: every use asks the server, which answers 304 cheaply
CACHE_CONTROL = "private, no-cache"


# an entity-tag (RFC 9110 §8.8.3): optional W/, then a quoted opaque tag (which may hold a comma, never a quote)
_ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')


def _opaque(etag: str) -> str:
    return etag.strip().removeprefix("W/")


def names_etag(if_none_match: str | None, etag: str) -> bool:
    """The ``If-None-Match`` header matches this ETag (RFC 9110 §13.1.2): ``*``, or a listed entity-tag equal
    by the weak comparison (the opaque tags alike, a ``W/`` on either side ignored). Anything unquoted in the
    list names nothing."""
    header = (if_none_match or "").strip()
    if header == "*":
        return True  # the representation exists (every caller has one)
    return _opaque(etag) in [f'"{tag}"' for tag in _ENTITY_TAG.findall(header)]


def etag_response(request: Request[Any, Any, Any], etag: str, body: bytes | str) -> Response[Any]:
    """The JSON body with its ETag, or 304 without it when the request's ``If-None-Match`` names that ETag."""
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Cache-Control": CACHE_CONTROL}
    if names_etag(request.headers.get("if-none-match"), quoted):
        return Response(content=b"", status_code=304, headers=headers)
    content = body.encode() if isinstance(body, str) else body
    return Response(content=content, media_type="application/json", headers=headers)
