"""The audit log: append-only, each row hashed together with the previous row's hash."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from piccolo.engine.postgres import PostgresEngine

from backend.audit.tables import AuditLog
from backend.db import as_utc, current_engine

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


# Serialises appends on PostgreSQL so two transactions never chain onto the same previous row.
_PG_CHAIN_LOCK = 0x46434155  # "FCAU"


# Canonical JSON for the hash (sorted keys, no spaces, UTF-8); the stored ``details`` use the same encoder, so
# a value that is not plain JSON (a UUID, a datetime) hashes as the very string that is stored.
_canonical = msgspec.json.Encoder(order="sorted", enc_hook=str)


def changed_fields(data: msgspec.Struct) -> list[str]:
    """The fields a partial update (a struct whose unset fields are None) sets: the audit entry's ``fields``."""
    return sorted(f for f in data.__struct_fields__ if getattr(data, f) is not None)


def row_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical.encode(fields)).hexdigest()


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
    """Append one entry. Call inside the write transaction whose effects it describes."""
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        await engine.run_ddl(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")
    last = await AuditLog.select(AuditLog.row_hash).order_by(AuditLog.id, ascending=False).first()
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
            row_hash=row_digest(prev_hash, fields),
        )
    )


async def verify_chain() -> tuple[bool, int | None]:
    """Recompute every hash; returns (intact, id of the first bad row)."""
    prev = GENESIS
    for row in await AuditLog.select().order_by(AuditLog.id):
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
        if row["prev_hash"] != prev or row_digest(prev, fields) != row["row_hash"]:
            return False, int(row["id"])
        prev = row["row_hash"]
    return True, None


def _iso(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).isoformat()


async def record_many(entries: Sequence[AuditEntryLike]) -> None:
    """Append many entries in one statement, chained exactly as :func:`record` would chain them one by one.
    Call inside the write transaction whose effects they describe (sync pushes: one entry per mutation)."""
    if not entries:
        return
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("record_many runs inside the write transaction it describes")
    connection: Any = transaction.connection
    now = datetime.now(UTC)
    if isinstance(engine, PostgresEngine):
        await _append_pg(connection, entries, now)
        return
    found = await connection.execute_fetchall('SELECT "row_hash" FROM "audit_log" ORDER BY "id" DESC LIMIT 1')
    # SQLite: the very text Piccolo's datetime adapter would store, made once instead of once per row.
    rows = _chained(entries, found[0]["row_hash"] if found else GENESIS, now, str(now))
    # multi-row INSERTs (one statement step per chunk instead of one per row)
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[start : start + _SQLITE_CHUNK]
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        await connection.execute(
            f'INSERT INTO "audit_log" ({_COLUMNS}) VALUES {values}',  # noqa: S608
            [value for row in chunk for value in row],
        )


def _chained(
    entries: Sequence[AuditEntryLike], prev_hash: str, now: datetime, stored_at: datetime | str
) -> list[tuple[Any, ...]]:
    """The rows of ``entries``, each hashed onto the one before, the first onto ``prev_hash``."""
    at = now.isoformat()
    rows = []
    for entry in entries:
        mutation_id = None if entry.mutation_id is None else str(entry.mutation_id)
        fields: dict[str, Any] = {
            "at": at,
            "user_id": entry.user_id,
            "client_id": entry.client_id,
            "action": entry.action,
            "entity": entry.entity,
            "details": entry.details or {},
            "hlc": entry.hlc,
            "mutation_id": mutation_id,
        }
        row_hash = row_digest(prev_hash, fields)
        rows.append(
            (
                stored_at,
                entry.user_id,
                entry.client_id,
                entry.action,
                entry.entity,
                _details_json(fields["details"]),
                entry.hlc,
                mutation_id,
                prev_hash,
                row_hash,
            )
        )
        prev_hash = row_hash
    return rows


_COLUMNS = '"at", "user_id", "client_id", "action", "entity", "details", "hlc", "mutation_id", "prev_hash", "row_hash"'
_HEAD = 'SELECT "row_hash" FROM "audit_log" ORDER BY "id" DESC LIMIT 1'
# PostgreSQL: the chain's lock and its head in one round trip; the head is as of the statement's start, which
# may be before the lock was granted, so the insert (a later statement, under the lock) checks it again.
_PG_LOCK_AND_HEAD = f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK}), ({_HEAD}) AS head"
# one array per column (one statement text whatever the count: one prepared statement); ids follow the
# arrays' order; nothing is inserted unless the head is still $11
_PG_INSERT_ONTO = (
    f'INSERT INTO "audit_log" ({_COLUMNS}) SELECT * FROM unnest($1::timestamptz[], $2::varchar[], '  # noqa: S608
    "$3::varchar[], $4::varchar[], $5::varchar[], $6::jsonb[], $7::varchar[], $8::varchar[], $9::varchar[], "
    f"$10::varchar[]) WHERE ({_HEAD}) IS NOT DISTINCT FROM $11::varchar"
)


def chain_lock() -> tuple[str, list[Any]] | None:
    """PostgreSQL: the chain's lock as a statement to run with a transaction's writes (the sync push's), so
    that :func:`record_many` later finds it held: its read of the head is then current, never a retry."""
    if not isinstance(current_engine(), PostgresEngine):
        return None
    return f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})", []


async def _append_pg(connection: Any, entries: Sequence[AuditEntryLike], now: datetime) -> None:
    """Two round trips (lock and head, insert), three when another transaction appended between this
    statement's start and its lock (not when the caller took the lock before: :func:`chain_lock`)."""
    [row] = await connection.fetch(_PG_LOCK_AND_HEAD)
    head: str | None = row["head"]
    for _ in range(2):
        rows = _chained(entries, head or GENESIS, now, now)
        status = await connection.execute(_PG_INSERT_ONTO, *(list(c) for c in zip(*rows, strict=True)), head)
        if status != "INSERT 0 0":
            return
        # the head moved before the lock was granted; read under the lock, it holds until COMMIT
        last = await connection.fetchrow(_HEAD)
        head = last["row_hash"] if last else None
    raise RuntimeError("the audit chain's head moved under its lock")


# rows per SQLite INSERT: 10 parameters a row stays far below SQLITE_MAX_VARIABLE_NUMBER (32766)
_SQLITE_CHUNK = 500
