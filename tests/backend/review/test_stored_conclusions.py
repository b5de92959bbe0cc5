"""Signed-off conclusions read back: listed per facility (and round) for an office in scope, refused out of it."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx

from tests.backend.review.test_conclusions import (
    ARTICLES,
    PASSED,
    confirm,
    other_city_office,
    put_answers,
    set_status,
)
from tests.conftest import login


async def test_signed_conclusions_are_listed_for_an_office_in_scope(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    office = await login(client, "office")
    await put_answers(review, {**PASSED, **dict.fromkeys(ARTICLES[:-1], "B"), ARTICLES[-1]: "C"})
    await set_status(review, "submitted")
    decision = {"decision": {"tier": "basic", "reason": "复核小组讨论：基本条款整体达到B档"}}
    response = await confirm(client, office, review, decision)
    assert response.status_code == 201, response.text
    stored = response.json()

    listed = await client.get(f"/api/facilities/{demo['facilities'][0]}/conclusions", headers=office)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [stored["id"]]
    assert listed.json()[0] == stored
    other_round = await client.get(
        f"/api/facilities/{demo['facilities'][0]}/conclusions",
        headers=office,
        params={"round_id": str(uuid4())},
    )
    assert other_round.json() == []
    await other_city_office(demo)
    yi = await login(client, "office_yi")
    assert (
        await client.get(f"/api/facilities/{demo['facilities'][0]}/conclusions", headers=yi)
    ).status_code == 403
