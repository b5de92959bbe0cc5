"""Every printable report kind by name: the app's print page and the PDF export jobs look them up here.

Add a kind: write ``async def render(user, params, storage) -> Printable`` (scope checked inside), list it
in ``PRINTABLES`` and the parameters it needs in ``NEEDS``; a kind also made as a workbook lists its
``async def workbook(user, params) -> bytes`` in ``WORKBOOKS`` (export jobs of format ``xlsx``).
"""

from __future__ import annotations

from backend.reports.facility import facility_report
from backend.reports.plan import improvement_plan
from backend.reports.printable import Render, WorkbookRender
from backend.reports.term import term_report, term_workbook
from backend.reports.verdict import confirmation_notice, national_filing

PRINTABLES: dict[str, Render] = {
    "facility-report": facility_report,
    "improvement-plan": improvement_plan,
    "term-report": term_report,
    "confirmation-notice": confirmation_notice,
    "national-filing": national_filing,
}
# report kinds that are also made as an XLSX workbook (an export job of format xlsx, like the PDF)
WORKBOOKS: dict[str, WorkbookRender] = {"term-report": term_workbook}
# fields of PrintableParams / ExportRequest each kind needs (400 missing_parameter otherwise)
NEEDS: dict[str, tuple[str, ...]] = {
    "facility-report": ("facility_id", "round_id"),
    "improvement-plan": ("facility_id", "round_id"),
    # subjectId (optional): one staff member's report
    "term-report": ("facility_id", "round_id"),
    "confirmation-notice": ("round_id",),
    "national-filing": ("round_id",),
}
