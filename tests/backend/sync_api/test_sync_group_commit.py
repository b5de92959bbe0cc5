"""Concurrent pushes: on SQLite they share one transaction (group commit), each in its own savepoint."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from backend.audit.services import verify_chain
from backend.db import fetch
from tests.backend.sync_api.sync_support import GRADED_ITEMS, Devices, push_body, set_answer

pytestmark = pytest.mark.usefixtures("demo")


async def test_concurrent_pushes_commit_alone_or_together_and_a_bad_one_rolls_back_alone(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    headers = await Devices(client).auth("inspector1")
    inspection = demo["review_inspection"]

    def good(n: int) -> bytes:
        item = GRADED_ITEMS[n % len(GRADED_ITEMS)]
        return push_body(f"ok-{n}", [set_answer(m, inspection, item, "ABCD"[m % 4]) for m in range(1, 4)])

    # A new client whose first id is 2: refused as a whole, including the client row it inserted first.
    gap = push_body("gap", [set_answer(2, inspection, "1.1.1", "A")])
    bodies = [good(n) for n in range(4)] + [gap] + [good(n) for n in range(4, 8)]
    answers = await asyncio.gather(
        *(client.post("/api/sync/push", content=b, headers=headers) for b in bodies)
    )
    assert [a.status_code for a in answers] == [200] * 4 + [409] + [200] * 4
    assert answers[4].json()["code"] == "mutation_gap"
    for answer in answers[:4] + answers[5:]:
        body = answer.json()
        assert body["lastMutationId"] == 3
        assert [r["status"] for r in body["results"]] != []
    clients = {r["client_id"]: r["last_mutation_id"] for r in await fetch('SELECT * FROM "sync_client"')}
    assert "gap" not in clients
    assert {f"ok-{n}": 3 for n in range(8)}.items() <= clients.items()
    audit = await fetch("SELECT client_id FROM audit_log WHERE action LIKE 'sync.%'")
    assert sorted(r["client_id"] for r in audit) == sorted(f"ok-{n}" for n in range(8) for _ in range(3))
    assert await verify_chain() == (True, None)
    # Versions of the inspection were handed out once each, in commit order.
    versions = [r["version"] for r in await fetch('SELECT "version" FROM "answer_register"')]
    assert len(versions) == len(set(versions))
    # A retry of every push (the gap one included) changes nothing and answers the same.
    again = await asyncio.gather(*(client.post("/api/sync/push", content=b, headers=headers) for b in bodies))
    assert [a.status_code for a in again] == [a.status_code for a in answers]
    assert [a.json() for a in again[:4] + again[5:]] == [a.json() for a in answers[:4] + answers[5:]]
