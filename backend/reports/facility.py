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

from backend.errors import AppError, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.schemas import STAGES
from backend.inspections.scope import ensure_facility_visible, visible_inspection_ids
from backend.inspections.tables import Inspection, Round
from backend.programme.analysis import region_chains
from backend.registry.tables import Facility
from backend.reports.printable import Printable, PrintableParams, esc
from backend.review.discrepancies import build_discrepancies, grade_rank
from backend.review.schemas import ArticleRow, ConclusionView, StoredConclusion
from backend.review.services import compute_conclusion
from backend.review.stored_conclusions import list_conclusions
from backend.standards.schemas import NA, Answer, GradedScoring, Standard
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles
from backend.vocabulary import answer_text, date_text, file_name, say
from media.blob_jobs import derivative_key
from media.storage import Storage, StorageError
from media.tables import Blob, BlobHolder
from media.upload_complete import holder_key
from sync.tables import Photo

STAGE_COLOUR = {"self": "#64748b", "county": "#2563eb", "city": "#16a34a", "province": "#b45309"}
PHOTOS_PER_ARTICLE = 4
PHOTOS_PER_REPORT = 240


async def facility_report(user: AuthUser, params: PrintableParams, storage: Storage) -> Printable:
    ensure_role(user, "admin", "office", "clinic")
    if params.facility_id is None or params.round_id is None:
        raise RuleRefused("a facility report needs facilityId and roundId", code="missing_parameter")
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

    lang = params.lang
    conclusions: dict[str, ConclusionView | str] = {}
    for r in rows:
        try:
            conclusions[r["stage"]] = await compute_conclusion(user=user, inspection_id=r["id"])
        except AppError as problem:  # a clinic reads no review conclusion; an unknown standard says so
            conclusions[r["stage"]] = say(f"problem_{problem.code}", lang, **problem.params)
    signed: dict[str, StoredConclusion] = {}
    if user.role != "clinic":
        for stored in await list_conclusions(user=user, facility_id=facility_id, round_id=round_id):
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
            f'<header class="report-head"><h1>{esc(say("report_title", lang))}</h1>'
            f'<p class="report-sub">{esc(round_row["name"])} · {esc(facility["name"])}</p></header>',
            _facility_section(facility, [names.get(c, "") for c in chain], lang),
            _conclusion_section(rows, conclusions, signed, lang),
            _chart_section(
                standard, view.items, [s.stage for s in view.reviews], view.self_assessment is not None, lang
            ),
            _discrepancy_section(view.items, [s.stage for s in view.reviews], lang),
            _photo_section(view.items, photos, lang),
            "</article>",
        ]
    )
    filename = file_name(
        facility["name"], round_row["name"], say("export_facility-report", lang), extension="pdf"
    )
    return Printable(
        title=title, filename=filename.removesuffix(".pdf"), body=body, lang="en" if lang == "en" else "zh-CN"
    )


def _facility_section(facility: dict[str, Any], chain: list[str], lang: str) -> str:
    county, city, province = chain
    rows = [
        ("report_name", facility["name"]),
        ("report_kind", say(f"facilityKind_{facility['kind']}", lang)),
        ("report_licence", facility["licence_number"]),
        ("report_region", " / ".join(x for x in (province, city, county) if x)),
        ("report_staff", facility["medical_staff_count"] or "—"),
        ("report_population", facility["service_population"] or "—"),
    ]
    cells = "".join(f"<dt>{esc(say(k, lang))}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return (
        f'<section class="report-section"><h2>{esc(say("report_facility", lang))}</h2>'
        f'<dl class="report-facts">{cells}</dl></section>'
    )


def _conclusion_section(
    rows: list[dict[str, Any]],
    conclusions: dict[str, ConclusionView | str],
    signed: dict[str, StoredConclusion],
    lang: str,
) -> str:
    heading = f'<section class="report-section"><h2>{esc(say("report_conclusion", lang))}</h2>'
    if not rows:
        return f"{heading}<p>{esc(say('report_noInspection', lang))}</p></section>"
    lines = []
    furthest: ConclusionView | None = None
    for r in rows:
        found = conclusions.get(r["stage"])
        stored = signed.get(r["stage"])
        sign = (
            f"{esc(stored.confirmed_by_name)} {esc(date_text(stored.confirmed_at, lang))}" if stored else "—"
        )
        if (
            stored is not None
            and isinstance(found, ConclusionView)
            # the sign-off moved the inspection it accepted one version on (the status, not the answers): a
            # version past the one it left is a change since
            and found.computed_from.inspection_version
            > (stored.signed_version if stored.signed_version is not None else stored.computed_from_version)
        ):
            # the sign-off is of an earlier version: its tier, not the one computed now, is what was signed
            said = {
                "version": stored.computed_from_version,
                "tier": stored.tier_label or say(f"conclusion_{stored.status}", lang),
            }
            sign += f'<br><small class="muted" data-testid="signed-earlier">{esc(say("signedEarlierVersion", lang, **said))}</small>'
        stage = esc(say(f"stage_{r['stage']}", lang))
        status = esc(say(f"status_{r['status']}", lang))
        if isinstance(found, ConclusionView):
            c = found.conclusion
            furthest = found
            known = c.known_message.say(lang) if c.known_message else c.known
            lines.append(
                f'<tr data-stage="{esc(r["stage"])}"><th>{stage}</th><td>{status}</td>'
                f"<td>{esc(c.tier_label or say(f'conclusion_{c.status}', lang))}</td>"
                f"<td>{esc(c.highest_certain_label or '—')}</td><td>{esc(known)}</td><td>{sign}</td></tr>"
            )
        else:
            lines.append(
                f'<tr data-stage="{esc(r["stage"])}"><th>{stage}</th><td>{status}</td>'
                f'<td colspan="3" class="muted">{esc(found or "")}</td><td>{sign}</td></tr>'
            )
    standings = ""
    if furthest is not None:
        c = furthest.conclusion
        items = "".join(
            f'<li class="standing {esc(s.standing)}"><strong>{esc(s.label)}</strong>: '
            f"{esc(say(f'standing_{s.standing}', lang))} — {esc(s.message.say(lang) if s.message else s.reason)}</li>"
            for s in c.standings
        )
        known = c.known_message.say(lang) if c.known_message else c.known
        standings = (
            f'<p class="report-known" data-testid="report-known">{esc(known)}</p>'
            f'<ul class="report-standings">{items}</ul>'
        )
    head = "".join(
        f"<th>{esc(say(code, lang))}</th>"
        for code in (
            "col_stage",
            "col_status",
            "col_tier",
            "col_highest_certain",
            "col_known",
            "report_signed",
        )
    )
    return (
        f'{heading}<table class="report-table"><thead><tr>{head}</tr></thead>'
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
    standard: Standard | None, items: list[ArticleRow], reviews: list[str], has_self: bool, lang: str
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
        f'aria-label="{esc(say("report_chart", lang))}" xmlns="http://www.w3.org/2000/svg">'
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
                f"<title>{esc(say(f'stage_{stage}', lang))}: {share:.0%}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 4}" font-size="10" fill="#1f2933">{share:.0%}</text>'
            )
    legend_y = height - 14
    for k, stage in enumerate(stages):
        x = label_w + k * 110
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{STAGE_COLOUR[stage]}"></rect>'
            f'<text x="{x + 16}" y="{legend_y}" font-size="11" fill="#1f2933">{esc(say(f"stage_{stage}", lang))}</text>'
        )
    parts.append("</svg>")
    return (
        f'<section class="report-section chart"><h2>{esc(say("report_chart", lang))}</h2>'
        f'<p class="muted">{esc(say("report_chartHelp", lang))}</p>'
        f"{''.join(parts)}</section>"
    )


def show(value: Answer | None, lang: str = "zh") -> str:
    return "—" if value is None else str(answer_text(value, lang))


def _discrepancy_section(items: list[ArticleRow], reviews: list[str], lang: str) -> str:
    heading = f'<section class="report-section"><h2>{esc(say("report_discrepancies", lang))}</h2>'
    if not reviews:
        return f"{heading}<p>{esc(say('report_noReview', lang))}</p></section>"
    head = "".join(f"<th>{esc(say(f'stage_{s}', lang))}</th>" for s in reviews)
    lines = []
    wide_rows = 0
    for row in items:
        if row.self_value is None and all(c.value is None for c in row.stages):
            continue
        cells = []
        wide = False
        for c in row.stages:
            cls = "gap-wide" if c.wide else ("differs" if c.difference in ("higher", "lower") else "")
            wide = wide or cls == "gap-wide"
            cells.append(f'<td class="{cls}">{esc(show(c.value, lang))}</td>')
        wide_rows += wide
        lines.append(
            f'<tr class="{"wide-gap" if wide else ""}" data-item="{esc(row.item)}" data-wide-gap="{str(wide).lower()}">'
            f"<th>{esc(row.item)}</th><td>{esc(row.title)}</td><td>{esc(show(row.self_value, lang))}</td>"
            f"{''.join(cells)}</tr>"
        )
    return (
        f'{heading}<p class="muted">{esc(say("report_wideRows", lang, n=wide_rows))}</p>'
        f'<table class="report-table discrepancies"><thead><tr><th>{esc(say("col_item", lang))}</th>'
        f"<th>{esc(say('col_article', lang))}</th><th>{esc(say('stage_self', lang))}</th>{head}</tr></thead>"
        f"<tbody>{''.join(lines)}</tbody></table></section>"
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


def _photo_section(items: list[ArticleRow], photos: dict[str, list[tuple[str, str]]], lang: str) -> str:
    heading = f"<h2>{esc(say('report_photos', lang))}</h2>"
    if not photos:
        return (
            f'<section class="report-section">{heading}<p>{esc(say("report_noPhotos", lang))}</p></section>'
        )
    titles = {row.item: row.title for row in items}
    blocks = []
    for item in [row.item for row in items if row.item in photos] + sorted(set(photos) - set(titles)):
        figures = "".join(
            f'<figure><img src="{uri}" alt="{esc(item)}"><figcaption>{esc(say(f"stage_{stage}", lang))}</figcaption></figure>'
            for stage, uri in photos[item]
        )
        blocks.append(
            f'<div class="report-photos" data-item="{esc(item)}"><h3>{esc(item)} {esc(titles.get(item, ""))}</h3>'
            f'<div class="thumbs">{figures}</div></div>'
        )
    return f'<section class="report-section photos">{heading}{"".join(blocks)}</section>'
