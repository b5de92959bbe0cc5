"""sync/lifecycle.py writes the inspection's version under its row lock: several at once (a photo's evidence
flags across inspections) in the push's order, each its own next version, an unknown id skipped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar

from backend.db import current_engine, write_tx
from backend.inspections.tables import Inspection
from sync import lifecycle
from sync.api import MoveRefused, bump_inspection
from sync.sql import Sql


async def versions() -> dict[Any, int]:
    return {row["id"]: row["version"] for row in await Inspection.select(Inspection.id, Inspection.version)}


async def test_bump_all_gives_each_inspection_its_next_version(app: Litestar, demo: dict[str, Any]) -> None:
    first, second = demo["self_inspections"][0], demo["self_inspections"][1]
    before = await versions()
    unknown = uuid.uuid4()
    async with write_tx():
        bumped = await lifecycle.bump_all(Sql(current_engine()), [second, unknown, first])
    assert bumped == {first: before[first] + 1, second: before[second] + 1}
    after = await versions()
    assert after == {**before, first: before[first] + 1, second: before[second] + 1}


async def test_bump_of_an_unknown_inspection_is_refused(app: Litestar, demo: dict[str, Any]) -> None:
    first = demo["self_inspections"][0]
    async with write_tx():
        assert await bump_inspection(current_engine(), first) == (await versions())[first]
    with pytest.raises(MoveRefused) as refused:
        async with write_tx():
            await bump_inspection(current_engine(), uuid.uuid4())
    assert refused.value.code == "inspection_not_found"
