"""Bearer-token authentication and role guards."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from backend.accounts.schemas import AuthUser, Role
from backend.accounts.services import user_for_token
from backend.errors import Forbidden, Unauthorized

PUBLIC_PATHS = {
    "/health",
    "/api/auth/login",
    "/schema",
    "/api/media/signed",
    "/",
    "/sw.js",
    "/manifest.webmanifest",
}


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
        user = await user_for_token(token)
        if user is None:
            raise Unauthorized("the token is unknown or has expired; sign in again", code="invalid_token")
        return AuthenticationResult(user=user, auth=token)


def auth_middleware() -> DefineMiddleware:
    # Public paths are matched as regexes by Litestar; anchor them.
    excluded = [f"^{p}$" for p in PUBLIC_PATHS] + ["^/schema", "^/static/", "^/api/media/signed/"]
    return DefineMiddleware(BearerTokenMiddleware, exclude=excluded)


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser:
    user = connection.user
    assert isinstance(user, AuthUser)
    return user


def ensure_role(user: AuthUser, *roles: str) -> None:
    """The caller's role must be one of ``roles``: used by guards and again inside services."""
    if user.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {user.role}", code="wrong_role")


def requires_role(*roles: Role) -> Any:
    """A guard: the caller's role must be one of ``roles``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # OPTIONS (Allow, CORS preflight) is answered without a token and reveals nothing: no user to check
        if connection.scope.get("method") == "OPTIONS":
            return
        ensure_role(current_user(connection), *roles)

    return guard
