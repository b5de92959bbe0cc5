"""The round's improvement items as CSV for the office (UTF-8 with a byte-order mark, like the office's other
exports in backend/programme/exports.py): one row per item, with its clinic, county, chapter and marks."""

from __future__ import annotations

import io
from uuid import UUID

from backend.csv_cells import SafeCsvWriter
from backend.guards import AuthUser
from backend.improvement.services import round_items
from backend.inspections.rounds import round_by_id
from backend.vocabulary import DEFAULT_LANGUAGE, date_text, file_name, header, say

# column titles in the reader's language (col_<name>); kinds, states and marks spelled out, no bare ids
COLUMNS = (
    "facility",
    "county",
    "item",
    "article",
    "chapter",
    "requirement",
    "kind",
    "status",
    "gap_text",
    "owner",
    "due_date",
    "overdue",
    "grade_before",
    "grade_now",
    "improved",
    "photos",
)


async def export_csv(*, user: AuthUser, round_id: UUID, lang: str = DEFAULT_LANGUAGE) -> tuple[str, bytes]:
    """The file's readable name and its bytes."""
    items, inspections, names = await round_items(user=user, round_id=round_id)
    round_row = await round_by_id(round_id)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = SafeCsvWriter(buffer)
    writer.writerow(header(COLUMNS, lang))
    yes = say("yes", lang)
    for item in sorted(
        items, key=lambda i: (str(inspections[i.inspection_id]["facility_name"]), i.item_code)
    ):
        where = inspections[item.inspection_id]
        writer.writerow(
            [
                where["facility_name"],
                names.get(where["region"], ""),
                item.item_code,
                item.article_title,
                f"{item.section_code} {item.section_title}",
                item.requirement_id or "",
                say(f"kind_{item.kind}", lang),
                say(f"istatus_{item.status}", lang),
                item.gap,
                item.owner,
                date_text(item.due_date, lang) if item.due_date else "",
                yes if item.overdue else "",
                "" if item.grade_before is None else item.grade_before,
                "" if item.current_grade is None else item.current_grade,
                yes if item.improved else "",
                len(item.photo_ids),
            ]
        )
    name = file_name(round_row["name"], say("export_improvement", lang), extension="csv")
    return name, buffer.getvalue().encode()
