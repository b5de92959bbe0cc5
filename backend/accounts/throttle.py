"""Login throttling, kept in the database so every app process counts the same attempts.

An attempt is counted *before* the password is checked, in one write transaction that locks the counters
(``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on PostgreSQL): parallel guesses cannot all pass a check made
before any of them failed. A correct password then takes its attempt back.

Three counters, after the OWASP authentication cheat sheet (docs/operations.md, Security):
- ``pair:<user>|<address>``: ``max_failures`` wrong passwords lock that account *from that address*, each
  further lock doubling up to 15 minutes;
- ``user:<user>``: a softer account-wide limit (``ACCOUNT_FACTOR`` × more) against guessing from many
  addresses;
- ``addr:<address>``: a softer address-wide limit (``ADDRESS_FACTOR`` ×) against trying many accounts.
The account and address locks are fixed and short, and they do not apply from an address where that account
signed in successfully within ``KNOWN_DAYS`` (``ok:<user>|<address>``), so an attacker elsewhere cannot lock
the owner out and a lab behind one NAT address is not locked by one person's typing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backend.accounts.tables import LoginThrottle
from backend.db import as_utc, current_engine, fetch, write_tx

MAX_LOCKOUT_SECONDS = 15 * 60
ACCOUNT_FACTOR = 10
ADDRESS_FACTOR = 20
# Failures older than this (and not locked) are forgotten.
WINDOW = timedelta(minutes=15)
KNOWN_DAYS = 30


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str

    @property
    def pair(self) -> str:
        return f"pair:{self.username.lower()}|{self.address}"

    @property
    def user(self) -> str:
        return f"user:{self.username.lower()}"

    @property
    def addr(self) -> str:
        return f"addr:{self.address}"

    @property
    def known(self) -> str:
        return f"ok:{self.username.lower()}|{self.address}"


def _now() -> datetime:
    return datetime.now(UTC)


def _limit(key: str, max_failures: int) -> int:
    if key.startswith("user:"):
        return max_failures * ACCOUNT_FACTOR
    if key.startswith("addr:"):
        return max_failures * ADDRESS_FACTOR
    return max_failures


_SELECT = 'SELECT "key", "failures", "locked_until", "updated_at" FROM "login_throttle" WHERE "key" = {}'


async def _locked_rows(keys: list[str]) -> dict[str, dict[str, object]]:
    """The counter rows of ``keys``, created when missing, locked until the transaction ends."""
    # SQLite's BEGIN IMMEDIATE already holds the only write lock
    select = _SELECT if current_engine().engine_type == "sqlite" else _SELECT + " FOR UPDATE"
    rows: dict[str, dict[str, object]] = {}
    for key in sorted(keys):  # one order for every process: no deadlock
        await fetch(
            'INSERT INTO "login_throttle" ("key", "failures", "locked_until", "updated_at") '
            'VALUES ({}, 0, NULL, {}) ON CONFLICT ("key") DO NOTHING',
            [key, _now()],
        )
        found = await fetch(select, [key])
        rows[key] = found[0]
    return rows


async def begin(attempt: Attempt, *, max_failures: int, lockout_seconds: int) -> int:
    """Count ``attempt`` as a failure unless a lock refuses it; the seconds still to wait (0: go ahead)."""
    now = _now()
    keys = [attempt.pair, attempt.user, attempt.addr]
    async with write_tx():
        known = (
            await LoginThrottle.select(LoginThrottle.updated_at)
            .where(LoginThrottle.key == attempt.known)
            .first()
        )
        is_known = known is not None and as_utc(known["updated_at"]) > now - timedelta(days=KNOWN_DAYS)
        rows = await _locked_rows(keys)
        wait = 0
        counts: dict[str, int] = {}
        for key in keys:
            row = rows[key]
            failures = int(row["failures"])  # type: ignore[call-overload]
            until = row["locked_until"]
            locked = isinstance(until, datetime) and as_utc(until) > now
            if isinstance(until, datetime) and locked and (key == attempt.pair or not is_known):
                wait = max(wait, int((as_utc(until) - now).total_seconds() + 0.999))
            stale = isinstance(row["updated_at"], datetime) and as_utc(row["updated_at"]) < now - WINDOW
            counts[key] = 0 if stale and not locked else failures
        if wait > 0:
            return wait
        for key in keys:
            failures = counts[key] + 1
            limit = _limit(key, max_failures)
            locked_until: datetime | None = None
            if failures >= limit:
                if key == attempt.pair:
                    # each further failure doubles the wait, up to a ceiling
                    seconds = min(lockout_seconds * 2 ** (failures - limit), MAX_LOCKOUT_SECONDS)
                else:
                    seconds = lockout_seconds
                locked_until = now + timedelta(seconds=seconds)
            await LoginThrottle.update(
                {
                    LoginThrottle.failures: failures,
                    LoginThrottle.locked_until: locked_until,
                    LoginThrottle.updated_at: now,
                }
            ).where(LoginThrottle.key == key)
    return 0


async def succeeded(attempt: Attempt, *, max_failures: int) -> None:
    """Take back the attempt counted by :func:`begin` and remember the address as known for this account.
    Runs inside the caller's write transaction."""
    now = _now()
    await LoginThrottle.delete().where(LoginThrottle.key == attempt.pair)
    for key in (attempt.user, attempt.addr):
        row = await LoginThrottle.select().where(LoginThrottle.key == key).first()
        if row is None:
            continue
        failures = max(int(row["failures"]) - 1, 0)
        values: dict[object, object] = {LoginThrottle.failures: failures}
        if failures < _limit(key, max_failures):
            values[LoginThrottle.locked_until] = None
        await LoginThrottle.update(values).where(LoginThrottle.key == key)  # type: ignore[arg-type]
    await fetch(
        'INSERT INTO "login_throttle" ("key", "failures", "locked_until", "updated_at") '
        'VALUES ({}, 0, NULL, {}) ON CONFLICT ("key") DO UPDATE SET "updated_at" = excluded."updated_at"',
        [attempt.known, now],
    )
