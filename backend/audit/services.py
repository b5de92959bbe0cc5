"""The audit log: append-only, each row hashed together with the previous row's hash in its chain.

The log is several chains (:func:`chain_for`): appends to one chain are serialised (PostgreSQL: the chain's
advisory lock, held until COMMIT; SQLite: its one writer), appends to two chains are not, so the pushes of a
deployment no longer queue on one lock. Each chain is verified on its own (:func:`verify_chain`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from piccolo.engine.postgres import PostgresEngine

from backend.audit.tables import AuditLog
from backend.db import as_utc, current_engine
from sync.api import numbered, rows_json, select_json_rows

GENESIS = "0" * 64


class AuditEntryLike(Protocol):
    """What :func:`record_many` reads from each entry (``sync.context.AuditEntry`` fits)."""

    @property
    def user_id(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def action(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def hlc(self) -> str | None: ...
    @property
    def mutation_id(self) -> int | None: ...


# PostgreSQL: pg_advisory_xact_lock(_PG_CHAIN_LOCK, chain) serialises the appends to one chain, so two
# transactions never chain onto the same previous row.
_PG_CHAIN_LOCK = 0x46434155  # "FCAU"
# Chain 0: entries of no client (an admin's, through record) and every row written before m0032; chains
# 1..CHAINS: a client's entries. 32: at 200 pushes a second a chain sees about 6, rarely two at once.
# Lock order: a transaction takes at most one client's chain, and chain 0 only after it (a push's submit that
# raises routine fixes: programme/fixes.py), never chain 0 first, so two transactions never wait for each other.
CHAINS = 32


def chain_for(client_id: str | None) -> int:
    """The chain a writer's entries extend: a stable hash of its client id (sha256, not Python's salted
    ``hash``, so every process and every restart picks the same chain)."""
    if client_id is None:
        return 0
    return 1 + int.from_bytes(hashlib.sha256(client_id.encode()).digest()[:4], "big") % CHAINS


# Canonical JSON for the hash (sorted keys, no spaces, UTF-8); the stored ``details`` use the same encoder, so
# a value that is not plain JSON (a UUID, a datetime) hashes as the very string that is stored.
_canonical = msgspec.json.Encoder(order="sorted", enc_hook=str)


def changed_fields(data: msgspec.Struct) -> list[str]:
    """The fields a partial update (a struct whose unset fields are None) sets: the audit entry's ``fields``."""
    return sorted(f for f in data.__struct_fields__ if getattr(data, f) is not None)


def row_digest(prev_hash: str, fields: dict[str, Any], chain: int = 0) -> str:
    """The row's hash. Its chain is hashed with it (a row moved to another chain shows), except chain 0's, so
    the rows written before there were chains keep their hashes."""
    hashed = fields if chain == 0 else {**fields, "chain": chain}
    return hashlib.sha256(prev_hash.encode() + _canonical.encode(hashed)).hexdigest()


def _details_json(details: dict[str, Any]) -> str:
    return _canonical.encode(details).decode()


async def record(
    *,
    user_id: str | None,
    action: str,
    entity: str,
    details: dict[str, Any] | None = None,
    client_id: str | None = None,
    hlc: str | None = None,
    mutation_id: int | None = None,
) -> None:
    """Append one entry (to the chain of ``client_id``, chain 0 without one). Call inside the write transaction
    whose effects it describes."""
    engine = current_engine()
    chain = chain_for(client_id)
    if isinstance(engine, PostgresEngine):
        await engine.run_ddl(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK}, {chain})")
    last = (
        await AuditLog.select(AuditLog.row_hash)
        .where(AuditLog.chain == chain)
        .order_by(AuditLog.id, ascending=False)
        .first()
    )
    prev_hash = last["row_hash"] if last else GENESIS
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "at": now.isoformat(),
        "user_id": user_id,
        "client_id": client_id,
        "action": action,
        "entity": entity,
        "details": details or {},
        "hlc": hlc,
        "mutation_id": None if mutation_id is None else str(mutation_id),
    }
    await AuditLog.insert(
        AuditLog(
            at=now,
            user_id=user_id,
            client_id=client_id,
            action=action,
            entity=entity,
            details=_details_json(fields["details"]),
            hlc=hlc,
            mutation_id=fields["mutation_id"],
            prev_hash=prev_hash,
            row_hash=row_digest(prev_hash, fields, chain),
            chain=chain,
        )
    )


async def verify_chain() -> tuple[bool, int | None]:
    """Recompute every hash of every chain; returns (intact, id of the first bad row of any chain)."""
    heads: dict[int, str] = {}
    for row in await AuditLog.select().order_by(AuditLog.id):
        chain = int(row["chain"])
        prev = heads.get(chain, GENESIS)
        details = row["details"]
        fields = {
            "at": _iso(row["at"]),
            "user_id": row["user_id"],
            "client_id": row["client_id"],
            "action": row["action"],
            "entity": row["entity"],
            "details": msgspec.json.decode(details) if isinstance(details, str) else details,
            "hlc": row["hlc"],
            "mutation_id": row["mutation_id"],
        }
        if row["prev_hash"] != prev or row_digest(prev, fields, chain) != row["row_hash"]:
            return False, int(row["id"])
        heads[chain] = row["row_hash"]
    return True, None


def _iso(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).isoformat()


async def record_many(entries: Sequence[AuditEntryLike], *, locked: bool = False) -> None:
    """Append many entries in one statement to the chain of the first entry's client, chained exactly as
    :func:`record` would chain them one by one. Call inside the write transaction whose effects they describe
    (sync pushes: one entry per mutation, all of one client). ``locked``: PostgreSQL, this transaction took
    that client's :func:`chain_lock` in an earlier statement (the sync push, in its write statement)."""
    if not entries:
        return
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("record_many runs inside the write transaction it describes")
    connection: Any = transaction.connection
    now = datetime.now(UTC)
    chain = chain_for(entries[0].client_id)
    if isinstance(engine, PostgresEngine):
        await _append_pg(connection, entries, now, chain, locked=locked)
        return
    found = await connection.execute_fetchall(
        'SELECT "row_hash" FROM "audit_log" WHERE "chain" = ? ORDER BY "id" DESC LIMIT 1', [chain]
    )
    # SQLite: the very text Piccolo's datetime adapter would store, made once instead of once per row.
    rows = _chained(entries, found[0]["row_hash"] if found else GENESIS, now, str(now), chain)
    # multi-row INSERTs (one statement step per chunk instead of one per row)
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[start : start + _SQLITE_CHUNK]
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        await connection.execute(
            f'INSERT INTO "audit_log" ({_COLUMNS}) VALUES {values}',  # noqa: S608
            [value for row in chunk for value in row],
        )


def _chained(
    entries: Sequence[AuditEntryLike], prev_hash: str, now: datetime, stored_at: datetime | str, chain: int
) -> list[tuple[Any, ...]]:
    """The rows of ``entries`` in ``chain``, each hashed onto the one before, the first onto ``prev_hash``."""
    at = now.isoformat()
    rows = []
    for entry in entries:
        mutation_id = None if entry.mutation_id is None else str(entry.mutation_id)
        # the stored text, hashed as it is (the same encoder: the bytes row_digest would make of the dict)
        details = _canonical.encode(entry.details or {})
        fields: dict[str, Any] = {
            "at": at,
            "user_id": entry.user_id,
            "client_id": entry.client_id,
            "action": entry.action,
            "entity": entry.entity,
            "details": msgspec.Raw(details),
            "hlc": entry.hlc,
            "mutation_id": mutation_id,
        }
        row_hash = row_digest(prev_hash, fields, chain)
        rows.append(
            (
                stored_at,
                entry.user_id,
                entry.client_id,
                entry.action,
                entry.entity,
                details.decode(),
                entry.hlc,
                mutation_id,
                prev_hash,
                row_hash,
                chain,
            )
        )
        prev_hash = row_hash
    return rows


_COLUMNS = (
    '"at", "user_id", "client_id", "action", "entity", "details", "hlc", "mutation_id", "prev_hash", "row_hash", '
    '"chain"'
)
# PostgreSQL: a chain's head (index on (chain, id), m0032); $1 is the chain
_HEAD = 'SELECT "row_hash" FROM "audit_log" WHERE "chain" = $1::integer ORDER BY "id" DESC LIMIT 1'
# the chain's lock and its head in one round trip; the head is as of the statement's start, which may be
# before the lock was granted, so the insert (a later statement, under the lock) checks it again
_PG_LOCK_AND_HEAD = f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK}, $1::integer), ({_HEAD}) AS head"
# the rows as one JSON parameter (one statement text whatever the count: one prepared statement); ids follow
# the rows' order. ``?`` placeholders: the rows, the chain, the head guessed. Nothing is inserted unless the
# chain's head is still the guess; either way the head it found comes back, so a wrong guess costs one more
# round trip, not two. A ``WITH`` query, so that the sync push can run it as the last part of its write
# statement (``sync.sql.Sql.fetch_together``).
_INSERT_ONTO = (
    'WITH "head" AS (SELECT "row_hash" FROM "audit_log" WHERE "chain" = ?::integer ORDER BY "id" DESC '  # noqa: S608
    f'LIMIT 1), "added" AS (INSERT INTO "audit_log" ({_COLUMNS}) SELECT * FROM ('
    + select_json_rows(
        [
            "timestamptz",
            "varchar",
            "varchar",
            "varchar",
            "varchar",
            "jsonb",
            "varchar",
            "varchar",
            "varchar",
            "varchar",
            "smallint",
        ]
    )
    + ') "rows" WHERE (SELECT "row_hash" FROM "head") IS NOT DISTINCT FROM ?::varchar RETURNING 1) '
    'SELECT (SELECT count(*) FROM "added") AS "added", (SELECT "row_hash" FROM "head") AS "head"'
)
_PG_INSERT_ONTO = numbered(_INSERT_ONTO)
# PostgreSQL: per engine (by id: Piccolo's engines take no weak reference), the head this process last appended
# to each chain (None: an empty chain), the guess a locked append starts from. Only a guess: the insert checks
# it under the lock, and another process's (or a rolled back) append, or an engine made where a dropped one
# was, makes it wrong, never the chain.
_last_appended: dict[int, dict[int, str | None]] = {}


def chain_lock(client_id: str) -> tuple[str, list[Any]] | None:
    """PostgreSQL: the lock of ``client_id``'s chain as an expression (``?`` placeholders) to evaluate in an
    earlier statement of the transaction (the sync push's first, after its row locks), so that
    :func:`record_many` (``locked=True``) or :func:`append_onto` later find it held and need no round trip of
    their own to take it. ``None`` on SQLite (one writer)."""
    if not isinstance(current_engine(), PostgresEngine):
        return None
    return f"pg_advisory_xact_lock({_PG_CHAIN_LOCK}, ?::integer)", [chain_for(client_id)]


class Appending:
    """PostgreSQL: :func:`record_many` (``locked=True``) as a statement for the caller to run (the sync push,
    as the last part of its write statement), then :meth:`finish` with the row it answered."""

    def __init__(self, entries: Sequence[AuditEntryLike]) -> None:
        self.entries = entries
        self.engine = current_engine()
        self.now = datetime.now(UTC)
        self.chain = chain_for(entries[0].client_id)
        self.head = _last_appended.get(id(self.engine), {}).get(self.chain)
        self.rows = _chained(entries, self.head or GENESIS, self.now, self.now, self.chain)
        self.statement: tuple[str, list[Any]] = (
            _INSERT_ONTO,
            [self.chain, rows_json(self.rows), self.head],
        )

    async def finish(self, found: Mapping[str, Any]) -> None:
        """The statement's row: the entries were appended, or (a wrong guess) are appended onto the real head."""
        if found["added"]:
            _last_appended.setdefault(id(self.engine), {})[self.chain] = self.rows[-1][9]
            return
        transaction = self.engine.current_transaction.get()
        if transaction is None:
            raise RuntimeError("an audit append finishes inside the write transaction it describes")
        await _append_pg(
            transaction.connection,
            self.entries,
            self.now,
            self.chain,
            locked=True,
            found_head=(found["head"],),
        )


def append_onto(entries: Sequence[AuditEntryLike]) -> Appending | None:
    """PostgreSQL, the chain's lock held (:func:`chain_lock`): :class:`Appending` for ``entries`` (all of one
    client). ``None`` on SQLite or without entries: the caller appends with :func:`record_many`."""
    if not entries or not isinstance(current_engine(), PostgresEngine):
        return None
    return Appending(entries)


async def _append_pg(
    connection: Any,
    entries: Sequence[AuditEntryLike],
    now: datetime,
    chain: int,
    *,
    locked: bool,
    found_head: tuple[str | None] | None = None,
) -> None:
    """Locked (the caller took the chain's lock in an earlier statement): one round trip, the insert onto
    the head this process last wrote (or ``found_head``'s, read under the lock), two when another wrote since.
    Else two (lock and head, insert), three when another transaction appended between that statement's start
    and its lock."""
    heads = _last_appended.setdefault(id(current_engine()), {})
    if not locked:
        [row] = await connection.fetch(_PG_LOCK_AND_HEAD, chain)
        head = row["head"]
    elif found_head is not None:
        [head] = found_head
    else:
        head = heads.get(chain)
    for _ in range(2):
        rows = _chained(entries, head or GENESIS, now, now, chain)
        found = await connection.fetchrow(_PG_INSERT_ONTO, chain, rows_json(rows), head)
        if found["added"]:
            heads[chain] = rows[-1][9]
            return
        # read under the lock (this statement began after it was granted): it holds until COMMIT
        head = found["head"]
    raise RuntimeError("the audit chain's head moved under its lock")


# rows per SQLite INSERT: 11 parameters a row stays far below SQLITE_MAX_VARIABLE_NUMBER (32766)
_SQLITE_CHUNK = 500
