"""The facility's report for a round: facility data, the conclusion with what is known, a per-section chart,
the self-assessment against each review stage (gaps of two grades or more marked), photo thumbnails per article.

Scope: admin; an office for facilities of its region; a clinic for its own facility, and then only what the
clinic may read elsewhere (its self-assessment's conclusion, review answers once a stage was returned to it).
"""

from __future__ import annotations

import base64
import contextlib
from collections import defaultdict
from typing import Any
from uuid import UUID

from backend.errors import AppError, NotFound, Unprocessable
from backend.guards import AuthUser, ensure_role
from backend.inspections.scope import ensure_facility_visible, visible_inspection_ids
from backend.inspections.tables import Inspection, Round
from backend.programme.analysis import region_chains
from backend.registry.tables import Facility
from backend.reports.printable import Printable, PrintableParams, esc
from backend.review import services as review
from backend.review.discrepancies import build_discrepancies, grade_rank
from backend.review.schemas import ArticleRow, ConclusionView, StoredConclusion
from backend.standards.schemas import NA, Answer, GradedScoring, Standard
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles
from media.storage import Storage, StorageError
from media.tables import Blob, BlobHolder
from media.upload_complete import holder_key
from media.worker import derivative_key
from sync.tables import Photo

STAGES = ("self", "county", "city", "province")
STAGE_LABEL = {"self": "自评 Self", "county": "县级 County", "city": "市级 City", "province": "省级 Province"}
STAGE_COLOUR = {"self": "#64748b", "county": "#2563eb", "city": "#16a34a", "province": "#b45309"}
KIND_LABEL = {
    "township_centre": "乡镇卫生院 Township health centre",
    "community_centre": "社区卫生服务中心 Community health centre",
    "village_clinic": "村卫生室 Village clinic",
    "community_station": "社区卫生服务站 Community health station",
}
STATUS_LABEL = {
    "in_progress": "进行中 in progress",
    "submitted": "已提交 submitted",
    "returned": "已退回 returned",
    "accepted": "已通过 accepted",
}
RESULT_LABEL = {
    "undetermined": "待定 undetermined",
    "not_evaluated": "不予评价 not evaluated",
    "incomplete": "未完成 incomplete",
}
STANDING_LABEL = {
    "reached": "达到 reached",
    "not_reached": "未达到 not reached",
    "undetermined": "待定 undetermined",
}
PHOTOS_PER_ARTICLE = 4
PHOTOS_PER_REPORT = 240


async def facility_report(user: AuthUser, params: PrintableParams, storage: Storage) -> Printable:
    ensure_role(user, "admin", "office", "clinic")
    if params.facility_id is None or params.round_id is None:
        raise Unprocessable("a facility report needs facilityId and roundId", code="missing_parameter")
    facility_id, round_id = params.facility_id, params.round_id
    await ensure_facility_visible(user, facility_id)
    round_row = await Round.select(Round.name, Round.year).where(Round.id == round_id).first()
    if round_row is None:
        raise NotFound(f"round {round_id} does not exist", code="round_not_found")
    facility = await Facility.select().where(Facility.id == facility_id).first()
    assert facility is not None  # ensure_facility_visible checked it exists
    chains, names = await region_chains()
    chain = chains.get(facility["region"], (facility["region"],) * 3)

    visible = await visible_inspection_ids(user)
    rows = await Inspection.select(Inspection.id, Inspection.stage, Inspection.status).where(
        (Inspection.facility == facility_id) & (Inspection.round == round_id)
    )
    rows = [r for r in rows if visible is None or r["id"] in visible]
    rows.sort(key=lambda r: STAGES.index(r["stage"]) if r["stage"] in STAGES else 9)
    ids = {r["id"] for r in rows}

    conclusions: dict[str, ConclusionView | str] = {}
    for r in rows:
        try:
            conclusions[r["stage"]] = await review.compute_conclusion(user=user, inspection_id=r["id"])
        except AppError as problem:  # a clinic reads no review conclusion; an unknown standard says so
            conclusions[r["stage"]] = problem.detail
    signed: dict[str, StoredConclusion] = {}
    if user.role != "clinic":
        for stored in await review.list_conclusions(user=user, facility_id=facility_id, round_id=round_id):
            signed[stored.stage] = stored  # oldest first: the latest sign-off per stage stays
    view = await build_discrepancies(facility_id=facility_id, round_id=round_id, inspections=ids)
    standard: Standard | None = None
    reference = view.self_assessment or (view.reviews[0] if view.reviews else None)
    if reference is not None:
        with contextlib.suppress(NotFound):
            standard = await get_standard(standard_id=reference.standard_id)
    photos = await _photos(ids, {r["id"]: r["stage"] for r in rows}, storage)

    title = f"{facility['name']} · {round_row['name']}"
    body = "".join(
        [
            '<article class="report" data-testid="report">',
            '<header class="report-head"><h1>基层医疗卫生机构服务能力评审报告 <small>Facility review report</small>'
            f'</h1><p class="report-sub">{esc(round_row["name"])} · {esc(facility["name"])}</p></header>',
            _facility_section(facility, [names.get(c, "") for c in chain]),
            _conclusion_section(rows, conclusions, signed),
            _chart_section(
                standard, view.items, [s.stage for s in view.reviews], view.self_assessment is not None
            ),
            _discrepancy_section(standard, view.items, [s.stage for s in view.reviews]),
            _photo_section(view.items, photos),
            "</article>",
        ]
    )
    return Printable(title=title, filename=f"report-{facility_id}-{round_id}", body=body)


def _facility_section(facility: dict[str, Any], chain: list[str]) -> str:
    county, city, province = chain
    rows = [
        ("机构名称 Name", facility["name"]),
        ("类别 Kind", KIND_LABEL.get(facility["kind"], facility["kind"])),
        ("执业许可证登记号 Licence", facility["licence_number"]),
        ("所在地区 Region", " / ".join(x for x in (province, city, county) if x)),
        ("卫生技术人员数 Medical staff", facility["medical_staff_count"] or "—"),
        ("服务人口 Service population", facility["service_population"] or "—"),
    ]
    cells = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return f'<section class="report-section"><h2>机构信息 Facility</h2><dl class="report-facts">{cells}</dl></section>'


def _conclusion_section(
    rows: list[dict[str, Any]],
    conclusions: dict[str, ConclusionView | str],
    signed: dict[str, StoredConclusion],
) -> str:
    if not rows:
        return '<section class="report-section"><h2>评审结论 Conclusion</h2><p>本轮尚无评审 No inspection in this round.</p></section>'
    lines = []
    furthest: ConclusionView | None = None
    for r in rows:
        found = conclusions.get(r["stage"])
        stored = signed.get(r["stage"])
        sign = (
            f"{esc(stored.confirmed_by_name)} {esc(stored.confirmed_at.date().isoformat())}"
            if stored
            else "—"
        )
        if isinstance(found, ConclusionView):
            c = found.conclusion
            furthest = found
            lines.append(
                f'<tr data-stage="{esc(r["stage"])}"><th>{esc(STAGE_LABEL.get(r["stage"], r["stage"]))}</th>'
                f"<td>{esc(STATUS_LABEL.get(r['status'], r['status']))}</td>"
                f"<td>{esc(c.tier_label or RESULT_LABEL.get(c.status, c.status))}</td>"
                f"<td>{esc(c.highest_certain_label or '—')}</td><td>{esc(c.known)}</td><td>{sign}</td></tr>"
            )
        else:
            lines.append(
                f'<tr data-stage="{esc(r["stage"])}"><th>{esc(STAGE_LABEL.get(r["stage"], r["stage"]))}</th>'
                f'<td>{esc(STATUS_LABEL.get(r["status"], r["status"]))}</td><td colspan="3" class="muted">{esc(found or "")}</td><td>{sign}</td></tr>'
            )
    standings = ""
    if furthest is not None:
        items = "".join(
            f'<li class="standing {esc(s.standing)}"><strong>{esc(s.label)}</strong>: '
            f"{esc(STANDING_LABEL.get(s.standing, s.standing))} — {esc(s.reason)}</li>"
            for s in furthest.conclusion.standings
        )
        standings = (
            f'<p class="report-known" data-testid="report-known">{esc(furthest.conclusion.known)}</p>'
            f'<ul class="report-standings">{items}</ul>'
        )
    return (
        '<section class="report-section"><h2>评审结论 Conclusion</h2>'
        '<table class="report-table"><thead><tr><th>阶段 Stage</th><th>状态 Status</th><th>结论 Result</th>'
        "<th>确定达到 Certain</th><th>已知 What is known</th><th>签署 Signed off</th></tr></thead>"
        f"<tbody>{''.join(lines)}</tbody></table>{standings}</section>"
    )


def _sections(standard: Standard | None) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """item → top-level section code, and the sections in order (code, title)."""
    if standard is None:
        return {}, []
    of: dict[str, str] = {}
    order: dict[str, str] = {}
    for _, article, chain in walk_articles(standard):
        of[article.number] = chain[0].code
        order.setdefault(chain[0].code, chain[0].title)
    return of, list(order.items())


def _score(standard: Standard, value: Answer | None) -> float | None:
    """0..1: a grade's place between the lowest and highest grade, met 1 / not met 0."""
    if value is None or value == NA:
        return None
    rank = grade_rank(standard, value)
    if rank is None:
        return None
    if isinstance(value, bool):
        return rank
    if not isinstance(standard.scoring, GradedScoring):
        return None
    grades = [g.rank for g in standard.scoring.grades]
    if len(grades) < 2:
        return None
    low, high = min(grades), max(grades)
    return (rank - low) / (high - low)


def _chart_section(
    standard: Standard | None, items: list[ArticleRow], reviews: list[str], has_self: bool
) -> str:
    section_of, sections = _sections(standard)
    stages = (["self"] if has_self else []) + reviews
    if standard is None or not sections or not stages:
        return ""
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in items:
        code = section_of.get(row.item)
        if code is None:
            continue
        values = {"self": row.self_value} | {c.stage: c.value for c in row.stages}
        for stage in stages:
            score = _score(standard, values.get(stage))
            if score is not None:
                sums[(code, stage)].append(score)
    bar, gap, label_w, width = 14, 10, 230, 680
    group = bar * len(stages) + gap
    height = group * len(sections) + 40
    parts = [
        f'<svg class="report-chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        'aria-label="分章节得分 Score by section" xmlns="http://www.w3.org/2000/svg">'
    ]
    scale = width - label_w - 60
    for i, (code, title) in enumerate(sections):
        y0 = i * group + 4
        label = f"{code} {title}"
        label = label if len(label) <= 16 else label[:15] + "…"
        parts.append(
            f'<text x="0" y="{y0 + bar * len(stages) / 2 + 4}" font-size="12" fill="#1f2933">{esc(label)}</text>'
        )
        for j, stage in enumerate(stages):
            found = sums.get((code, stage))
            y = y0 + j * bar
            if not found:
                parts.append(f'<text x="{label_w}" y="{y + bar - 3}" font-size="10" fill="#64748b">—</text>')
                continue
            share = sum(found) / len(found)
            w = max(1.0, share * scale)
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{STAGE_COLOUR[stage]}">'
                f"<title>{esc(STAGE_LABEL[stage])}: {share:.0%}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 4}" font-size="10" fill="#1f2933">{share:.0%}</text>'
            )
    legend_y = height - 14
    for k, stage in enumerate(stages):
        x = label_w + k * 110
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{STAGE_COLOUR[stage]}"></rect>'
            f'<text x="{x + 16}" y="{legend_y}" font-size="11" fill="#1f2933">{esc(STAGE_LABEL[stage])}</text>'
        )
    parts.append("</svg>")
    return (
        '<section class="report-section chart"><h2>分章节得分 Score by section</h2>'
        '<p class="muted">各章节条款平均等级（最高等级为 100%）Mean grade of the section\'s articles (top grade = 100%)</p>'
        f"{''.join(parts)}</section>"
    )


def show(value: Answer | None) -> str:
    if value is None:
        return "—"
    if value is True:
        return "符合 met"
    if value is False:
        return "不符合 not met"
    if value == NA:
        return "不适用 N/A"
    return str(value)


def _discrepancy_section(standard: Standard | None, items: list[ArticleRow], reviews: list[str]) -> str:
    if not reviews:
        return (
            '<section class="report-section"><h2>自评与评审差异 Self-assessment and reviews</h2>'
            "<p>尚无可比较的评审 No review to compare yet.</p></section>"
        )
    head = "".join(f"<th>{esc(STAGE_LABEL[s])}</th>" for s in reviews)
    lines = []
    wide_rows = 0
    for row in items:
        if row.self_value is None and all(c.value is None for c in row.stages):
            continue
        cells = []
        wide = False
        for c in row.stages:
            gap = None
            if standard is not None and row.self_value is not None and c.value is not None:
                a, b = grade_rank(standard, row.self_value), grade_rank(standard, c.value)
                if a is not None and b is not None and not isinstance(c.value, bool):
                    gap = abs(a - b)
            cls = (
                "gap-wide"
                if gap is not None and gap >= 2
                else ("differs" if c.difference in ("higher", "lower") else "")
            )
            wide = wide or cls == "gap-wide"
            cells.append(f'<td class="{cls}">{esc(show(c.value))}</td>')
        wide_rows += wide
        lines.append(
            f'<tr class="{"wide-gap" if wide else ""}" data-item="{esc(row.item)}" data-wide-gap="{str(wide).lower()}">'
            f"<th>{esc(row.item)}</th><td>{esc(row.title)}</td><td>{esc(show(row.self_value))}</td>{''.join(cells)}</tr>"
        )
    return (
        '<section class="report-section"><h2>自评与评审差异 Self-assessment and reviews</h2>'
        f'<p class="muted">相差两级及以上 {wide_rows} 条（标红）· {wide_rows} articles differ by two grades or more (marked)</p>'
        '<table class="report-table discrepancies"><thead><tr><th>条款 Article</th><th>标题 Title</th>'
        f"<th>{esc(STAGE_LABEL['self'])}</th>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></section>"
    )


async def _photos(
    inspections: set[UUID], stage_of: dict[UUID, str], storage: Storage
) -> dict[str, list[tuple[str, str]]]:
    """article → [(stage, data: URI of the thumbnail)] for stored photos, a few per article and stage."""
    if not inspections:
        return {}
    rows = (
        await Photo.select(Photo.inspection_id, Photo.item_code, Photo.sha256, Photo.created_by)
        .where(
            Photo.inspection_id.is_in(list(inspections)) & (Photo.deleted == False)  # noqa: E712
        )
        .order_by(Photo.created_at)
    )
    # only bytes the photo's author uploaded (issue 21: a known hash is no right to read)
    held = {
        r["key"]
        for r in await BlobHolder.select(BlobHolder.key).where(
            BlobHolder.key.is_in(
                [holder_key(r["sha256"], r["created_by"]) for r in rows if r["created_by"]] or [""]
            )
        )
    }
    rows = [r for r in rows if r["created_by"] is None or holder_key(r["sha256"], r["created_by"]) in held]
    shas = {r["sha256"] for r in rows}
    derived = {
        b["sha256"]
        for b in await Blob.select(Blob.sha256).where(
            Blob.sha256.is_in(list(shas) or [""]) & (Blob.state == "stored") & (Blob.derived == True)  # noqa: E712
        )
    }
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    per: dict[tuple[str, str], int] = defaultdict(int)
    total = 0
    for r in rows:
        stage = stage_of.get(r["inspection_id"], "")
        key = (r["item_code"], stage)
        if r["sha256"] not in derived or per[key] >= PHOTOS_PER_ARTICLE or total >= PHOTOS_PER_REPORT:
            continue
        try:
            data = await storage.get_bytes(derivative_key(r["sha256"], "thumb"))
        except StorageError:
            continue
        per[key] += 1
        total += 1
        out[r["item_code"]].append((stage, "data:image/jpeg;base64," + base64.b64encode(data).decode()))
    return out


def _photo_section(items: list[ArticleRow], photos: dict[str, list[tuple[str, str]]]) -> str:
    if not photos:
        return '<section class="report-section"><h2>佐证照片 Photos</h2><p>暂无已存储的照片 No stored photo yet.</p></section>'
    titles = {row.item: row.title for row in items}
    blocks = []
    for item in [row.item for row in items if row.item in photos] + sorted(set(photos) - set(titles)):
        figures = "".join(
            f'<figure><img src="{uri}" alt="{esc(item)}"><figcaption>{esc(STAGE_LABEL.get(stage, stage))}</figcaption></figure>'
            for stage, uri in photos[item]
        )
        blocks.append(
            f'<div class="report-photos" data-item="{esc(item)}"><h3>{esc(item)} {esc(titles.get(item, ""))}</h3>'
            f'<div class="thumbs">{figures}</div></div>'
        )
    return f'<section class="report-section photos"><h2>佐证照片 Photos</h2>{"".join(blocks)}</section>'
