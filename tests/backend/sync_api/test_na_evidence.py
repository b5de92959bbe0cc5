"""An article answered N/A needs no photos, whichever way it was said: the N/A register or a ``"NA"`` value
(which counted as answered but used to leave the article short of its photo minimum)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from backend.inspections.tables import Inspection
from backend.standards.loader import parse_standard, shipped_bytes
from backend.standards.services import save_standard
from tests.backend.sync_api.sync_support import (
    Devices,
    add_camera_photo,
    answer_everything,
    camera_photo,
    photo_minimums,
    upload_all,
    walk_articles,
)

NA_VARIANT = "test-thc-na-photos"


async def na_variant(article: str) -> str:
    body = json.loads(shipped_bytes("township-2018"))
    body["id"] = NA_VARIANT

    def allow_na(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("number") == article and "title" in node:
                node["naAllowed"] = True
            for child in node.values():
                allow_na(child)
        elif isinstance(node, list):
            for child in node:
                allow_na(child)

    allow_na(body)
    standard = parse_standard(json.dumps(body).encode())
    assert [a.number for _, a, _ in walk_articles(standard) if a.na_allowed] == [article]
    await save_standard(standard=standard, actor_id=None, publish=True)
    return NA_VARIANT


@pytest.mark.parametrize("field", ["value", "na"])
async def test_an_article_answered_na_needs_no_photos(
    client: httpx.AsyncClient, demo: dict[str, Any], field: str
) -> None:
    review = demo["review_inspection"]
    # no shipped article both needs photos and may be N/A: the township standard with one that does
    exempt = next(iter(await photo_minimums()))
    await Inspection.update({Inspection.standard_version_id: await na_variant(exempt)}).where(
        Inspection.id == review
    )
    devices = Devices(client)
    headers = await devices.auth("inspector1")
    device = await devices.device("inspector1")
    answer_everything(device, review)
    needs = await photo_minimums(NA_VARIANT)
    device.set_answer(review, exempt, field, "NA" if field == "value" else True)
    photos = []
    for item, count in needs.items():
        for _ in range(count if item != exempt else 0):
            photo = camera_photo()
            photos.append(photo)
            add_camera_photo(device, review, item, photo)
    await device.push()
    await upload_all(client, headers, photos)

    receipt = (await client.get(f"/api/inspections/{review}/receipt", headers=headers)).json()
    assert receipt["shortArticles"] == []
    device.submit_inspection(review)
    await device.push()
    result = device.results[max(device.results)]
    assert (result.status, result.detail) == ("applied", None)
