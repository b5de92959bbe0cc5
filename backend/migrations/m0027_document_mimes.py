"""Migration 0027: document_mimes (written by hand: make_migration.py leaves changed columns to the reviewer).

Documents as evidence: the OOXML media types are up to 71 characters
(``application/vnd.openxmlformats-officedocument.wordprocessingml.document``), longer than the 40 the mime
columns had. Widening a VARCHAR is additive (every stored value still fits) and PostgreSQL does it without a
rewrite. SQLite does not enforce VARCHAR lengths, so it has nothing to do."""

TABLES: dict[str, list[str]] = {}

POSTGRES: list[str] = [
    'ALTER TABLE "photo" ALTER COLUMN "mime" TYPE VARCHAR(100)',
    'ALTER TABLE "media_blob" ALTER COLUMN "mime" TYPE VARCHAR(100)',
    'ALTER TABLE "media_upload" ALTER COLUMN "mime" TYPE VARCHAR(100)',
]

SQLITE: list[str] = []
