"""The ``sync_client`` row of a push: locked first (so one client's pushes run one at a time), its
``lastMutationId`` and the window of recent results that lets a retried push get the very same answer."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from sync.context import Caller, CallerCheck
from sync.errors import ClientGroupMismatch, ClientNotYours
from sync.mutations import MutationResult
from sync.protocol import ClientState
from sync.sql import Sql, Statement, as_uuid

# The window is kept raw: a push only appends to it; results are decoded only for a replay.
_window_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_result_decoder = msgspec.json.Decoder(MutationResult)
_enc = msgspec.json.Encoder()

# The stored window is compressed ("z:" + base64 of zlib): 1000 results are ~50 KB of JSON rewritten by every
# push, but compress ~10x (they repeat the same few shapes). A plain JSON list (older rows) still reads.
WINDOW_PREFIX = "z:"


def load_window(stored: str) -> list[msgspec.Raw]:
    if stored.startswith(WINDOW_PREFIX):
        return _window_decoder.decode(zlib.decompress(base64.b64decode(stored[len(WINDOW_PREFIX) :])))
    return _window_decoder.decode(stored)


def dump_window(window: list[msgspec.Raw]) -> str:
    return WINDOW_PREFIX + base64.b64encode(zlib.compress(_enc.encode(window), 1)).decode()


def replayed(window: list[msgspec.Raw], last: int, ids: list[int]) -> list[MutationResult]:
    """The stored results of the ids already consumed; the window holds ids (last - len, last]."""
    first_kept = last - len(window) + 1
    return [_result_decoder.decode(window[i - first_kept]) for i in ids if first_kept <= i <= last]


def appended(window: list[msgspec.Raw], results: list[MutationResult], size: int) -> list[msgspec.Raw]:
    return [*window, *(msgspec.Raw(_enc.encode(r)) for r in results)][-size:]


def client_upsert(client_id: str, group_id: str, user_id: UUID) -> Statement:
    """Make and lock the client's row, returning it: the upsert's DO UPDATE (a no-op) locks the row as FOR
    UPDATE would, and RETURNING gives its latest committed version (PostgreSQL waits for a concurrent push of
    this client and then sees its row; SQLite's BEGIN IMMEDIATE already holds the one write lock)."""
    return (
        'INSERT INTO "sync_client" ("client_id", "client_group_id", "user_id", "last_mutation_id", '
        '"recent_results", "updated_at") VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT ("client_id") DO UPDATE SET '
        '"updated_at" = "sync_client"."updated_at" '
        'RETURNING "client_group_id", "user_id", "last_mutation_id", "recent_results"',
        [client_id, group_id, user_id, "[]", datetime.now(UTC)],
    )


def client_state(
    row: Mapping[str, Any], client_id: str, group_id: str, caller: Caller
) -> tuple[int, list[msgspec.Raw]]:
    """The locked row's last mutation id and window of recent results, once it is the caller's own."""
    if as_uuid(row["user_id"]) != caller.user_id:
        raise ClientNotYours(f"client {client_id} belongs to another user")
    if row["client_group_id"] != group_id:
        raise ClientGroupMismatch(f"client {client_id} belongs to another client group")
    return int(row["last_mutation_id"]), load_window(row["recent_results"])


async def lock_client(
    sql: Sql, client_id: str, group_id: str, caller: Caller, check: CallerCheck | None = None
) -> tuple[int, list[msgspec.Raw]]:
    """Lock (make) the client's row (one statement): its last mutation id and its window of recent results.
    ``check``: the host's check of the caller's credential, returned by the same statement and settled first
    (refused: the transaction or savepoint rolls back, the upsert with it)."""
    upsert, args = client_upsert(client_id, group_id, caller.user_id)
    if check is not None:
        upsert, args = f"{upsert}, {check.column}", [*args, *check.args]
    rows = await sql.fetch(upsert, args)
    if check is not None:
        check.settle(rows[0]["check"])
    return client_state(rows[0], client_id, group_id, caller)


def client_update(
    client_id: str,
    last: int,
    window: list[msgspec.Raw],
    state: ClientState | None = None,
    sent: int = 0,
) -> Statement:
    """The statement that stores the client's last mutation id and result window; with ``state``, the queue
    the device reported, as it stands once this push (``sent`` mutations) is taken, and when. Run by
    :func:`sync.push.write.write` with the push's rows (on PostgreSQL in the same statement)."""
    now = datetime.now(UTC)
    if state is None:
        return (
            'UPDATE "sync_client" SET "last_mutation_id" = ?, "recent_results" = ?, "updated_at" = ? '
            'WHERE "client_id" = ?',
            [last, dump_window(window), now, client_id],
        )
    return (
        'UPDATE "sync_client" SET "last_mutation_id" = ?, "recent_results" = ?, "updated_at" = ?, '
        '"app_version" = ?, "queued_mutations" = ?, "queued_photos" = ?, "queued_bytes" = ?, "state_at" = ?, '
        '"device_name" = COALESCE(?, "device_name") WHERE "client_id" = ?',
        [
            last,
            dump_window(window),
            now,
            state.app_version,
            max(0, state.queued_mutations - sent),
            state.queued_photos,
            state.queued_bytes,
            now,
            state.device_name,
            client_id,
        ],
    )
