"""The school's term report (学期后勤服务报告, seed 004): routine visits, fixes of critical items and the staff
appraisal, per school or per staff member (``subjectId``). The printable page and its PDF go through the shared
printable path (``term-report`` in ``registry.py``); the same rows as an XLSX workbook from ``term_workbook``,
both made by export jobs.
Every label is said from the vocabulary (``programmes.json``) in the reader's language."""

from __future__ import annotations

import io
from uuid import UUID

import anyio
import xlsxwriter

from backend.errors import RuleRefused
from backend.guards import AuthUser
from backend.inspections.rounds import round_by_id
from backend.inspections.scope import ensure_facility_visible
from backend.programme.fixes import list_fixes
from backend.programme.logistics_appraisal import term_data
from backend.programme.logistics_schemas import AppraisalOut, FixOut, VisitOut
from backend.programme.logistics_tables import RoutineSchedule
from backend.registry.tables import Facility
from backend.reports.printable import Printable, PrintableParams, esc
from backend.vocabulary import date_text, say
from media.storage import Storage


def _rater(code: str, label: str, lang: str) -> str:
    """A rater kind in the reader's words (``rater_<code>``); the standard's own label where none is known."""
    said = say(f"rater_{code}", lang)
    return label if said == f"rater_{code}" else said


def _joiner(lang: str) -> str:
    return "、" if lang == "zh" else ", "


def _status(status: str, lang: str) -> str:
    return say(f"status_{status}", lang)


def _fix_state(fix: FixOut, lang: str) -> str:
    if fix.status == "closed":
        return say("fixState_closed", lang, day=date_text(fix.closed_on, lang))
    if fix.passed_without_photo:
        return say("fixState_passed_without_photo", lang)
    return say("fixState_overdue" if fix.overdue else "fixState_open", lang)


def _fix_rows(fixes: list[FixOut], lang: str) -> list[list[object]]:
    return [
        [
            f"{f.article} {f.title}",
            date_text(f.raised_on, lang),
            date_text(f.due_on, lang),
            _fix_state(f, lang),
        ]
        for f in fixes
    ]


def _staff_rows(appraisals: list[AppraisalOut], lang: str) -> list[list[object]]:
    rows: list[list[object]] = []
    for a in appraisals:
        row: list[object] = [a.name, say(f"post_{a.post}", lang)]
        row += [r.score if r.score is not None else "—" for r in a.raters]
        row.append(
            a.combined
            if a.combined is not None
            else say(
                "termMissing",
                lang,
                raters=_joiner(lang).join(
                    _rater(r.rater, r.label, lang) for r in a.raters if r.score is None
                ),
            )
        )
        rows.append(row)
    return rows


def _staff_header(appraisals: list[AppraisalOut], lang: str) -> list[str]:
    raters = appraisals[0].raters if appraisals else []
    return [
        say("termStaffName", lang),
        say("termStaffPost", lang),
        *[f"{_rater(r.rater, r.label, lang)} {r.weight:.0%}" for r in raters],
        say("termCombined", lang),
    ]


def _visit_rows(visits: list[VisitOut], lang: str) -> list[list[object]]:
    joiner = _joiner(lang)
    return [
        [
            date_text(v.due_on, lang),
            _status(v.status, lang),
            f"{v.passed}/{v.applicable}",
            joiner.join(v.critical_failed) or "—",
        ]
        for v in visits
    ]


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="report-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


async def _gather(
    user: AuthUser, facility_id: UUID, round_id: UUID, staff_id: UUID | None
) -> tuple[str, str, int, list[VisitOut], list[FixOut], list[AppraisalOut]]:
    await ensure_facility_visible(user, facility_id)
    school = await Facility.select(Facility.name).where(Facility.id == facility_id).first()
    round_row = await round_by_id(round_id)
    fixes = await list_fixes(user=user, facility_id=facility_id, round_id=round_id)
    standard, visits, appraisals = await term_data(facility_id, round_id, staff_id)
    del standard
    schedule = (
        await RoutineSchedule.select(RoutineSchedule.every_days)
        .where((RoutineSchedule.facility == facility_id) & (RoutineSchedule.round == round_id))
        .first()
    )
    every = schedule["every_days"] if schedule else 0
    return school["name"] if school else "", round_row["name"], every, visits, fixes, appraisals


async def term_report(user: AuthUser, params: PrintableParams, storage: Storage) -> Printable:
    del storage  # no pictures: the fixes name their photos, the photos stay with the visits
    if params.facility_id is None or params.round_id is None:
        raise RuleRefused("a term report needs facilityId and roundId", code="missing_parameter")
    school, round_name, every, visits, fixes, appraisals = await _gather(
        user, params.facility_id, params.round_id, params.subject_id
    )
    lang = params.lang
    if params.subject_id is not None:
        title = say("termStaffReportTitle", lang, name=appraisals[0].name)
        filename = f"term-staff-{params.subject_id}"
    else:
        title = say("termReportTitle", lang)
        filename = f"term-report-{params.facility_id}"
    parts = [
        '<div class="report term-report">',
        f"<h1>{esc(title)}<small>{esc(school)} · {esc(round_name)}</small></h1>",
        f'<section class="report-section"><h2>{esc(say("termVisits", lang, every=every, n=len(visits)))}</h2>',
        _table(
            [
                say("termVisitDay", lang),
                say("termVisitStatus", lang),
                say("termPassed", lang),
                say("termCriticalFailed", lang),
            ],
            _visit_rows(visits, lang),
        ),
        "</section>",
        f'<section class="report-section"><h2>{esc(say("termFixes", lang))}</h2>',
        _table(
            [
                say("termFixArticle", lang),
                say("termFixRaised", lang),
                say("termFixDue", lang),
                say("termFixState", lang),
            ],
            _fix_rows(fixes, lang),
        ),
        "</section>",
        f'<section class="report-section"><h2>{esc(say("termStaff", lang))}</h2>',
        _table(_staff_header(appraisals, lang), _staff_rows(appraisals, lang))
        if appraisals
        else f'<p class="muted">{esc(say("termNoStaff", lang))}</p>',
        "</section></div>",
    ]
    return Printable(
        title=f"{title} · {school}",
        filename=filename,
        body="".join(parts),
        lang="en" if lang == "en" else "zh-CN",
    )


def _workbook(
    sheets: list[tuple[str, list[str], list[list[object]]]],
) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    for name, header, rows in sheets:
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, header, bold)
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, [c if isinstance(c, int | float) else str(c) for c in row])
    book.close()
    return buffer.getvalue()


async def term_workbook(user: AuthUser, params: PrintableParams) -> bytes:
    """The term report as a workbook in the reader's language: visits, fixes, staff appraisal (one sheet each);
    made by an export job (``POST /api/exports {kind: "term-report", format: "xlsx"}``)."""
    if params.facility_id is None or params.round_id is None:
        raise RuleRefused("a term report needs facilityId and roundId", code="missing_parameter")
    lang = params.lang
    _, _, _, visits, fixes, appraisals = await _gather(
        user, params.facility_id, params.round_id, params.subject_id
    )
    sheets: list[tuple[str, list[str], list[list[object]]]] = [
        (
            say("termVisitDay", lang),
            [
                say("termVisitDay", lang),
                say("termVisitStatus", lang),
                say("termPassed", lang),
                say("termCriticalFailed", lang),
            ],
            _visit_rows(visits, lang),
        ),
        (
            say("termFixes", lang),
            [
                say("termFixArticle", lang),
                say("termFixRaised", lang),
                say("termFixDue", lang),
                say("termFixState", lang),
            ],
            _fix_rows(fixes, lang),
        ),
        (say("termCombined", lang), _staff_header(appraisals, lang), _staff_rows(appraisals, lang)),
    ]
    return await anyio.to_thread.run_sync(_workbook, sheets)
