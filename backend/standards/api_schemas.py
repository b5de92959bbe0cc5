"""Wire shapes of the standards HTTP API (the standard itself is ``schemas.Standard``)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class StandardSummary(msgspec.Struct, rename="camel", kw_only=True):
    id: str
    programme: str
    edition: str
    name: str
    scoring_mode: str
    status: str
    etag: str
    source: str
    published_at: datetime | None
