"""A facility's self-assessment at a round (backend/inspections/services.py: self_assessment), the one lookup the
applications' rule, the MCH targets and the improvement plan's report share."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar

from backend.inspections.services import self_assessment
from backend.inspections.tables import Inspection


async def test_the_self_assessment_of_a_facility_at_a_round(app: Litestar, demo: dict[str, Any]) -> None:
    inspection_id = demo["self_inspections"][0]
    own = await Inspection.select(Inspection.facility, Inspection.round, Inspection.stage).where(
        Inspection.id == inspection_id
    )
    [row] = own
    assert row["stage"] == "self"
    found = await self_assessment(row["facility"], row["round"], Inspection.id, Inspection.stage)
    assert found == {"id": inspection_id, "stage": "self"}
    # another round, or a facility without one: none (a review stage of the same facility is not it)
    assert await self_assessment(row["facility"], uuid.uuid4(), Inspection.id) is None
    reviewed = await Inspection.select(Inspection.facility, Inspection.round).where(
        Inspection.stage != "self"
    )
    others = {(r["facility"], r["round"]) for r in reviewed} - {
        (r["facility"], r["round"])
        for r in await Inspection.select(Inspection.facility, Inspection.round).where(
            Inspection.stage == "self"
        )
    }
    for facility, round_id in others:
        assert await self_assessment(facility, round_id, Inspection.id) is None
