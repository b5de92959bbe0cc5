"""Process-wide start-up: what the entry points (``fieldcheck``, ``backend.asgi``) set before anything else."""

from __future__ import annotations

import logging
import os


def private_files() -> None:
    """Everything this process creates (database, photos, spool, exports, backups, keys) is the service's
    alone: files 0600, directories 0700 (docs/operations.md, Security)."""
    os.umask(0o077)


class RedactQuery(logging.Filter):
    """Drops the query string from uvicorn's access log lines: signed media URLs carry their signature there
    (``?exp=…&sig=…``), and a log is read by more people than the photos are meant for."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?[redacted]", *args[3:])
        return True


def redact_access_log() -> None:
    logging.getLogger("uvicorn.access").addFilter(RedactQuery())
