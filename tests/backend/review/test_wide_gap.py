"""The gap between the self-assessment and a review is judged once, by the standard's own grades, and sent
ready made (``gap``, ``wide``); the app only shows it (reconcile.js used to rank A–D itself and to look
for ``'na'`` where the server sends ``"NA"``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.backend.review.test_conclusions import ARTICLES, PASSED, put_answers
from tests.conftest import login

PWA = Path(__file__).resolve().parents[3] / "pwa_static"


async def test_cells_carry_the_gap_and_whether_it_is_wide(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    first, second, third, fourth = ARTICLES[:4]
    await put_answers(
        demo["self_inspections"][0], {**PASSED, first: "A", second: "A", third: "A", fourth: "B"}
    )
    await put_answers(demo["review_inspection"], {**PASSED, first: "C", second: "B", third: "D"})
    await put_answers(demo["review_inspection"], {fourth: True}, field="na")
    office = await login(client, "office")
    url = f"/api/facilities/{demo['facilities'][0]}/rounds/{demo['round']}/discrepancies"
    view = (await client.get(url, headers=office)).json()
    cells = {row["item"]: row["stages"][0] for row in view["items"]}
    assert {item: (cells[item]["gap"], cells[item]["wide"]) for item in (first, second, third, fourth)} == {
        first: (2, True),
        second: (1, False),
        third: (3, True),
        fourth: (None, False),  # N/A: nothing to compare
    }
    assert cells[fourth]["value"] == "NA"
    # pass/fail prerequisites are not grades
    assert (cells["P1"]["gap"], cells["P1"]["wide"]) == (None, False)


def test_the_app_ranks_no_grades_of_its_own() -> None:
    """No grade-rank table and no lowercase N/A answer in the app's views and libraries."""
    for path in PWA.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"GRADE_RANK|\{\s*A:\s*\d+,\s*B:\s*\d+", text), f"{path} ranks grades itself"
        assert "value === 'na'" not in text or path.name == "actions.js", f"{path}: the server sends 'NA'"
