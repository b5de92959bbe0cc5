"""``GET /metrics``: Prometheus' text format for the operator's scraper, behind its own token."""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State

from backend.errors import NotFound
from backend.metrics import CONTENT_TYPE, Metrics, token_ok
from media.worker import queue_summary


@get("/metrics", operation_id="metrics", tags=["ops"], security=[], include_in_schema=False)
async def metrics(request: Request[Any, Any, State]) -> Response[bytes]:
    """The app's metrics (all its processes'), the job queue by kind. 404 without the metrics token."""
    expected: str = request.app.state.settings.metrics_token
    if not token_ok(request.headers.get("authorization", ""), expected):
        # closed to the public: the same answer as an unknown path, whether a token is configured or not
        raise NotFound("no such page", code="not_found")
    registry: Metrics = request.app.state.metrics
    queue = await queue_summary(int(time.time() * 1000))
    return Response(registry.exposition(queue), media_type=CONTENT_TYPE)
