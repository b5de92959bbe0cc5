"""Set-ups several database tests need: new inspections in progress, and a transaction held open while another
one runs into its lock."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any
from uuid import UUID

import pytest

from backend.db import fetch, write_tx
from backend.inspections.tables import Inspection, InspectionMember


async def new_inspections(demo: dict[str, Any], count: int, *, members: Collection[UUID] = ()) -> list[UUID]:
    """``count`` county inspections in progress of the demo's first facility on the township standard, each with
    ``members`` on its team, written in one transaction on the bound engine."""
    ids = []
    async with write_tx():
        for _ in range(count):
            row = Inspection(
                facility=demo["facilities"][0],
                round=demo["round"],
                stage="county",
                standard_version_id="cn-thc-capacity-2018",
                status="in_progress",
            )
            await row.save()
            ids.append(row.id)
            for user in members:
                await InspectionMember(inspection=row.id, user=user).save()
    return ids


class HeldOpen:
    """A transaction the test holds open: the code inside it awaits :meth:`hold` at the point to hold (its locks
    taken), the test awaits :meth:`holding`, lets others run into those locks, then calls :meth:`release`."""

    def __init__(self) -> None:
        self._holding = asyncio.Event()
        self._release = asyncio.Event()

    async def hold(self) -> None:
        self._holding.set()
        await self._release.wait()

    async def holding(self) -> None:
        await asyncio.wait_for(self._holding.wait(), 30)

    def release(self) -> None:
        self._release.set()


async def until_an_advisory_lock_waits(what: str) -> None:
    """Return once a transaction waits for an advisory lock (PostgreSQL's ``pg_locks``); fail the test, saying
    ``what`` never waited, after about 5 s."""
    for _ in range(500):
        waiting = await fetch(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        if waiting[0]["n"]:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"{what} never waited for the lock")
