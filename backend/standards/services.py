"""Stored standards: import (validated), publish (immutable), list, get as one cacheable bundle."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, NotFound, RuleRefused
from backend.standards.api_schemas import StandardSummary
from backend.standards.loader import load_shipped, parse_standard, shipped_names
from backend.standards.problems import StandardValidationError
from backend.standards.schemas import Standard
from backend.standards.tables import StandardVersion

_cache: dict[tuple[str, str], Standard] = {}


def canonical_body(standard: Standard) -> bytes:
    return msgspec.json.encode(standard)


def _summary(row: dict[str, Any]) -> StandardSummary:
    return StandardSummary(
        id=row["id"],
        programme=row["programme"],
        edition=row["edition"],
        name=row["name"],
        scoring_mode=row["scoring_mode"],
        status=row["status"],
        etag=row["etag"],
        source=row["source"],
        published_at=row["published_at"],
    )


def parse_or_422(raw: bytes) -> Standard:
    try:
        return parse_standard(raw)
    except StandardValidationError as error:
        raise RuleRefused(
            f"the standard was refused: {error}",
            code="invalid_standard",
            problems=[{"path": p.path, "message": p.message} for p in error.problems],
        ) from None


async def save_standard(
    *, standard: Standard, actor_id: str | None, publish: bool, source: str = "import"
) -> StandardSummary:
    """Store a validated standard as a draft (replacing an earlier draft with that id), or publish it."""
    body = canonical_body(standard)
    etag = hashlib.sha256(body).hexdigest()
    now = datetime.now(UTC)
    async with write_tx():
        existing = (
            await StandardVersion.select(StandardVersion.status, StandardVersion.etag)
            .where(StandardVersion.id == standard.id)
            .first()
        )
        if existing and existing["status"] == "published":
            raise Conflict(
                f"standard {standard.id} is published and cannot change; import the new edition under a new id",
                code="standard_published",
            )
        values: dict[Any, Any] = {
            StandardVersion.programme: standard.programme,
            StandardVersion.edition: standard.edition,
            StandardVersion.name: standard.name,
            StandardVersion.scoring_mode: str(standard.scoring.__struct_config__.tag),
            StandardVersion.body: body.decode(),
            StandardVersion.etag: etag,
            StandardVersion.source: source,
            StandardVersion.status: "published" if publish else "draft",
            StandardVersion.published_at: now if publish else None,
        }
        if existing:
            await StandardVersion.update(values).where(StandardVersion.id == standard.id)
        else:
            await StandardVersion.insert(
                StandardVersion(
                    id=standard.id, created_by=actor_id, **{c._meta.name: v for c, v in values.items()}
                )
            )
        await record(
            user_id=actor_id,
            action="standard.publish" if publish else "standard.import",
            entity=f"standard/{standard.id}",
            details={"etag": etag, "source": source},
        )
    return await get_summary(standard_id=standard.id)


async def publish_standard(*, standard_id: str, actor_id: str) -> StandardSummary:
    async with write_tx():
        row = (
            await StandardVersion.select(StandardVersion.status)
            .where(StandardVersion.id == standard_id)
            .first()
        )
        if row is None:
            raise NotFound(f"standard {standard_id} does not exist")
        if row["status"] == "published":
            raise Conflict(f"standard {standard_id} is already published", code="standard_published")
        await StandardVersion.update(
            {StandardVersion.status: "published", StandardVersion.published_at: datetime.now(UTC)}
        ).where(StandardVersion.id == standard_id)
        await record(user_id=actor_id, action="standard.publish", entity=f"standard/{standard_id}")
    return await get_summary(standard_id=standard_id)


async def list_standards(*, include_drafts: bool) -> list[StandardSummary]:
    query = StandardVersion.select(*[c for c in StandardVersion._meta.columns if c._meta.name != "body"])
    if not include_drafts:
        query = query.where(StandardVersion.status == "published")
    return [_summary(row) for row in await query.order_by(StandardVersion.id)]


async def get_summary(*, standard_id: str) -> StandardSummary:
    row = (
        await StandardVersion.select(*[c for c in StandardVersion._meta.columns if c._meta.name != "body"])
        .where(StandardVersion.id == standard_id)
        .first()
    )
    if row is None:
        raise NotFound(f"standard {standard_id} does not exist")
    return _summary(row)


async def get_bundle(*, standard_id: str, include_drafts: bool) -> tuple[str, str]:
    """(etag, body JSON) of one version; drafts only for those who may see them."""
    row = (
        await StandardVersion.select(StandardVersion.body, StandardVersion.etag, StandardVersion.status)
        .where(StandardVersion.id == standard_id)
        .first()
    )
    if row is None or (row["status"] != "published" and not include_drafts):
        raise NotFound(f"standard {standard_id} does not exist")
    return row["etag"], row["body"]


async def get_standard(*, standard_id: str) -> Standard:
    """The parsed standard, cached by content hash (published versions never change)."""
    row = (
        await StandardVersion.select(StandardVersion.body, StandardVersion.etag)
        .where(StandardVersion.id == standard_id)
        .first()
    )
    if row is None:
        raise NotFound(f"standard {standard_id} does not exist")
    key = (standard_id, row["etag"])
    if key not in _cache:
        _cache[key] = parse_standard(row["body"])
    return _cache[key]


async def install_shipped_standards() -> list[str]:
    """Publish every standard shipped in ``backend/standards/data`` that the database does not have yet."""
    have = {row["id"] for row in await StandardVersion.select(StandardVersion.id)}
    installed = []
    for name in shipped_names():
        standard = load_shipped(name)
        if standard.id not in have:
            await save_standard(standard=standard, actor_id=None, publish=True, source="shipped")
            installed.append(standard.id)
    return installed
