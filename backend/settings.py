"""Settings: one frozen struct, read from ``FIELDCHECK_*`` variables only by :meth:`Settings.from_env`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

StorageKind = Literal["local", "s3"]
SpoolKind = Literal["local", "s3"]
PasswordHashing = Literal["argon2id", "argon2id-tests-only"]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: str = "data"
    # Empty means the embedded SQLite file ``<data_dir>/fieldcheck.sqlite``.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    storage: StorageKind = "local"
    # Where unfinished uploads live: "local" (the data dir's spool, one machine or a shared volume) or "s3"
    # (S3 multipart uploads in the storage bucket, so any app process serves any chunk; needs storage "s3").
    upload_spool: SpoolKind = "local"
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_bucket: str = "fieldcheck"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    # Origins the app is served from that may read photos straight from the bucket (signed GET URLs): set as the
    # bucket's CORS rule at start (docs/operations.md, Object storage). "*": any origin; the short-lived
    # signature, not the origin, is what grants access. Empty: the app leaves the bucket's CORS alone and only
    # checks it at start.
    s3_cors_origins: str = "*"
    # Signs local media URLs; generated into the data dir when empty.
    secret_key: str = ""
    token_ttl_seconds: int = 12 * 3600
    max_body_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 60_000_000
    sync_max_mutations: int = 500
    login_max_failures: int = 5
    login_lockout_seconds: int = 60
    # Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For is believed; empty: no
    # header is believed and the client is the socket's peer (docs/operations.md, Security).
    trusted_proxies: str = ""
    # Sends Strict-Transport-Security (seconds) when > 0: only for deployments served over TLS.
    hsts_seconds: int = 0
    demo: bool = False
    workers: bool = True
    # How long a worker holds a claimed media job; a crashed process's jobs are taken over after it.
    worker_lease_seconds: float = 120.0
    # The PWA's files; empty means ``pwa_static/`` beside the backend package.
    pwa_dir: str = ""
    # Comma-separated origins allowed to call the API from a browser (CORS); empty: same origin only.
    cors_origins: str = ""
    # Prints reports to PDF (headless, run by the export jobs); FIELDCHECK_CHROMIUM.
    chromium: str = "/usr/bin/chromium"
    # GET /metrics answers only with "Authorization: Bearer <this>"; empty: no metrics endpoint (404).
    metrics_token: str = ""
    # prometheus-client's multiprocess mode: every server process writes its samples here (an empty directory
    # per start; `fieldcheck serve --workers N` makes one when unset).
    metrics_dir: str = ""
    # "argon2id-tests-only" (argon2's minimum cost) is for the test suite; the server warns when it is on.
    password_hashing: PasswordHashing = "argon2id"  # noqa: S105 - a profile name

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def sqlite_path(self) -> Path:
        return self.data_path / "fieldcheck.sqlite"

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(origin.strip() for origin in self.cors_origins.split(",") if origin.strip())

    @property
    def s3_cors_origin_list(self) -> tuple[str, ...]:
        return tuple(origin.strip() for origin in self.s3_cors_origins.split(",") if origin.strip())

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            raw = env.get(f"FIELDCHECK_{field.name.upper()}")
            if raw is not None:
                values[field.name] = raw
        # strict=False lets "8000" become 8000 and "true" become True, with a clear error otherwise.
        return msgspec.convert(values, cls, strict=False)
