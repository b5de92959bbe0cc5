"""PostgreSQL: what an inspector's device cycle asks the database (issue 23, docs/benchmarks.md (h)). Each round
trip costs this process a send, a receive and a turn of the loop, more CPU than most of the statements' own
work, so the pull reads the scope, the inspections, what changed, the answers and the client ids in one statement, and the
push makes its client row and locks its inspections and its audit chain in the statement that reads the scope,
and appends its audit entries in the statement of its writes. Counted, not timed:
asyncpg's calls on the connection while one push and the pull after it run. The bearer token is checked in the
push's first statement and in the pull's one statement, so a token whose cache entry went stale (a device's
next cycle, 10 s later) costs no lookup of its own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asyncpg.connection import Connection

from backend.accounts import services
from tests.backend.sync_api.sync_support import Devices, push_body, set_answer


class RoundTrips:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("_execute", "_executemany", "execute"):
            monkeypatch.setattr(Connection, name, self._counted(getattr(Connection, name), name == "execute"))

    def _counted(self, original: Any, simple_only: bool) -> Any:
        async def counted(connection: Any, *args: Any, **kwargs: Any) -> Any:
            # execute with arguments goes through _execute (counted there); without, it is one simple query
            if not simple_only or len(args) == 1:
                self.count += 1
            return await original(connection, *args, **kwargs)

        return counted

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


# stale: the token's cache entry is stale at every request (as at a device's next cycle, 10 s on)
@pytest.mark.parametrize("stale", [False, True], ids=["cached", "stale"])
@pytest.mark.parametrize("db_kind", ["postgres"])
async def test_an_inspectors_push_and_pull_take_six_round_trips(
    client: httpx.AsyncClient,
    demo: dict[str, Any],
    db_kind: str,
    monkeypatch: pytest.MonkeyPatch,
    stale: bool,
) -> None:
    if stale:
        monkeypatch.setattr(services, "TOKEN_CACHE_SECONDS", 0.0)
    expert = await Devices(client).auth("inspector1")
    inspection = demo["review_inspection"]
    pull = {"protocolVersion": 1, "clientGroupId": "g-trips"}
    # the token and the standard's rules cached, as in a device's steady cycle
    warm = await client.post(
        "/api/sync/push",
        content=push_body("c-trips", [set_answer(1, inspection, "1.2.1", "A")], group="g-trips"),
        headers=expert,
    )
    assert warm.status_code == 200, warm.text
    first = await client.post("/api/sync/pull", json=pull, headers=expert)
    assert first.status_code == 200, first.text
    trips = RoundTrips(monkeypatch)

    pushed = await client.post(
        "/api/sync/push",
        content=push_body("c-trips", [set_answer(2, inspection, "1.1.1", "A")], group="g-trips"),
        headers=expert,
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["results"][0]["status"] == "applied"
    push_trips = trips.take()
    pulled = await client.post(
        "/api/sync/pull", json=pull | {"cookie": first.json()["cookie"]}, headers=expert
    )
    pull_trips = trips.take()

    page = pulled.json()
    assert page["reset"] is False
    assert page["lastMutationIds"] == {"c-trips": 2}
    assert [op["value"]["value"] for op in page["patch"] if op["key"].endswith("/1.1.1/value")] == ["A"]
    # BEGIN, scope + client row + inspection locks + the client's audit chain lock, registers, the writes with
    # the audit insert onto the head this process last wrote to that chain (the warm push wrote it), COMMIT
    assert push_trips <= 5
    # scope, inspections, what changed, the answers and the client ids
    assert pull_trips <= 1
