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

    got = await client.get(f"{base}/conclusions", headers=office)
    assert "filename*=UTF-8''2026" in got.headers["content-disposition"]  # the round's name, readable
    conclusions = _rows(got)
    # 甲市's six self-assessments and the county review; nothing of 乙市; Chinese titles, no ids
    assert len(conclusions) == 7
    assert list(conclusions[0]) == [
        "机构",
        "县（区）",
        "阶段",
        "状态",
        "结论",
        "确定达到",
        "已知情况",
        "判定依据",
    ]
    first = next(r for r in conclusions if r["机构"] == "城关镇卫生院" and r["阶段"] == "自评")
    assert first["县（区）"] == "东城县"
    assert first["状态"] == "待定"
    assert first["已知情况"].startswith(("至少达到合格标准", "尚无确定的档次"))
    assert "not_evaluated" not in {r["状态"] for r in conclusions}
    assert "不予评价" in {r["状态"] for r in conclusions}  # the self-assessment with no answers

    rankings = _rows(await client.get(f"{base}/rankings", headers=office))
    mine = [r for r in rankings if r["机构"] == "城关镇卫生院" and r["条款编号"] == ARTICLES[0]]
    assert {r["排名范围"]: (r["名次"], r["参与排名数"]) for r in mine} == {
        "县": ("1", "2"),
        "市": ("1", "2"),
        "省": ("1", "2"),
    }
    english = _rows(await client.get(f"{base}/rankings?lang=en", headers=office))
    assert {r["Ranked within"] for r in english} == {"County", "City", "Province"}

    assert (await client.get(f"{base}/rankings", headers=await login(client, "clinic1"))).status_code == 403
    assert (await client.get(f"{base}/nonsense", headers=office)).status_code == 400
