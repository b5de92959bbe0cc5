"""Issue 21, item 9: a review returned to a clinic reaches it as the inspection and its opinions only: no
inspectors' notes (with their author ids), grades or per-expert conflict candidates."""

from __future__ import annotations

from typing import Any

import httpx

from tests.backend.review.test_conclusions import set_status
from tests.backend.sync_api.sync_support import Devices


async def test_a_returned_clinic_sees_the_opinions_only(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    devices = Devices(client)
    review = demo["review_inspection"]
    one, two = await devices.device("inspector1"), await devices.device("inspector2")
    one.add_note(review, "1.1.1", "院感制度未上墙")
    one.set_answer(review, "1.1.1", "value", "A")
    await one.push()
    two.set_answer(review, "1.1.1", "value", "C")  # a conflict: both experts' grades are candidates
    await two.push()
    await set_status(review, "submitted")
    office = await devices.auth("office")
    returned = await client.post(
        f"/api/inspections/{review}/return", headers=office, json={"opinion": "请补充"}
    )
    assert returned.status_code == 201, returned.text

    clinic = await devices.auth("clinic1")
    pulled = await client.post(
        "/api/sync/pull", headers=clinic, json={"protocolVersion": 1, "clientGroupId": "clinic-phone"}
    )
    body = pulled.json()
    keys = {op["key"] for op in body["patch"]}
    assert f"inspection/{review}" in keys
    assert any(key.startswith("opinion/") for key in keys)
    of_review = {key for key in keys if str(review) in key and not key.startswith("inspection/")}
    assert of_review == set(), of_review
    assert not any(key.startswith(("note/", "conflict/")) for key in keys)
    assert body["conflicts"] == []
    assert "院感制度未上墙" not in pulled.text
    # the inspectors still see everything
    inspector = await client.post(
        "/api/sync/pull",
        headers=await devices.auth("inspector1"),
        json={"protocolVersion": 1, "clientGroupId": "g-insp"},
    )
    assert "院感制度未上墙" in inspector.text
