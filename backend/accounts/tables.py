from __future__ import annotations

from piccolo.columns import JSONB, UUID, Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.registry.tables import Facility, Region


class User(Table, tablename="app_user"):
    id = UUID(primary_key=True)
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=100, default="")
    password_hash = Varchar(length=255)
    # admin | office | inspector | clinic
    role = Varchar(length=20)
    region = ForeignKey(Region, null=True, on_delete=OnDelete.restrict)
    facility = ForeignKey(Facility, null=True, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    is_demo = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class AuthToken(Table, tablename="auth_token"):
    id = UUID(primary_key=True)
    # sha256 of the bearer token; the token itself is never stored
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.restrict)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()


class LoginThrottle(Table, tablename="login_throttle"):
    """Failed logins per key (``user:<name>`` or ``addr:<ip>``), so every app process sees the same count."""

    key = Varchar(length=200, primary_key=True)
    failures = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class ExpertProfile(Table, tablename="expert_profile"):
    """An inspector's profile in the expert pool (the office plans teams from it)."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, unique=True, on_delete=OnDelete.restrict)
    title = Varchar(length=60)
    # e.g. ["医疗", "护理"]
    specialties = JSONB(default=[])
    # facility ids the expert is tied to (recusal, 回避制度)
    tied_facility_ids = JSONB(default=[])


class ConflictResolver(Table, tablename="conflict_resolver"):
    """The staff member a facility designates to resolve its own conflicts (its self-assessment and its
    improvement plan), one per facility, set by the office or an admin. With none designated any clinic
    account of the facility may resolve them; the office resolves from its queue either way."""

    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, unique=True, on_delete=OnDelete.restrict)
    user = ForeignKey(User, on_delete=OnDelete.restrict)
    designated_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    designated_at = Timestamptz(default=TimestamptzNow())
