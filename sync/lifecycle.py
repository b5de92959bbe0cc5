"""The inspection's lifecycle: its statuses, the moves between them, and every write of the ``inspection`` row's
status, version and lock. The one owner: ``tests/test_table_owners.py`` fails when another module writes
``inspection.status``. The push (``sync/push/load.py``, ``write.py``) and the backend (through ``sync.api``:
the office's submit, a return, a sign-off, a new standard) all come here.

No I/O of its own: the statements run on what the caller hands in (``sync.sql.Sql`` on the caller's
transaction), so ``sync.policy`` can read the statuses without importing a driver."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from sync.errors import SyncError

DRAFT = "draft"
IN_PROGRESS = "in_progress"
SUBMITTED = "submitted"
RETURNED = "returned"
ACCEPTED = "accepted"
STATUSES = (DRAFT, IN_PROGRESS, SUBMITTED, RETURNED, ACCEPTED)
# a new inspection starts here (the column's default)
INITIAL = DRAFT
# answers, notes and photos may change
EDITABLE = frozenset({DRAFT, IN_PROGRESS, RETURNED})
# once submitted, the team is fixed (a returned inspection goes back to the same team)
TEAM_FIXED = frozenset({SUBMITTED, RETURNED, ACCEPTED})

Move = Literal["submit", "return", "accept"]
# move → (the statuses it starts from, the status it ends in, the refusal's code)
MOVES: dict[str, tuple[frozenset[str], str, str]] = {
    "submit": (EDITABLE, SUBMITTED, "inspection_locked"),
    "return": (frozenset({SUBMITTED}), RETURNED, "inspection_not_submitted"),
    "accept": (frozenset({SUBMITTED}), ACCEPTED, "inspection_not_submitted"),
}


def refusal(status: str, move: Move) -> str | None:
    """Why ``move`` cannot start from ``status`` (a code), ``None`` when it can."""
    starts, _, code = MOVES[move]
    return None if status in starts else code


def edit_refusal(status: str) -> str | None:
    return None if status in EDITABLE else "inspection_locked"


class Statements(Protocol):
    """Statements with ``?`` placeholders on the caller's open transaction (``sync.sql.Sql``)."""

    postgres: bool

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]: ...

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> None: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


async def lock(sql: Statements, ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """Lock the inspections (sorted ids, ``FOR UPDATE`` on PostgreSQL; SQLite's write transaction is already
    exclusive) and read their id, version, status and standard."""
    if not ids:
        return []
    cond, args = sql.in_list('"id"', sorted(ids))
    locking = " FOR UPDATE" if sql.postgres else ""
    return await sql.fetch(
        'SELECT "id", "version", "status", "standard_version_id" FROM "inspection" '  # noqa: S608
        f'WHERE {cond} ORDER BY "id"{locking}',
        args,
    )


# PostgreSQL: :func:`lock`'s statement for ids as one array (``?::uuid[]``), with ``{also}`` for more conditions
# (``AND ...``), to run inside a statement of the caller's; rows come back locked, in id order.
LOCK_SELECT = (
    'SELECT "id", "version", "status", "standard_version_id" FROM "inspection" WHERE "id" = ANY(?::uuid[]){also} '
    'ORDER BY "id" FOR UPDATE'
)


async def write_versions(sql: Statements, rows: Iterable[tuple[int, UUID]]) -> None:
    """(version, id): the versions a push reached."""
    await sql.executemany('UPDATE "inspection" SET "version" = ? WHERE "id" = ?', rows)


def versions_statement(rows: Sequence[tuple[int, UUID]]) -> tuple[str, list[Any]]:
    """PostgreSQL: :func:`write_versions` as one statement (arrays, ``unnest``), to run with others."""
    return (
        'UPDATE "inspection" SET "version" = u."version" FROM unnest(?::integer[], ?::uuid[]) AS u("version", "id") '
        'WHERE "inspection"."id" = u."id"',
        [[v for v, _ in rows], [i for _, i in rows]],
    )


async def write_submitted(sql: Statements, inspection_id: UUID, at: datetime) -> None:
    """The push's submit, whose refusal (:func:`refusal`) was asked under the lock."""
    await sql.execute(
        'UPDATE "inspection" SET "status" = ?, "submitted_at" = ? WHERE "id" = ?',
        [SUBMITTED, at, inspection_id],
    )


@dataclass(frozen=True, slots=True)
class Moved:
    before: str
    version: int


class MoveRefused(SyncError):
    """The inspection is not in a status the move starts from (``backend/errors.py`` answers 409)."""

    def __init__(self, code: str, status: str) -> None:
        super().__init__(f"the inspection is {status}", code=code, current=status)
        self.status = status


async def move(sql: Statements, inspection_id: UUID, to: Move, *, at: datetime | None = None) -> Moved:
    """Move one inspection (locked here) and give it a new version, so its devices pull the change;
    :class:`MoveRefused` when it is not in a status the move starts from. ``at``: a submit's time."""
    rows = await lock(sql, [inspection_id])
    if not rows:
        raise MoveRefused("inspection_not_found", "unknown")
    before, version = rows[0]["status"], int(rows[0]["version"]) + 1
    code = refusal(before, to)
    if code is not None:
        raise MoveRefused(code, before)
    status = MOVES[to][1]
    if to == "submit":
        await sql.execute(
            'UPDATE "inspection" SET "status" = ?, "submitted_at" = ?, "version" = ? WHERE "id" = ?',
            [status, at, version, inspection_id],
        )
    else:
        await sql.execute(
            'UPDATE "inspection" SET "status" = ?, "version" = ? WHERE "id" = ?',
            [status, version, inspection_id],
        )
    return Moved(before=before, version=version)


async def bump(sql: Statements, inspection_id: UUID) -> int:
    """A new version of the inspection (something its devices pull changed: its standard); locked here."""
    versions = await bump_all(sql, [inspection_id])
    if not versions:
        raise MoveRefused("inspection_not_found", "unknown")
    return versions[inspection_id]


async def bump_all(sql: Statements, ids: Sequence[UUID]) -> dict[UUID, int]:
    """New versions of several inspections, locked here in the push's order (sorted ids), so a concurrent push
    waits rather than deadlocks; ``{id: new version}`` for the ids that exist (a photo's evidence flags)."""
    asked = {str(i): i for i in ids}
    versions = {asked[str(row["id"])]: int(row["version"]) + 1 for row in await lock(sql, ids)}
    await write_versions(sql, [(version, i) for i, version in versions.items()])
    return versions
