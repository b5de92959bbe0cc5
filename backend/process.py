"""Process-wide start-up: what the entry points (``fieldcheck``, ``backend.asgi``) set before anything else."""

from __future__ import annotations

import os


def private_files() -> None:
    """Everything this process creates (database, photos, spool, exports, backups, keys) is the service's
    alone: files 0600, directories 0700 (docs/operations.md, Security)."""
    os.umask(0o077)
