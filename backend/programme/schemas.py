"""Wire shapes of samples, returns and opinions (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Opinion = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class _In(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    pass


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class DrawSampleRequest(_In):
    level: Literal["city", "province"]
    tier: Annotated[str, msgspec.Meta(min_length=1, max_length=30)] = "basic"
    # the region drawn over (admin only; an office draws over its own region)
    region_id: UUID | None = None
    # given to reproduce a draw; otherwise a random one is made and recorded
    seed: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class DrawnFacility(_Out):
    facility_id: UUID
    name: str
    drawn: bool


class StratumOut(_Out):
    county_id: UUID
    county_name: str
    pool_size: int
    drawn_count: int
    facilities: list[DrawnFacility]
    why: str


class SampleOut(_Out):
    id: UUID
    round_id: UUID
    level: str
    region_id: UUID
    tier: str
    ratio: float
    seed: str
    pool_size: int
    drawn_count: int
    strata: list[StratumOut]
    in_use: bool
    drawn_by: UUID
    drawn_at: datetime
    explanation: str


class ReturnRequest(_In):
    opinion: Opinion


class OpinionOut(_Out):
    id: UUID
    facility_id: UUID
    round_id: UUID
    application_id: UUID | None
    inspection_id: UUID | None
    stage: str | None
    opinion: str
    returned_by_name: str
    returned_at: datetime
