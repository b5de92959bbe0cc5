"""What a pull sends beside an inspection's own rows: the facilities of inspections new to the device, the
written opinions of returned (and accepted) inspections, and who wrote each conflict candidate. The backend's
rows among them (facilities, opinions, accounts) come from functions the backend hands in
(:class:`~sync.pull.PullContext`): the engine runs no SQL on the backend's tables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

import msgspec

from sync.protocol import OpinionValue, PatchOp, PutOp
from sync.pull_rows import iso, text_or_none
from sync.sql import Sql, is_uuid

# What a pull sends of the backend's rows, read by functions the backend hands in (the engine runs no SQL on
# the backend's tables): facilities by id (id, name, kind, region) and the opinions of returned inspections
# by inspection id (id, inspection, application, facility, stage, opinion, returned_at; oldest first), and
# accounts by id (id, username, display_name: who wrote a conflict's candidates).
RowsById = Callable[[list[UUID]], Awaitable[Sequence[Mapping[str, Any]]]]


async def name_candidates(sql: Sql, users: RowsById, conflicts: list[dict[str, Any]]) -> None:
    """Who wrote each candidate, for the person deciding: ``userName`` (the account's display name, else its
    username) and ``deviceName`` (the name the device gave itself; "" when none), so the app shows no id. Set in
    place: the conflict's record is both its patch value and its entry in ``conflicts``."""
    candidates = [c for r in conflicts for c in r["candidates"]]
    user_ids = sorted({UUID(u) for u in (str(c.get("userId")) for c in candidates) if is_uuid(u)})
    client_ids = sorted({str(c["clientId"]) for c in candidates if c.get("clientId")})
    accounts = await users(user_ids) if user_ids else []
    names = {str(u["id"]): u["display_name"] or u["username"] for u in accounts}
    devices: dict[str, str] = {}
    if client_ids:
        rows = await sql.fetch_in(
            'SELECT "client_id", "device_name" FROM "sync_client"', '"client_id"', client_ids
        )
        devices = {r["client_id"]: r["device_name"] or "" for r in rows}
    for r in conflicts:
        r["candidates"] = [
            {
                **c,
                "userName": names.get(str(c.get("userId")), ""),
                "deviceName": devices.get(str(c.get("clientId")), ""),
            }
            for c in r["candidates"]
        ]


def facility_ops(rows: Sequence[Mapping[str, Any]]) -> list[PatchOp]:
    """The facilities of inspections new to the device."""
    return [
        PutOp(
            f"facility/{fac['id']}",
            {
                "id": str(fac["id"]),
                "name": fac["name"],
                "kind": fac["kind"],
                "regionId": text_or_none(fac["region"]),
            },
        )
        for fac in rows
    ]


def opinion_ops(rows: Sequence[Mapping[str, Any]]) -> list[PatchOp]:
    """The written opinions of the returned (and accepted) inspections sent in this pull (DESIGN §6: they
    reach the clinic), each with its kind: ``review`` (given with an inspection) or ``application`` (with an
    application alone), and ``removal`` when it removed the facility from the list (剔除: an inspection's
    opinion that also returned the application)."""
    return [
        PutOp(
            f"opinion/{r['id']}",
            msgspec.to_builtins(
                OpinionValue(
                    id=str(r["id"]),
                    inspection_id=text_or_none(r["inspection"]),
                    facility_id=str(r["facility"]),
                    stage=r["stage"],
                    kind="review" if r["inspection"] is not None else "application",
                    removal=r["inspection"] is not None and r.get("application") is not None,
                    opinion=r["opinion"],
                    returned_at=iso(r["returned_at"]),
                )
            ),
        )
        for r in rows
    ]
