"""Migration 0007: ``audit_log.row_hash`` is no longer UNIQUE (written by hand, reviewed).

The chain is checked by ``prev_hash`` links (``verify_chain``); nothing looks a row up by its hash. The unique
index on random digests made every audit insert touch a random index page: with a sync push writing one audit
row per mutation, that index cost more than the rest of the push's writes. SQLite cannot drop a constraint, so
the table is rebuilt with its rows (ids and hashes unchanged)."""

TABLES: dict[str, list[str]] = {}

POSTGRES: list[str] = ['ALTER TABLE "audit_log" DROP CONSTRAINT IF EXISTS "audit_log_row_hash_key"']

_COLUMNS = (
    '"id", "at", "user_id", "client_id", "action", "entity", "details", "hlc", "mutation_id", "prev_hash", '
    '"row_hash"'
)

SQLITE: list[str] = [
    'ALTER TABLE "audit_log" RENAME TO "audit_log_m0007"',
    'CREATE TABLE "audit_log" ("id" INTEGER PRIMARY KEY NOT NULL, "at" TIMESTAMPTZ NOT NULL DEFAULT '
    'current_timestamp, "user_id" VARCHAR(36) DEFAULT null, "client_id" VARCHAR(100) DEFAULT null, "action" '
    "VARCHAR(60) NOT NULL DEFAULT '', \"entity\" VARCHAR(200) NOT NULL DEFAULT '', \"details\" JSONB NOT NULL "
    'DEFAULT \'{}\', "hlc" VARCHAR(60) DEFAULT null, "mutation_id" VARCHAR(30) DEFAULT null, "prev_hash" '
    "VARCHAR(64) NOT NULL DEFAULT '', \"row_hash\" VARCHAR(64) NOT NULL DEFAULT '')",
    f'INSERT INTO "audit_log" ({_COLUMNS}) SELECT {_COLUMNS} FROM "audit_log_m0007"',  # noqa: S608
    'DROP TABLE "audit_log_m0007"',
]
