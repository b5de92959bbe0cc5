from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from backend.db import current_engine


@get(
    "/health",
    operation_id="health",
    tags=["ops"],
    security=[],
    responses={503: ResponseSpec(data_container=dict[str, Any], description="The database or storage fails")},
)
async def health(request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
    """Database and storage reachable: 200, else 503 with what failed."""
    checks: dict[str, str] = {}
    try:
        await current_engine().run_ddl("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    try:
        await request.app.state.storage.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {exc}"
    healthy = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if healthy else "degraded", "checks": checks}, status_code=200 if healthy else 503
    )
