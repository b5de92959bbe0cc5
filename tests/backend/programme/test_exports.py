"""CSV exports of a round: conclusions and rankings, in scope, streamed."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from tests.backend.review.test_conclusions import ARTICLES, put_answers
from tests.conftest import login


def _rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


async def test_conclusions_and_rankings_export(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    selfs = demo["self_inspections"]
    for index, grade in ((0, "A"), (1, "B")):
        await put_answers(
            selfs[index], {"P1": True, "P2": True, "P3": True, **dict.fromkeys(ARTICLES, grade)}
        )
    office = await login(client, "office")
    base = f"/api/rounds/{demo['round']}/exports"

    conclusions = _rows(await client.get(f"{base}/conclusions", headers=office))
    # 甲市's six self-assessments and the county review; nothing of 乙市
    assert len(conclusions) == 7
    assert {r["facility_id"] for r in conclusions} == {str(f) for f in demo["facilities"][:6]}
    first = next(r for r in conclusions if r["inspection_id"] == str(selfs[0]))
    assert (first["facility"], first["county"], first["stage"]) == ("城关镇卫生院", "东城县", "self")
    assert first["status"] == "undetermined"
    assert first["known"].startswith("at least 合格标准") or first["known"].startswith("no tier is certain")
    empty = next(r for r in conclusions if r["inspection_id"] == str(selfs[2]))
    assert empty["status"] == "not_evaluated"

    rankings = _rows(await client.get(f"{base}/rankings", headers=office))
    mine = [
        r for r in rankings if r["facility_id"] == str(demo["facilities"][0]) and r["item"] == ARTICLES[0]
    ]
    assert {r["scope"]: (r["rank"], r["of"]) for r in mine} == {
        "county": ("1", "2"),
        "city": ("1", "2"),
        "province": ("1", "2"),
    }

    assert (await client.get(f"{base}/rankings", headers=await login(client, "clinic1"))).status_code == 403
    assert (await client.get(f"{base}/nonsense", headers=office)).status_code == 400
