"""Stateful property test: 2–5 devices edit shared inspections offline, push, pull and lose requests (before
and after the server commits), in random interleavings. After a final sync every device equals the server,
every mutation was consumed exactly once and its acknowledged effect is in the final state, each concurrent
different value is exactly one conflict, and a device's own sequential edits never conflict.
Runs on SQLite and PostgreSQL (the ``app`` fixture is parametrized over both)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import httpx
import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from litestar import Litestar

from backend.db import fetch
from sync.client import HttpxTransport, SyncClient, TransportError
from sync.mutations import AddNote, AddPhoto, EditNote, Mutation, RemovePhoto, ResolveConflict, SetAnswer
from sync.policy import same_value
from sync.protocol import PushResponse
from tests.backend.support import new_inspections
from tests.backend.sync_api.sync_support import sha

ITEMS = ["1.1.1", "1.2.1", "1.2.2"]
GRADES = ["A", "B", "C", "D"]


class FlakyTransport:
    """Loses the next request before it reaches the server, or its answer after the server committed."""

    def __init__(self, inner: HttpxTransport) -> None:
        self.inner = inner
        self.lose: str | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        lose, self.lose = self.lose, None
        if lose == "before":
            raise TransportError("lost before the server")
        answer = await self.inner.post(path, body)
        if lose == "after":
            raise TransportError("answer lost after the server committed")
        return answer


def run_machine(app: Litestar, demo: dict[str, Any], max_examples: int) -> None:
    loop = asyncio.new_event_loop()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    tokens: dict[str, dict[str, str]] = {}
    for n in range(1, 6):
        response = loop.run_until_complete(
            http.post("/api/auth/login", json={"username": f"inspector{n}", "password": "demo"})
        )
        tokens[f"inspector{n}"] = {"Authorization": f"Bearer {response.json()['token']}"}
    users = demo["inspectors"][:5]

    class Devices(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.devices: list[SyncClient] = []
            self.transports: list[FlakyTransport] = []
            self.inspections: list[uuid.UUID] = []
            self.sent: dict[tuple[str, int], Mutation] = {}
            self.photo_serial = 0
            self.mine: set[str] = set()

        def run(self, coro: Any) -> Any:
            return loop.run_until_complete(coro)

        @initialize(count=st.integers(2, 5), shared=st.integers(1, 2))
        def setup(self, count: int, shared: int) -> None:
            self.inspections = self.run(new_inspections(demo, shared, members=users))
            # the users also see inspections of earlier examples: draws only look at this example's
            self.mine = {str(i) for i in self.inspections}
            for n in range(count):
                transport = FlakyTransport(HttpxTransport(http, tokens[f"inspector{n + 1}"]))
                self.transports.append(transport)
                self.devices.append(SyncClient(transport, max_batch=7))
            for device in self.devices:
                self.run(device.pull())

        def _track(self, device: SyncClient) -> None:
            for m in device.pending:
                self.sent[(device.client_id, m.id)] = m

        @rule(data=st.data())
        def edit(self, data: st.DataObject) -> None:
            device = data.draw(st.sampled_from(self.devices))
            device.set_answer(
                data.draw(st.sampled_from(self.inspections)),
                data.draw(st.sampled_from(ITEMS)),
                "value",
                data.draw(st.sampled_from(GRADES)),
            )
            self._track(device)

        @rule(data=st.data())
        def note(self, data: st.DataObject) -> None:
            # Every draw happens whatever the state, so a replayed example draws the same way (ids are random).
            device = data.draw(st.sampled_from(self.devices))
            edit, pick = data.draw(st.booleans()), data.draw(st.integers(0, 1000))
            inspection, item = data.draw(st.sampled_from(self.inspections)), data.draw(st.sampled_from(ITEMS))
            text = data.draw(st.text(max_size=5))
            mine = sorted(
                k.removeprefix("note/")
                for k, v in device.view().items()
                if k.startswith("note/")
                and v.get("authorId") in (None, str(self._user(device)))
                and v["inspectionId"] in self.mine
            )
            if mine and edit:
                device.edit_note(uuid.UUID(mine[pick % len(mine)]), text)
            else:
                device.add_note(inspection, item, "n")
            self._track(device)

        def _user(self, device: SyncClient) -> uuid.UUID:
            return users[self.devices.index(device)]

        @rule(data=st.data())
        def photo(self, data: st.DataObject) -> None:
            device = data.draw(st.sampled_from(self.devices))
            remove, pick = data.draw(st.booleans()), data.draw(st.integers(0, 1000))
            inspection, item = data.draw(st.sampled_from(self.inspections)), data.draw(st.sampled_from(ITEMS))
            known = sorted(
                k.removeprefix("photo/")
                for k, v in device.store.items()
                if k.startswith("photo/") and v["inspectionId"] in self.mine
            )
            if known and remove:
                device.remove_photo(uuid.UUID(known[pick % len(known)]))
            else:
                self.photo_serial += 1
                device.add_photo(inspection, item, sha(self.photo_serial), 100)
            self._track(device)

        @rule(data=st.data())
        def resolve(self, data: st.DataObject) -> None:
            device = data.draw(st.sampled_from(self.devices))
            pick, choice = data.draw(st.integers(0, 1000)), data.draw(st.integers(0, 1000))
            open_ = sorted(
                k
                for k, v in device.store.items()
                if k.startswith("conflict/") and v["status"] == "open" and v["inspectionId"] in self.mine
            )
            if not open_:
                return
            record = device.store[open_[pick % len(open_)]]
            values = [c["value"] for c in record["candidates"]]
            device.resolve_conflict(record["id"], values[choice % len(values)])
            self._track(device)

        @rule(data=st.data(), lose=st.sampled_from([None, None, "before", "after"]))
        def push(self, data: st.DataObject, lose: str | None) -> None:
            index = data.draw(st.integers(0, len(self.devices) - 1))
            self.transports[index].lose = lose
            self.run(self.devices[index].push())
            self.transports[index].lose = None

        @rule(data=st.data())
        def pull(self, data: st.DataObject) -> None:
            self.run(data.draw(st.sampled_from(self.devices)).pull())

        @precondition(lambda self: bool(self.devices))
        @invariant()
        def queues_only_shrink_from_the_front(self) -> None:
            for device in self.devices:
                ids = [m.id for m in device.pending]
                assert ids == list(range(device.next_id - len(ids), device.next_id))

        def teardown(self) -> None:
            if not self.devices:
                return
            for device in self.devices:
                self.run(device.push())
                assert device.acked == device.next_id - 1
            for device in self.devices:
                self.run(device.pull())
                assert device.pending == []
            self.run(self.check())

        async def check(self) -> None:
            fresh = SyncClient(HttpxTransport(http, tokens["inspector1"]))
            await fresh.pull()
            for device in self.devices:
                assert device.store == fresh.store
            clients = {d.client_id: d for d in self.devices}
            # every mutation consumed exactly once, in one server order
            marks = ", ".join("{}" for _ in clients)
            audit = await fetch(
                f"SELECT client_id, mutation_id, action FROM audit_log WHERE client_id IN ({marks}) ORDER BY id",  # noqa: S608
                list(clients),
            )
            order = [(r["client_id"], int(r["mutation_id"])) for r in audit]
            assert len(order) == len(set(order))
            for device in self.devices:
                mine = sorted(mid for cid, mid in order if cid == device.client_id)
                assert mine == list(range(1, device.next_id))
                # Answers lost after the commit, and then confirmed by a pull, are asked for again by replaying
                # the same mutations: the server skips them and repeats its answers.
                missing = [mid for mid in mine if mid not in device.results]
                for mid in missing:
                    batch = [self.sent[(device.client_id, mid)]]
                    status, body = await device.transport.post("/api/sync/push", device.push_body(batch))
                    assert status == 200
                    answer = msgspec.json.decode(body, type=PushResponse)
                    assert [r.id for r in answer.results] == [mid]
                    device.results[mid] = answer.results[0]
                assert set(device.results) == set(mine)
            await self.check_registers(order)

        async def check_registers(self, order: list[tuple[str, int]]) -> None:
            conflicts = {
                str(r["id"]): r
                for r in await fetch(
                    "SELECT id, register_key, candidates, status FROM sync_conflict WHERE inspection_id IN ({}, {})",
                    [self.inspections[0], self.inspections[-1]],
                )
            }
            value: dict[str, Any] = {}
            version: dict[str, int] = defaultdict(int)
            holder: dict[str, str] = {}
            members: dict[Any, set[str]] = defaultdict(set)  # conflict id -> devices with a candidate
            open_conflict: dict[str, Any] = {}  # key -> the conflict open on that register
            writers: dict[str, list[tuple[int, str]]] = defaultdict(list)  # key -> (version, client) consumed
            for client_id, mid in order:
                m = self.sent[(client_id, mid)]
                result = self.devices[[d.client_id for d in self.devices].index(client_id)].results[mid]
                if isinstance(m, SetAnswer):
                    key = f"{m.args.inspection_id}/{m.args.item_code}/{m.args.field}"
                    write_value, base = m.args.value, m.args.base_version
                elif isinstance(m, ResolveConflict) and str(m.args.conflict_id) in conflicts:
                    key = conflicts[str(m.args.conflict_id)]["register_key"]
                    write_value, base = m.args.value, m.args.base_version
                else:
                    assert isinstance(m, AddNote | EditNote | AddPhoto | RemovePhoto | ResolveConflict) or (
                        result.status == "rejected"
                    )
                    continue
                if result.status == "rejected":
                    continue
                assert result.version is not None
                if result.status == "conflict":
                    # A new conflict only when another device changed this register after the writer's base.
                    # While the register has an open conflict, "each different value joins it as a candidate"
                    # (docs/sync.md, Conflict policy: open conflict; DESIGN §6: "the current value stays
                    # provisional"), whatever the base: a device that pulled the conflict and writes a value
                    # other than the provisional one joins it too; only resolveConflict settles it.
                    if isinstance(m, SetAnswer):
                        concurrent = any(v > base and c != client_id for v, c in writers[key])
                        joined = open_conflict.get(key) == result.conflict_id
                        assert concurrent or joined, (key, base, writers[key], open_conflict.get(key))
                    open_conflict[key] = result.conflict_id
                    members[result.conflict_id].add(client_id)
                    if key in holder:  # a new conflict keeps the value it found as a candidate
                        members[result.conflict_id].add(holder[key])
                    record = conflicts[str(result.conflict_id)]
                    assert record["register_key"] == key
                    stale_resolution = (
                        isinstance(m, ResolveConflict) and m.args.conflict_id == result.conflict_id
                    )
                    if holder.get(key) == client_id and not stale_resolution:
                        value[key] = write_value  # the provisional value is this device's own: it moves
                elif (
                    isinstance(m, ResolveConflict)
                    or key not in value
                    or not same_value(value[key], write_value)
                ):
                    value[key], holder[key] = write_value, client_id
                    if isinstance(m, ResolveConflict) and open_conflict.get(key) == m.args.conflict_id:
                        del open_conflict[key]  # resolved
                writers[key].append((result.version, client_id))
                version[key] = max(version[key], result.version)
            stored = {
                r["key"]: msgspec.json.decode(r["value"])
                for r in await fetch("SELECT key, value FROM answer_register WHERE field = 'value'")
            }
            for key, expected in value.items():
                assert stored[key] == expected, (key, stored[key], expected)
            # one open conflict per register at most; candidates one per device; each conflict result is in it
            open_keys = [c["register_key"] for c in conflicts.values() if c["status"] == "open"]
            assert len(open_keys) == len(set(open_keys))
            for record in conflicts.values():
                candidates = msgspec.json.decode(record["candidates"])
                assert len({c["clientId"] for c in candidates}) == len(candidates) >= 2
            for device in self.devices:
                for result in device.results.values():
                    if result.status == "conflict":
                        record = conflicts[str(result.conflict_id)]
                        assert device.client_id in {
                            c["clientId"] for c in msgspec.json.decode(record["candidates"])
                        }

    Devices.TestCase.settings = settings(
        max_examples=max_examples,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    try:
        Devices.TestCase().runTest()
    finally:
        loop.run_until_complete(http.aclose())
        loop.close()


def test_devices_converge_without_loss_or_silent_overwrite(
    app: Litestar, demo: dict[str, Any], db_kind: str
) -> None:
    run_machine(app, demo, max_examples=25)
