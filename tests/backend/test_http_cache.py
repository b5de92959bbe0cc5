"""The standard's bundle and its checklist answer conditional GETs through one helper (backend/http_cache.py):
the same headers, a 304 with no body for any ETag the request lists, and each its own ETag. The app's files
take the same If-None-Match rule (tests/backend/web/test_app_files.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backend.http_cache import CACHE_CONTROL, names_etag
from tests.conftest import login


@pytest.mark.parametrize(
    ("header", "named"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('"x", "abc"', True),
        ('"x","abc" ', True),
        ('"abcd"', False),
        ("abc", False),  # unquoted: not the ETag sent
        # RFC 9110 §13.1.2: weak comparison (a W/ on either side ignored), "*" matches any
        ('W/"abc"', True),
        ('"x", W/"abc"', True),
        ('W/"abcd"', False),
        ("*", True),
        (" * ", True),
        ('"a,b", "abc"', True),  # a comma inside a tag does not split the list
        ('"a,abc"', False),
    ],
)
def test_if_none_match_names_the_etag(header: str | None, named: bool) -> None:
    assert names_etag(header, '"abc"') is named
    assert names_etag(header, 'W/"abc"') is named  # our own tag weak: the same comparison


async def test_bundle_and_checklist_answer_304_alike(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    headers = await login(client, "inspector1")
    tags = []
    for url in ("/api/standards/cn-thc-capacity-2018", "/api/standards/cn-thc-capacity-2018/checklist"):
        fresh = await client.get(url, headers={**headers, "If-None-Match": '"stale"'})
        assert fresh.status_code == 200
        assert fresh.headers["content-type"].startswith("application/json")
        assert fresh.headers["cache-control"] == CACHE_CONTROL
        etag = fresh.headers["etag"]
        tags.append(etag)
        cached = await client.get(url, headers={**headers, "If-None-Match": f'"stale", {etag}'})
        assert (cached.status_code, cached.content) == (304, b"")
        assert (cached.headers["etag"], cached.headers["cache-control"]) == (etag, CACHE_CONTROL)
    bundle, checklist = tags
    assert bundle != checklist  # a cached bundle's ETag never answers for the checklist
    other = await client.get(
        "/api/standards/cn-thc-capacity-2018/checklist", headers={**headers, "If-None-Match": bundle}
    )
    assert other.status_code == 200
