"""The improvement plan as a printable HTML fragment (the classes of the office's report stylesheet,
``report.css``), so the office's print/PDF path can print it like its facility report. Chinese, as the
plans are filed; every value is escaped."""

from __future__ import annotations

import html
from uuid import UUID

from backend.errors import NotFound
from backend.guards import AuthUser
from backend.improvement.schemas import ItemOut
from backend.improvement.services import plan_items, targets, today
from backend.inspections.tables import Inspection, Round
from backend.registry.tables import Facility

KIND_LABELS = {"soon": "近期能够实现", "continuous": "持续改进", "needs_support": "需要政府或部门支持"}
STATUS_LABELS = {"open": "未开始", "in_progress": "整改中", "done": "已完成", "needs_support": "待支持"}


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _row(item: ItemOut) -> str:
    status = STATUS_LABELS.get(item.status, item.status)
    if item.improved:
        status += f"（已改进 {item.grade_before}→{item.current_grade}）"
    due = esc(item.due_date or "—") + ("（已逾期）" if item.overdue else "")
    due_cell = '<td class="gap-wide">' if item.overdue else "<td>"
    return (
        f"<tr><td>{esc(item.item_code)} {esc(item.article_title)}</td><td>{esc(item.gap)}</td>"
        f"<td>{esc(item.owner or '—')}</td>{due_cell}{due}</td>"
        f"<td>{esc(status)}</td><td>{len(item.photo_ids)}</td></tr>"
    )


def render_plan(*, facility: str, round_name: str, tier: str | None, items: list[ItemOut]) -> str:
    """The fragment (pure): heading, progress, then a table per kind."""
    done = sum(i.status == "done" for i in items)
    overdue = sum(i.overdue for i in items)
    parts = [
        '<div class="report improvement-report">',
        f"<h1>整改计划<small>{esc(facility)} · {esc(round_name)}</small></h1>",
        f'<p class="report-sub">目标：{esc(tier or "—")} · 已完成 {done}/{len(items)} · 逾期 {overdue} 项'
        f" · {esc(today())}</p>",
    ]
    if not items:
        parts.append('<p class="muted">尚无整改项</p>')
    for kind, label in KIND_LABELS.items():
        mine = [i for i in items if i.kind == kind]
        if not mine:
            continue
        finished = sum(i.status == "done" for i in mine)
        parts.append(f'<section class="report-section"><h2>{esc(label)}（{finished}/{len(mine)}）</h2>')
        parts.append(
            '<table class="report-table"><thead><tr><th>条款</th><th>差距</th><th>责任人</th><th>完成时限</th>'
            "<th>状态</th><th>照片</th></tr></thead><tbody>"
        )
        parts.extend(_row(i) for i in sorted(mine, key=lambda i: (i.section_code, i.item_code)))
        parts.append("</tbody></table></section>")
    parts.append("</div>")
    return "".join(parts)


async def plan_fragment(*, user: AuthUser, facility_id: UUID, round_id: UUID) -> tuple[str, str, str]:
    """(title, file name without extension, HTML fragment) of a facility's plan at a round; the scope is
    checked by the services (a clinic its own plan, an office its region)."""
    row = (
        await Inspection.select(Inspection.id)
        .where(
            (Inspection.facility == facility_id)
            & (Inspection.round == round_id)
            & (Inspection.stage == "self")
        )
        .first()
    )
    if row is None:
        raise NotFound("that facility has no self-assessment at that round", code="inspection_not_found")
    items = await plan_items(user=user, inspection_id=row["id"])
    aim = await targets(user=user, inspection_id=row["id"])
    facility = await Facility.select(Facility.name).where(Facility.id == facility_id).first()
    round_row = await Round.select(Round.name).where(Round.id == round_id).first()
    facility_name = "" if facility is None else str(facility["name"])
    round_name = "" if round_row is None else str(round_row["name"])
    body = render_plan(facility=facility_name, round_name=round_name, tier=aim.tier_label, items=items)
    return f"整改计划 · {facility_name} · {round_name}", f"improvement-plan-{facility_id}", body
