"""Helpers for the sync HTTP tests: signed-in reference clients and raw push/pull bodies."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import httpx
import msgspec

from sync.client import HttpxTransport, SyncClient
from tests.conftest import login

GRADED_ITEMS = ["1.1.1", "1.2.1", "1.2.2", "1.2.3", "1.3.1"]


class Devices:
    """Signs each user in once and hands out reference clients for them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.headers: dict[str, dict[str, str]] = {}

    async def auth(self, username: str) -> dict[str, str]:
        if username not in self.headers:
            self.headers[username] = await login(self.http, username)
        return self.headers[username]

    async def device(self, username: str, **kwargs: Any) -> SyncClient:
        return SyncClient(HttpxTransport(self.http, await self.auth(username)), **kwargs)


def sha(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def push_body(client_id: str, mutations: list[dict[str, Any]], group: str = "g-1") -> bytes:
    return msgspec.json.encode(
        {"protocolVersion": 1, "clientGroupId": group, "clientId": client_id, "mutations": mutations}
    )


def set_answer(
    mid: int, inspection: UUID, item: str, value: Any, base: int = 0, field: str = "value"
) -> dict[str, Any]:
    return {
        "id": mid,
        "name": "setAnswer",
        "hlc": f"h{mid}",
        "args": {
            "inspectionId": str(inspection),
            "itemCode": item,
            "field": field,
            "value": value,
            "baseVersion": base,
        },
    }
