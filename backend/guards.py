"""Who is calling and the role guards, below every area: the caller (``AuthUser``, put on ``request.user`` by
the bearer-token middleware of ``backend/accounts/auth.py``) and the checks of its role, used by the
controllers' guards and again inside the services. Knows no table, so any area may use it."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from backend.errors import Forbidden

Role = Literal["admin", "office", "inspector", "clinic"]
ROLES: tuple[Role, ...] = ("admin", "office", "inspector", "clinic")


class AuthUser(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """Who is calling: carried on ``request.user`` after the bearer token is checked."""

    id: UUID
    username: str
    role: Role
    facility_id: UUID | None = None
    region_id: UUID | None = None
    display_name: str = ""


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

    # async: Litestar runs a plain function guard in its thread pool, a thread hop on every request
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # OPTIONS (Allow, CORS preflight) is answered without a token and reveals nothing: no user to check
        if connection.scope.get("method") == "OPTIONS":
            return
        ensure_role(current_user(connection), *roles)

    return guard
