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
    postgres = isinstance(engine, PostgresEngine)
    if postgres:
        await connection.execute(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")
        last = await connection.fetchrow('SELECT "row_hash" FROM "audit_log" ORDER BY "id" DESC LIMIT 1')
    else:
        found = await connection.execute_fetchall(
            'SELECT "row_hash" FROM "audit_log" ORDER BY "id" DESC LIMIT 1'
        )
        last = found[0] if found else None
    prev_hash = last["row_hash"] if last else GENESIS
    now = datetime.now(UTC)
    at = now.isoformat()
    # SQLite: the very text Piccolo's datetime adapter would store, made once instead of once per row.
    stored_at: datetime | str = now if postgres else str(now)
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
        details = _details_json(fields["details"])
        rows.append(
            (
                stored_at,
                entry.user_id,
                entry.client_id,
                entry.action,
                entry.entity,
                details,
                entry.hlc,
                mutation_id,
                prev_hash,
                row_hash,
            )
        )
        prev_hash = row_hash
    sql = (
        'INSERT INTO "audit_log" ("at", "user_id", "client_id", "action", "entity", "details", "hlc", '
        '"mutation_id", "prev_hash", "row_hash") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
    )
    if postgres:
        await connection.executemany(sql.replace("?", "{}").format(*(f"${n}" for n in range(1, 11))), rows)
        return
    # SQLite: multi-row INSERTs (one statement step per chunk instead of one per row)
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[start : start + _SQLITE_CHUNK]
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        await connection.execute(
            sql.removesuffix("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") + values,
            [value for row in chunk for value in row],
        )


# rows per SQLite INSERT: 10 parameters a row stays far below SQLITE_MAX_VARIABLE_NUMBER (32766)
_SQLITE_CHUNK = 500
