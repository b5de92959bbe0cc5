"""The improvement plan as a printable HTML fragment (the classes of the office's report stylesheet,
``report.css``), so the office's print/PDF path can print it like its facility report. In the reader's
language, Chinese by default (as the plans are filed); every value is escaped."""

from __future__ import annotations

import html
from uuid import UUID

from backend.errors import NotFound
from backend.guards import AuthUser
from backend.improvement.schemas import ItemOut
from backend.improvement.services import plan_items, targets, today
from backend.inspections.services import self_assessment
from backend.inspections.tables import Inspection, Round
from backend.registry.tables import Facility
from backend.vocabulary import DEFAULT_LANGUAGE, date_text, file_name, say

KINDS = ("soon", "continuous", "needs_support")


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _row(item: ItemOut, lang: str) -> str:
    status = say(f"istatus_{item.status}", lang)
    if item.improved:
        status += f"（{say('improvedFrom', lang, **{'from': item.grade_before, 'to': item.current_grade})}）"
    due = esc(date_text(item.due_date, lang) or "—") + (f"（{say('overdue', lang)}）" if item.overdue else "")
    due_cell = '<td class="gap-wide">' if item.overdue else "<td>"
    return (
        f"<tr><td>{esc(item.item_code)} {esc(item.article_title)}</td><td>{esc(item.gap)}</td>"
        f"<td>{esc(item.owner or '—')}</td>{due_cell}{due}</td>"
        f"<td>{esc(status)}</td><td>{len(item.photo_ids)}</td></tr>"
    )


def render_plan(
    *, facility: str, round_name: str, tier: str | None, items: list[ItemOut], lang: str = DEFAULT_LANGUAGE
) -> str:
    """The fragment (pure): heading, progress, then a table per kind, in the reader's language."""
    done = sum(i.status == "done" for i in items)
    overdue = sum(i.overdue for i in items)
    summary = " · ".join(
        [
            say("planAim", lang, tier=tier or "—"),
            say("planDoneOf", lang, done=done, total=len(items)),
            say("overdueCount", lang, n=overdue),
            date_text(today(), lang),
        ]
    )
    parts = [
        '<div class="report improvement-report">',
        f"<h1>{esc(say('planTitle', lang))}<small>{esc(facility)} · {esc(round_name)}</small></h1>",
        f'<p class="report-sub">{esc(summary)}</p>',
    ]
    if not items:
        parts.append(f'<p class="muted">{esc(say("planEmpty", lang))}</p>')
    columns = ("col_item", "col_gap_text", "col_owner", "col_due_date", "col_status", "col_photos")
    head = "".join(f"<th>{esc(say(code, lang))}</th>" for code in columns)
    for kind in KINDS:
        mine = [i for i in items if i.kind == kind]
        if not mine:
            continue
        finished = sum(i.status == "done" for i in mine)
        label = say(f"kind_{kind}", lang)
        parts.append(f'<section class="report-section"><h2>{esc(label)}（{finished}/{len(mine)}）</h2>')
        parts.append(f'<table class="report-table"><thead><tr>{head}</tr></thead><tbody>')
        parts.extend(_row(i, lang) for i in sorted(mine, key=lambda i: (i.section_code, i.item_code)))
        parts.append("</tbody></table></section>")
    parts.append("</div>")
    return "".join(parts)


async def plan_fragment(
    *, user: AuthUser, facility_id: UUID, round_id: UUID, lang: str = DEFAULT_LANGUAGE
) -> tuple[str, str, str]:
    """(title, file name without extension, HTML fragment) of a facility's plan at a round; the scope is
    checked by the services (a clinic its own plan, an office its region)."""
    row = await self_assessment(facility_id, round_id, Inspection.id)
    if row is None:
        raise NotFound("that facility has no self-assessment at that round", code="inspection_not_found")
    items = await plan_items(user=user, inspection_id=row["id"])
    aim = await targets(user=user, inspection_id=row["id"])
    facility = await Facility.select(Facility.name).where(Facility.id == facility_id).first()
    round_row = await Round.select(Round.name).where(Round.id == round_id).first()
    facility_name = "" if facility is None else str(facility["name"])
    round_name = "" if round_row is None else str(round_row["name"])
    body = render_plan(
        facility=facility_name, round_name=round_name, tier=aim.tier_label, items=items, lang=lang
    )
    title = f"{say('planTitle', lang)} · {facility_name} · {round_name}"
    name = file_name(facility_name, round_name, say("planTitle", lang), extension="pdf")
    return title, name.removesuffix(".pdf"), body
