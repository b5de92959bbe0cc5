"""Bearer-token authentication: the middleware that turns a token into the caller (``request.user``). The
role guards are in ``backend/guards.py`` (re-exported here for code written before they moved)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from backend.accounts.services import invalid_token, user_for_token
from backend.errors import Unauthorized
from backend.guards import current_user, ensure_role, requires_role

PUBLIC_PATHS = {
    "/health",
    "/metrics",  # its own token (backend/metrics_api.py)
    "/api/auth/login",
    "/schema",
    "/api/media/signed",
    "/",
    "/sw.js",
    "/manifest.webmanifest",
}

# A route's ``opt`` key: the handler checks the token itself, in its own first statement
# (``backend.accounts.services.token_check``; the sync routes), so a cached entry serves however old it is.
CHECKED_BY_HANDLER = "token_checked_by_handler"


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection)
        if token is None:
            raise Unauthorized("sign in first: send Authorization: Bearer <token>", code="missing_token")
        user = await user_for_token(
            token, checked_later=bool(connection.route_handler.opt.get(CHECKED_BY_HANDLER))
        )
        if user is None:
            raise invalid_token()
        return AuthenticationResult(user=user, auth=token)


def auth_middleware() -> DefineMiddleware:
    # Public paths are matched as regexes by Litestar; anchor them.
    excluded = [f"^{p}$" for p in PUBLIC_PATHS] + [
        "^/schema",
        "^/static/",
        "^/api/media/signed/",
        "^/api/public/",
        "^/public/",
    ]
    return DefineMiddleware(BearerTokenMiddleware, exclude=excluded)


__all__ = [
    "CHECKED_BY_HANDLER",
    "PUBLIC_PATHS",
    "auth_middleware",
    "bearer_token",
    "current_user",
    "ensure_role",
    "requires_role",
]
