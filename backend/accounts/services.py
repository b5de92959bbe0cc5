"""Accounts: users, bearer tokens and login throttling."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.sqlite import SQLiteEngine

from backend.accounts import throttle
from backend.accounts.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    verify_password,
)
from backend.accounts.schemas import CreateUserRequest, LoginResponse, UpdateUserRequest, UserOut
from backend.accounts.tables import AuthToken, User
from backend.audit.services import changed_fields, record
from backend.db import as_utc, current_engine, read_fetch, write_tx
from backend.errors import BadRequest, Conflict, NotFound, RuleRefused, TooManyRequests, Unauthorized
from backend.guards import AuthUser, Role
from backend.registry.tables import Facility, Region
from sync.api import CallerCheck


def _now() -> datetime:
    return datetime.now(UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def auth_user_from_row(row: dict[str, Any]) -> AuthUser:
    return AuthUser(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        facility_id=row.get("facility"),
        region_id=row.get("region"),
        display_name=row.get("display_name") or "",
    )


async def login(
    *, username: str, password: str, address: str, ttl_seconds: int, max_failures: int, lockout_seconds: int
) -> LoginResponse:
    attempt = throttle.Attempt(username=username, address=address)
    # counted before the password is checked, so parallel guesses meet the lock (backend/accounts/throttle.py)
    wait = await throttle.begin(attempt, max_failures=max_failures, lockout_seconds=lockout_seconds)
    if wait > 0:
        raise TooManyRequests(
            f"too many failed logins; try again in {wait} s",
            code="login_throttled",
            params={"seconds": wait},
            retry_after=wait,
        )
    row = await User.select().where(User.username == username).first()
    ok = await verify_password(row["password_hash"] if row else None, password)
    if not row or not ok or not row["active"]:
        raise Unauthorized("wrong username or password", code="bad_credentials")
    token = secrets.token_urlsafe(32)
    expires_at = _now() + timedelta(seconds=ttl_seconds)
    async with write_tx():
        await AuthToken.insert(
            AuthToken(token_hash=token_digest(token), user=row["id"], expires_at=expires_at)
        )
        await throttle.succeeded(attempt, max_failures=max_failures)
        await record(user_id=str(row["id"]), action="login", entity=f"user/{row['id']}")
    return LoginResponse(token=token, expires_at=expires_at, user=auth_user_from_row(row))


# Token digest → (user, token expiry, cached until on the monotonic clock). Saves the per-request database
# lookup (a new aiosqlite connection per query outside a transaction: ~4 ms). Logout, a password change and
# deactivation evict at once in this process; other processes see them within TOKEN_CACHE_SECONDS, except on
# the sync routes, which check the token in their own first statement (token_check; docs/architecture.md,
# Security).
TOKEN_CACHE_SECONDS = 10.0
# Written out once: Piccolo's select over the user's columns cost ~1 ms of CPU to build per lookup, and a
# device's next sync usually comes after its entry went stale (the soak's cycle is 10 s, the app's pull 30 s).
USER_BY_DIGEST_SQL = (
    "SELECT t.expires_at, u.id, u.username, u.role, u.facility, u.region, u.display_name, u.active "
    'FROM auth_token t JOIN app_user u ON u.id = t."user" WHERE t.token_hash = {}'
)
TOKEN_CACHE_MAX = 10_000
_token_cache: OrderedDict[str, tuple[AuthUser, datetime, float]] = OrderedDict()


def forget_tokens(*, digest: str | None = None, user_id: UUID | None = None) -> None:
    """Evict cached tokens: one (by digest), every token of a user, or (no argument) all of them."""
    if digest is None and user_id is None:
        _token_cache.clear()
        return
    if digest is not None:
        _token_cache.pop(digest, None)
    if user_id is not None:
        for key in [k for k, (user, _, _) in _token_cache.items() if user.id == user_id]:
            del _token_cache[key]


def invalid_token() -> Unauthorized:
    return Unauthorized("the token is unknown or has expired; sign in again", code="invalid_token")


async def user_for_token(token: str, *, checked_later: bool = False) -> AuthUser | None:
    """The token's user: from this process's cache while its entry is fresh, else looked up. ``checked_later``:
    the route checks the token in its own statement (:func:`token_check`), so a known entry serves however old
    it is (until the token's own expiry); an unknown token is still looked up."""
    digest = token_digest(token)
    cached = _token_cache.get(digest)
    if cached is not None:
        user, expires_at, fresh_until = cached
        if expires_at > _now() and (checked_later or time.monotonic() < fresh_until):
            return user
        del _token_cache[digest]
    rows = await read_fetch(USER_BY_DIGEST_SQL, [digest])
    found = rows[0] if rows else None
    if not found or as_utc(found["expires_at"]) <= _now() or not found["active"]:
        return None
    user = auth_user_from_row(found)
    _remember(digest, user, as_utc(found["expires_at"]))
    return user


def _remember(digest: str, user: AuthUser, expires_at: datetime) -> None:
    _token_cache[digest] = (user, expires_at, time.monotonic() + TOKEN_CACHE_SECONDS)
    _token_cache.move_to_end(digest)
    while len(_token_cache) > TOKEN_CACHE_MAX:
        _token_cache.popitem(last=False)


class CallerChanged(Exception):
    """The token is valid but its user's role, facility or region is no longer the one the request ran as: run
    it again as ``user`` (a device is not signed out for its account's new scope)."""

    def __init__(self, user: AuthUser) -> None:
        super().__init__(f"user {user.id} changed")
        self.user = user


# The token's user as a sync statement sees it (sync.api.CallerCheck): one JSON value, NULL once the token's row
# is gone (a logout, a password change or a deactivation in any process).
_CHECK_COLUMNS = ("expires_at", "active", "username", "role", "facility", "region", "display_name")


def _check_sql(*, postgres: bool) -> str:
    pairs = ", ".join(f"'{c}', {'t' if c == 'expires_at' else 'u'}.\"{c}\"" for c in _CHECK_COLUMNS)
    build = "json_build_object" if postgres else "json_object"
    return (
        f'SELECT {build}({pairs}) FROM "auth_token" t JOIN "app_user" u ON u."id" = t."user" '  # noqa: S608
        'WHERE t."token_hash" = ?'
    )


_CHECK_SQL = {postgres: _check_sql(postgres=postgres) for postgres in (False, True)}


def token_check(token: str, user: AuthUser) -> CallerCheck:
    """The bearer token checked inside a sync request's first statement, as the request runs as ``user``: a
    token deleted, expired or of a deactivated account refuses the request (``invalid_token``, the same 401
    as the middleware's) and leaves this process's cache; a valid one refreshes its cache entry, and raises
    :class:`CallerChanged` when the account's role, facility or region changed."""
    digest = token_digest(token)

    def settle(value: Any) -> None:
        found: dict[str, Any] | None = None if value is None else msgspec.json.decode(value)
        expires_at = None if found is None else as_utc(datetime.fromisoformat(found["expires_at"]))
        if found is None or expires_at is None or expires_at <= _now() or not found["active"]:
            forget_tokens(digest=digest)
            raise invalid_token()
        fresh = AuthUser(
            id=user.id,
            username=found["username"],
            role=found["role"],
            facility_id=_uuid_or_none(found["facility"]),
            region_id=_uuid_or_none(found["region"]),
            display_name=found["display_name"] or "",
        )
        _remember(digest, fresh, expires_at)
        if (fresh.role, fresh.facility_id, fresh.region_id) != (user.role, user.facility_id, user.region_id):
            raise CallerChanged(fresh)

    postgres = not isinstance(current_engine(), SQLiteEngine)
    return CallerCheck(sql=_CHECK_SQL[postgres], args=[digest], settle=settle)


def _uuid_or_none(value: Any) -> UUID | None:
    return None if value is None else UUID(str(value))


async def logout(*, token: str) -> None:
    digest = token_digest(token)
    forget_tokens(digest=digest)
    async with write_tx():
        await AuthToken.delete().where(AuthToken.token_hash == digest)


# A body the schema allows but a rule across its fields refuses: 422 (a rule of the domain), not 400.
async def _check_role_links(role: Role, region_id: UUID | None, facility_id: UUID | None) -> None:
    if role == "clinic":
        if facility_id is None:
            raise RuleRefused(
                "a clinic user belongs to exactly one facility: facilityId is required",
                code="facility_required",
            )
        if region_id is not None:
            raise RuleRefused("a clinic user is scoped by its facility; regionId must be empty")
    elif facility_id is not None:
        raise RuleRefused(f"only clinic users belong to a facility, not {role} users")
    if role == "office" and region_id is None:
        raise RuleRefused("an office user needs regionId (the region it oversees)", code="region_required")
    if role in ("admin", "inspector") and region_id is not None:
        raise RuleRefused(f"{role} users have no region scope")
    if facility_id is not None and not await Facility.exists().where(Facility.id == facility_id):
        raise NotFound(f"facility {facility_id} does not exist")
    if region_id is not None and not await Region.exists().where(Region.id == region_id):
        raise NotFound(f"region {region_id} does not exist")


def _check_password(password: str, *, is_demo: bool) -> None:
    # the HTTP body is checked when decoded (schemas.py); this also covers `fieldcheck create-user`.
    # The demo's documented password "demo" is shorter: demo databases are never production ones.
    if len(password) < MIN_PASSWORD_LENGTH and not is_demo:
        raise BadRequest(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            code="password_too_short",
            params={"min": MIN_PASSWORD_LENGTH},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(f"a password takes at most {MAX_PASSWORD_LENGTH} characters")


def _user_out(row: dict[str, Any]) -> UserOut:
    return UserOut(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        display_name=row["display_name"],
        region_id=row["region"],
        facility_id=row["facility"],
        active=row["active"],
    )


async def create_user(*, data: CreateUserRequest, actor_id: str | None, is_demo: bool = False) -> UserOut:
    if not data.username.strip() or len(data.username) > 64:
        raise BadRequest("username must be 1 to 64 characters")
    _check_password(data.password, is_demo=is_demo)
    await _check_role_links(data.role, data.region_id, data.facility_id)
    if await User.exists().where(User.username == data.username.strip()):
        raise Conflict(f"username {data.username.strip()} is taken", code="username_taken")
    password_hash = await hash_password(data.password)
    async with write_tx():
        user = User(
            username=data.username.strip(),
            display_name=data.display_name,
            password_hash=password_hash,
            role=data.role,
            region=data.region_id,
            facility=data.facility_id,
            is_demo=is_demo,
        )
        await user.save()
        await record(
            user_id=actor_id,
            action="user.create",
            entity=f"user/{user.id}",
            details={"username": user.username, "role": data.role},
        )
    row = await User.select().where(User.id == user.id).first()
    assert row is not None
    return _user_out(row)


async def list_users() -> list[UserOut]:
    return [_user_out(r) for r in await User.select().order_by(User.username)]


async def get_user(*, user_id: UUID) -> UserOut:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    return _user_out(row)


async def update_user(*, user_id: UUID, data: UpdateUserRequest, actor_id: str) -> UserOut:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    region_id = data.region_id if data.region_id is not None else row["region"]
    facility_id = data.facility_id if data.facility_id is not None else row["facility"]
    await _check_role_links(row["role"], region_id, facility_id)
    values: dict[Any, Any] = {User.region: region_id, User.facility: facility_id}
    if data.display_name is not None:
        values[User.display_name] = data.display_name
    if data.active is not None:
        values[User.active] = data.active
    if data.password is not None:
        _check_password(data.password, is_demo=False)
        values[User.password_hash] = await hash_password(data.password)
    forget_tokens(user_id=user_id)
    async with write_tx():
        await User.update(values).where(User.id == user_id)
        if data.active is False or data.password is not None:
            await AuthToken.delete().where(AuthToken.user == user_id)
        await record(
            user_id=actor_id,
            action="user.update",
            entity=f"user/{user_id}",
            details={"fields": changed_fields(data)},
        )
    # cached tokens carry the user's scope (region, facility) and must die with a password change or
    # deactivation: drop them after the commit (and before it, so no request refills from the old row)
    forget_tokens(user_id=user_id)
    updated = await User.select().where(User.id == user_id).first()
    assert updated is not None
    return _user_out(updated)


async def user_name_rows(ids: list[UUID]) -> list[dict[str, Any]]:
    """id, username and display name of these accounts (who wrote a conflict's candidates; a pull sends them
    through sync.api.PullContext)."""
    if not ids:
        return []
    return await User.select(User.id, User.username, User.display_name).where(User.id.is_in(ids))


async def demo_accounts_exist() -> bool:
    return bool(await User.exists().where(User.is_demo == True))  # noqa: E712 - Piccolo builds SQL from ==
