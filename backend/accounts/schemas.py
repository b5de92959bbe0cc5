from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Role = Literal["admin", "office", "inspector", "clinic"]
ROLES: tuple[Role, ...] = ("admin", "office", "inspector", "clinic")


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True):
    pass


class AuthUser(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """Who is calling: carried on ``request.user`` after the bearer token is checked."""

    id: UUID
    username: str
    role: Role
    facility_id: UUID | None = None
    region_id: UUID | None = None
    display_name: str = ""


# PostgreSQL text cannot hold NUL: such a name or password is refused as bad input (400), not a 500
# from the failed-login bookkeeping that stores the name (found by the API fuzzing on PostgreSQL).
NoNul = Annotated[str, msgspec.Meta(pattern="^[^\x00]*$")]


class LoginRequest(CamelStruct):
    username: NoNul = msgspec.field()
    password: NoNul = msgspec.field()


class LoginResponse(CamelStruct):
    token: str
    expires_at: datetime
    user: AuthUser


class CreateUserRequest(CamelStruct):
    username: str
    password: str
    role: Role
    display_name: str = ""
    region_id: UUID | None = None
    facility_id: UUID | None = None


class UserOut(CamelStruct):
    id: UUID
    username: str
    role: Role
    display_name: str
    region_id: UUID | None
    facility_id: UUID | None
    active: bool


class UpdateUserRequest(CamelStruct):
    display_name: str | None = None
    password: str | None = None
    active: bool | None = None
    region_id: UUID | None = None
    facility_id: UUID | None = None
