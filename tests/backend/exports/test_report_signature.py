"""The facility report sets a sign-off beside the tier computed now only when it signed that version; a
sign-off of an earlier version says so, with the tier it signed."""

from __future__ import annotations

from typing import Any

import httpx

from tests.backend.review.test_conclusions import ARTICLES, PASSED, confirm, put_answers, set_status
from tests.conftest import login


async def test_a_signature_of_an_earlier_version_is_said_to_be_one(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    review = demo["review_inspection"]
    await put_answers(review, {**PASSED, **dict.fromkeys(ARTICLES, "A")})
    await set_status(review, "submitted")
    office = await login(client, "office")
    # the township's thresholds are open (待定): the review group decides the tier, with its reason
    decision = {"decision": {"tier": "basic", "reason": "复核小组评议"}}
    signed = await confirm(client, office, review, decision)
    assert signed.status_code == 201, signed.text
    url = f"/api/printables/facility-report?facilityId={demo['facilities'][0]}&roundId={demo['round']}"

    body = (await client.get(url, headers=office)).json()["html"]
    assert 'data-testid="signed-earlier"' not in body
    version = signed.json()["computedFromVersion"]
    # the conclusion keeps the version the sign-off left the inspection at (accepting it moved it on)
    inspection = (await client.get(f"/api/inspections/{review}", headers=office)).json()
    assert signed.json()["signedVersion"] == inspection["version"] == version + 1

    await put_answers(review, dict.fromkeys(ARTICLES, "D"))  # the answers change after the sign-off
    body = (await client.get(url, headers=office)).json()["html"]
    county = body.split('data-stage="county"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="signed-earlier"' in county
    assert f"签署的是第 {version} 版" in county
    english = (await client.get(url + "&lang=en", headers=office)).json()["html"]
    assert f"signed version {version}" in english.split('data-stage="county"', 1)[1].split("</tr>", 1)[0]
