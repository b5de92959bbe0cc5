"""Pull's rows built as JSON by the database (``sync.pull_rows``, the server's way) send the very bytes the
rows read as columns and built in Python send (the reference, ``PullContext(encoded=False)``): a clinic's
years of self-assessments with every kind of row, text that JSON must escape, removed rows, evidence flags
the reader sees only in part, paged and incremental; and an inspector's incremental pull, whose answers
PostgreSQL reads in the pull's first statement."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

import httpx
import msgspec
from litestar import Litestar

from backend.accounts.services import user_for_token
from backend.db import write_tx
from backend.inspections.tables import Inspection
from backend.sync_api.services import caller_source, pull_context
from sync.client import SyncClient
from sync.photo_facts import record_flags
from sync.protocol import EncodedPutOp, Limits, PullResponse
from sync.pull import pull
from tests.backend.sync_api.sync_support import Devices, sha

# what JSON must escape, and what it need not
TEXTS = ['引号 " 反斜杠 \\ 换行\n制表\t', "控制 \x01\x1f </script> é 😀", ""]


async def _both(app: Litestar, token: str, cookie: str | None, page_size: int | None = None) -> PullResponse:
    """The page from ``cookie`` both ways; asserts they encode to the same bytes, returns the encoded one."""
    user = await user_for_token(token)
    assert user is not None
    ctx = pull_context(
        hooks=app.state.hooks, limits=Limits(max_mutations=500, max_body_bytes=1 << 20), page_size=page_size
    )
    body = msgspec.json.encode({"protocolVersion": 1, "clientGroupId": "both", "cookie": cookie})
    pages = {}
    for encoded in (True, False):
        caller = caller_source(user, with_readable=True, with_writable=False)
        pages[encoded] = await pull(body, caller=caller, ctx=dataclasses.replace(ctx, encoded=encoded))
    assert msgspec.json.encode(pages[True]) == msgspec.json.encode(pages[False])
    return pages[True]


async def _every_page(
    app: Litestar, token: str, cookie: str | None, page_size: int | None = None
) -> str | None:
    while True:
        page = await _both(app, token, cookie, page_size)
        cookie = page.cookie
        if not page.has_more:
            return cookie


async def _history(phone: SyncClient, years: list[UUID]) -> tuple[list[UUID], list[UUID]]:
    """Each year graded twice, noted, photographed and planned; returns the notes and photos of the first."""
    notes: list[UUID] = []
    photos: list[UUID] = []
    for n, year in enumerate(years):
        for value in ("C", "B"):
            for item in ("1.1.1", "1.2.1", "1.2.2"):
                phone.set_answer(year, item, "value", value)
        phone.set_answer(year, "1.2.3", "na", True)
        phone.set_answer(year, "1.3.1", "value", None)
        for k, text in enumerate(TEXTS):
            note = phone.add_note(year, "1.1.1", f"{text} {n}")
            photo = phone.add_photo(year, "1.2.1", sha(100 * n + k), 1000 + k)
            phone.set_photo_caption(photo, text)
            if n == 0:
                notes.append(note)
                photos.append(photo)
        plan = phone.create_improvement(year, "1.1.1", TEXTS[0], "soon", owner="院办", due_date="2026-03-31")
        phone.set_improvement_field(plan, "owner", TEXTS[1])
        phone.set_improvement_status(plan, "in_progress")
        phone.attach_improvement_photo(
            plan, photos[0] if photos else phone.add_photo(year, "1.1.1", sha(9), 9)
        )
        await phone.sync()
    return notes, photos


async def test_a_clinics_years_encoded_as_by_columns(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    current = await Inspection.select().where(Inspection.id == demo["self_inspections"][0]).first()
    assert current is not None
    years = [current["id"]]
    async with write_tx():
        for _ in range(2):
            earlier = Inspection(
                facility=current["facility"],
                round=current["round"],
                stage="self",
                standard_version_id=current["standard_version_id"],
                status="in_progress",
            )
            await earlier.save()
            years.append(earlier.id)
    devices = Devices(client)
    phone = await devices.device("clinic1")
    token = (await devices.auth("clinic1"))["Authorization"].split()[1]
    notes, photos = await _history(phone, years)
    other = await devices.device("clinic1")  # a second tablet, behind: a conflict
    other.set_answer(years[0], "1.1.1", "value", "D")
    await other.push()

    first = await _both(app, token, None)
    assert any(isinstance(op, EncodedPutOp) for op in first.patch)  # the encoded path was taken
    assert {op.key.split("/")[0] for op in first.patch} >= {
        "answer",
        "note",
        "photo",
        "improvement",
        "conflict",
    }
    await _every_page(app, token, None, page_size=7)

    # removed rows (tombstones from a cookie, left out of a snapshot) and flags the clinic sees only in part
    phone.delete_note(notes[0])
    phone.remove_photo(photos[1])
    phone.edit_note(notes[1], TEXTS[1] + " 改")
    await phone.sync()
    flag = [
        {
            "code": "near_duplicate",
            "detail": TEXTS[0],
            "related": [
                {"photoId": str(photos[2]), "inspectionId": str(years[0])},
                {"photoId": "elsewhere", "inspectionId": str(demo["review_inspection"])},
            ],
            "message": {"code": "flag_near_duplicate", "params": {"n": 2}},
        }
    ]
    await record_flags(
        {years[0]: [(photos[0], msgspec.json.encode(flag).decode(), False)]}, transaction=write_tx
    )
    again = await _both(app, token, first.cookie)
    kinds = {(op.key.split("/")[0], type(op).__name__) for op in again.patch}
    assert {("note", "DelOp"), ("photo", "DelOp"), ("photo", "PutOp")} <= kinds
    await _every_page(app, token, first.cookie, page_size=3)
    await _every_page(app, token, None)


async def test_an_inspectors_incremental_pull_encoded_as_by_columns(
    app: Litestar, client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    devices = Devices(client)
    token = (await devices.auth("inspector1"))["Authorization"].split()[1]
    a = await devices.device("inspector1")
    a.set_answer(review, "1.1.1", "value", "A")
    a.add_note(review, "1.1.1", TEXTS[0])
    await a.sync()
    cookie = await _every_page(app, token, None)
    for n, item in enumerate(("1.1.1", "1.2.1", "1.2.2", "1.2.3")):  # answers only: the first statement's
        a.set_answer(review, item, "value", "DCBA"[n])
    await a.push()
    page = await _both(app, token, cookie)
    assert sum(op.key.startswith("answer/") for op in page.patch) == 4
    await _every_page(app, token, cookie, page_size=2)
