"""A whole small round driven through the API: applications, county verdicts (one removal), the city and
province samples and verdicts; the reviews' answers are written straight into the registers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from backend.inspections.tables import Inspection
from tests.backend.review.test_conclusions import put_answers
from tests.backend.review.test_flow import BASIC, apply
from tests.backend.review.test_verdict import graded, province_office, sign
from tests.conftest import login

TOWNSHIPS = (0, 1, 3, 4)
REMOVED = 1  # 河口镇卫生院: found not reaching at the county
OPINION = "书面反馈复核意见：基本条款多项未达C档"


async def reviewed(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    demo: dict[str, Any],
    index: int | str,
    stage: str,
    answers: dict[str, Any],
    body: dict[str, Any],
    standard: str = "cn-thc-capacity-2018",
) -> UUID:
    facility = demo["facilities"][index] if isinstance(index, int) else UUID(index)
    existing = (
        await Inspection.select(Inspection.id)
        .where(
            (Inspection.facility == facility)
            & (Inspection.round == demo["round"])
            & (Inspection.stage == stage)
        )
        .first()
    )
    if existing is None:
        inspection = Inspection(
            facility=facility,
            round=demo["round"],
            stage=stage,
            standard_version_id=standard,
            status="in_progress",
        )
        await inspection.save()
        inspection_id = inspection.id
    else:
        inspection_id = existing["id"]  # the demo's county review of 城关
        await Inspection.update({Inspection.standard_version_id: standard}).where(
            Inspection.id == inspection_id
        )
    await put_answers(inspection_id, answers)
    await Inspection.update({Inspection.status: "submitted"}).where(Inspection.id == inspection_id)
    signed = await sign(client, headers, inspection_id, body)
    assert signed.status_code == 201, signed.text
    return inspection_id


def drawn(sample: dict[str, Any]) -> list[str]:
    return [f["facilityId"] for s in sample["strata"] for f in s["facilities"] if f["drawn"]]


async def county_stage(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    admin, office = await login(client, "admin"), await login(client, "office")
    for i in TOWNSHIPS:
        await apply(client, admin, demo, i)
    for i in TOWNSHIPS:
        if i == REMOVED:
            body = {"decision": {"tier": "not_reached", "reason": "多项D档"}, "opinion": OPINION}
            await reviewed(client, office, demo, i, "county", graded(0.0), body)
        else:
            await reviewed(client, office, demo, i, "county", graded(0.1), BASIC)


async def later_stages(client: httpx.AsyncClient, demo: dict[str, Any]) -> dict[str, str]:
    """City and province samples and verdicts; returns the province office's headers."""
    admin, office = await login(client, "admin"), await login(client, "office")
    city = await client.post(
        f"/api/rounds/{demo['round']}/samples", headers=office, json={"level": "city", "seed": "c1"}
    )
    assert city.status_code == 201, city.text
    for facility in drawn(city.json()):
        await reviewed(client, office, demo, facility, "city", graded(0.1), BASIC)
    await province_office(demo)
    sheng = await login(client, "office_sheng")
    province = await client.post(
        f"/api/rounds/{demo['round']}/samples", headers=sheng, json={"level": "province", "seed": "p1"}
    )
    assert province.status_code == 201, province.text
    for facility in drawn(province.json()):
        await reviewed(client, sheng, demo, facility, "province", graded(0.1), BASIC)
    del admin
    return sheng
