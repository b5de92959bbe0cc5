"""The round's improvement items as CSV for the office (UTF-8 with a byte-order mark, like the office's other
exports in backend/programme/exports.py): one row per item, with its clinic, county, chapter and marks."""

from __future__ import annotations

import io
from uuid import UUID

from backend.csv_cells import SafeCsvWriter
from backend.guards import AuthUser
from backend.improvement.services import round_items

HEADER = [
    "facility_id",
    "facility",
    "county",
    "item",
    "article",
    "chapter",
    "requirement",
    "kind",
    "status",
    "gap",
    "owner",
    "due_date",
    "overdue",
    "grade_before",
    "grade_now",
    "improved",
    "photos",
]


async def export_csv(*, user: AuthUser, round_id: UUID) -> bytes:
    items, inspections, names = await round_items(user=user, round_id=round_id)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = SafeCsvWriter(buffer)
    writer.writerow(HEADER)
    for item in sorted(
        items, key=lambda i: (str(inspections[i.inspection_id]["facility_name"]), i.item_code)
    ):
        where = inspections[item.inspection_id]
        writer.writerow(
            [
                item.facility_id,
                where["facility_name"],
                names.get(where["region"], ""),
                item.item_code,
                item.article_title,
                f"{item.section_code} {item.section_title}",
                item.requirement_id or "",
                item.kind,
                item.status,
                item.gap,
                item.owner,
                item.due_date or "",
                "yes" if item.overdue else "",
                "" if item.grade_before is None else item.grade_before,
                "" if item.current_grade is None else item.current_grade,
                "yes" if item.improved else "",
                len(item.photo_ids),
            ]
        )
    return buffer.getvalue().encode()
