from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from backend.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from backend.accounts.tables import User
from backend.guards import AuthUser as AuthUser  # defined with the guards; kept importable from here
from backend.guards import Role


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True):
    pass


# PostgreSQL text cannot hold NUL: such a name or password is refused as bad input (400), not a 500
# from the failed-login bookkeeping that stores the name (found by the API fuzzing on PostgreSQL).
NoNul = Annotated[str, msgspec.Meta(pattern="^[^\x00]*$")]
# The lengths are the columns' (backend/accounts/tables.py), checked when the body is decoded: a longer name
# answered 500 on PostgreSQL before.
Username = Annotated[str, msgspec.Meta(max_length=User.username.length, pattern="^[^\x00]*$")]
NewUsername = Annotated[
    str, msgspec.Meta(min_length=1, max_length=User.username.length, pattern="^[^\x00]*$")
]
Password = Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD_LENGTH, pattern="^[^\x00]*$")]
NewPassword = Annotated[
    str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH, pattern="^[^\x00]*$")
]
DisplayName = Annotated[str, msgspec.Meta(max_length=User.display_name.length, pattern="^[^\x00]*$")]


class LoginRequest(CamelStruct):
    username: Username = msgspec.field()
    password: Password = msgspec.field()


class LoginResponse(CamelStruct):
    token: str
    expires_at: datetime
    user: AuthUser


class CreateUserRequest(CamelStruct):
    username: NewUsername
    password: NewPassword
    role: Role
    display_name: DisplayName = ""
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
    display_name: DisplayName | None = None
    password: NewPassword | None = None
    active: bool | None = None
    region_id: UUID | None = None
    facility_id: UUID | None = None


# Expert profiles

# The expert pool's specialties (DOMAIN.md); anything else is a typo that would break team planning.
Specialty = Literal[
    "医疗机构管理", "医疗", "中医药", "护理", "医院感染管理", "公共卫生", "卫生监督", "财务", "信息化"
]
ExpertTitle = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]


class ExpertOut(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    user_id: UUID
    username: str
    display_name: str
    active: bool
    title: str
    # the title's level (junior | intermediate | deputy_senior | senior), null when not recognised: the
    # programme's title gate (中级及以上) refuses such an expert until the title is corrected
    title_level: str | None
    specialties: list[str]
    tied_facility_ids: list[UUID]


class CreateExpertRequest(CamelStruct, forbid_unknown_fields=True):
    """An admin body: a misspelt field is refused, not silently ignored."""

    user_id: UUID
    title: ExpertTitle
    specialties: Annotated[list[Specialty], msgspec.Meta(min_length=1, max_length=9)]
    tied_facility_ids: Annotated[list[UUID], msgspec.Meta(max_length=200)] = []


class UpdateExpertRequest(CamelStruct, forbid_unknown_fields=True):
    """An admin body: a misspelt field is refused, not silently ignored."""

    title: ExpertTitle | None = None
    specialties: Annotated[list[Specialty], msgspec.Meta(min_length=1, max_length=9)] | None = None
    tied_facility_ids: Annotated[list[UUID], msgspec.Meta(max_length=200)] | None = None


class StaffOut(CamelStruct):
    user_id: UUID
    username: str
    display_name: str


class ConflictResolverOut(CamelStruct):
    """A facility's designated staff member for its conflicts (``None``: not designated, any of its clinic
    accounts may resolve), and the clinic accounts the office may choose from."""

    facility_id: UUID
    facility_name: str
    resolver: StaffOut | None
    designated_at: datetime | None
    staff: list[StaffOut]


class SetConflictResolverRequest(CamelStruct):
    user_id: UUID | None
