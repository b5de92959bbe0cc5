"""Set-based SQL on the connection of the current Piccolo transaction (SQLite via aiosqlite, PostgreSQL via
asyncpg). One ORM call per mutation is far too slow for push ingest; these helpers run prepared statements
and ``executemany`` on the transaction's own connection. SQL is written with ``?`` placeholders."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

_PLACEHOLDER = re.compile(r"\?")

# A statement and its arguments (``?`` placeholders), for :meth:`Sql.execute_together`.
Statement = tuple[str, list[Any]]


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1``, ``$2``, … (asyncpg's)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


class Sql:
    """Runs statements on the connection of ``engine``'s current transaction."""

    def __init__(self, engine: Engine[Any]) -> None:
        self.postgres = isinstance(engine, PostgresEngine)
        transaction = engine.current_transaction.get()
        if transaction is None:
            raise RuntimeError("sync SQL runs inside a transaction")
        self.connection: Any = transaction.connection

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column IN (...)`` for a list of values (never empty: callers skip empty lists)."""
        if self.postgres:
            return f"{column} = ANY(?)", [list(values)]
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    async def fetch_in(self, select: str, column: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        """``select`` (up to its FROM) ``WHERE column IN values`` (never empty: callers skip empty lists)."""
        cond, args = self.in_list(column, values)
        return await self.fetch(f"{select} WHERE {cond}", args)

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self.postgres:
            records = await self.connection.fetch(numbered(sql), *args)
            return [dict(r) for r in records]
        # one hop to aiosqlite's thread (execute + fetchall there), not three (execute, fetchall, close)
        rows: list[dict[str, Any]] = list(await self.connection.execute_fetchall(sql, list(args)))
        return rows

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        if self.postgres:
            await self.connection.execute(numbered(sql), *args)
        else:
            await self.connection.execute(sql, list(args))

    async def execute_together(self, statements: Sequence[Statement]) -> None:
        """PostgreSQL: data-modifying statements whose results nobody reads, in one round trip (one statement:
        the first ones as ``WITH`` queries of the last). They run on one snapshot and none sees the others'
        changes, so no two may touch the same table's rows. Every round trip costs the client a send, a
        receive and a turn of the loop, more CPU than such a statement's own work."""
        if statements:
            await self.execute(*_together(self.postgres, statements))

    async def fetch_together(self, statements: Sequence[Statement]) -> list[dict[str, Any]]:
        """:meth:`execute_together`, answering the rows of the last statement (which may be a ``WITH`` query
        itself: its ``WITH`` queries join the others)."""
        return await self.fetch(*_together(self.postgres, statements))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.postgres:
            await self.connection.executemany(numbered(sql), rows)
        else:
            await self.connection.executemany(sql, rows)


# PostgreSQL: many rows as one parameter, a JSON array of arrays (one ``msgspec`` call in C), instead of one
# array per column: asyncpg encodes an array element by element, with several ``isinstance`` checks against
# ``collections.abc`` each (about 600 per device cycle, 7 % of its CPU, when the push's rows went as arrays).
_rows_encoder = msgspec.json.Encoder()


def rows_json(rows: Iterable[Sequence[Any]]) -> str:
    """The rows for :func:`select_json_rows`' parameter (UUIDs and datetimes as their ISO text)."""
    return _rows_encoder.encode(list(rows)).decode()


def select_json_rows(types: Sequence[str], param: str = "?") -> str:
    """``SELECT`` of the rows of :func:`rows_json` given as ``param`` (``?`` or ``$n``), one column of each SQL
    type in ``types`` in order, the rows in the order given (``INSERT … SELECT`` gives serial ids in it)."""
    columns = ", ".join(f"(e.r->>{n})::{t}" for n, t in enumerate(types))
    return (
        f"SELECT {columns} FROM jsonb_array_elements({param}::jsonb) WITH ORDINALITY AS e(r, n) "  # noqa: S608
        "ORDER BY e.n"
    )


def _together(postgres: bool, statements: Sequence[Statement]) -> Statement:
    if not postgres:
        raise RuntimeError("statements together are PostgreSQL's (SQLite runs them one by one)")
    *first, (last, _) = statements
    if not first:
        return last, list(statements[0][1])
    withs = ", ".join(f"w{n} AS ({text})" for n, (text, _) in enumerate(first))
    # the last statement's own WITH queries follow the others' (its arguments come last, as its text does)
    joined = f"WITH {withs}, {last[5:]}" if last.startswith("WITH ") else f"WITH {withs} {last}"
    return joined, [v for _, args in statements for v in args]


def as_uuid(value: Any) -> UUID:
    """A UUID column as the drivers hand it back (asyncpg: ``UUID``; SQLite: text)."""
    return value if isinstance(value, UUID) else UUID(str(value))


def opt_uuid(value: Any) -> UUID | None:
    return None if value is None else as_uuid(value)


def is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
