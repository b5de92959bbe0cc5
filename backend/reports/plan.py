"""The clinic's improvement plan as a printable report kind (the page and its PDF, like the facility report)."""

from __future__ import annotations

from backend.errors import RuleRefused
from backend.guards import AuthUser
from backend.improvement.report import plan_fragment
from backend.reports.printable import Printable, PrintableParams
from media.storage import Storage


async def improvement_plan(user: AuthUser, params: PrintableParams, storage: Storage) -> Printable:
    if params.facility_id is None or params.round_id is None:
        raise RuleRefused("an improvement plan needs facilityId and roundId", code="missing_parameter")
    # plan_fragment checks the scope: a clinic its own plan, an office its region
    title, filename, body = await plan_fragment(
        user=user, facility_id=params.facility_id, round_id=params.round_id, lang=params.lang
    )
    return Printable(title=title, filename=filename, body=body, lang="en" if params.lang == "en" else "zh-CN")
