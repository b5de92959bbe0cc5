"""The province's two documents of a round as printable reports (the page and its PDF, like the facility
report): the confirmation (an official-notice draft, 发文确认, with the list as its attachment) and the list
filed nationally (备案: the recommended-tier facilities). Both read the round's lists (backend/verdict), so they
show the list as it stands: once confirmed, with the document's number and date.

Scope: admin (for the province named by ``subjectId``, or the round's region) and a province office."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.errors import Forbidden, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id
from backend.registry.scope import region_subtree
from backend.registry.tables import Facility, Region
from backend.reports.printable import Printable, PrintableParams, esc
from backend.verdict.lists import confirmations, list_entries, tier_words
from backend.vocabulary import say
from media.storage import Storage


async def _province(user: AuthUser, params: PrintableParams) -> tuple[dict[str, Any], dict[str, Any]]:
    ensure_role(user, "admin", "office")
    if params.round_id is None:
        raise RuleRefused("this document needs roundId", code="missing_parameter")
    round_row = await round_by_id(params.round_id)
    region_id: UUID | None = (
        user.region_id if user.role == "office" else (params.subject_id or round_row["region"])
    )
    region = await Region.select(Region.id, Region.name, Region.level).where(Region.id == region_id).first()
    if region is None or region["level"] != "province":
        raise Forbidden("the round's documents are the province office's", code="not_a_province")
    return round_row, region


async def _document(user: AuthUser, params: PrintableParams, kind: str) -> Printable:
    round_row, province = await _province(user, params)
    regions = await region_subtree(province["id"])
    visible = {
        r["id"] for r in await Facility.select(Facility.id).where(Facility.region.is_in(list(regions)))
    }
    entries = [e for e in await list_entries(round_row["id"], visible, self_results=False) if e.carried_tier]
    if kind == "filing":
        entries = [e for e in entries if e.carried_tier == "recommended"]
    done = next(
        (c for c in await confirmations(round_row["id"]) if c.kind == kind and c.region_id == province["id"]),
        None,
    )
    number = done.document_no if done else say("verdict.doc.number_blank")
    dated = str(done.document_date) if done else say("verdict.doc.date_blank")
    prefix = "verdict.doc.confirmation" if kind == "confirmation" else "verdict.doc.filing"
    title = say(f"{prefix}.title", round=round_row["name"])
    draft = "" if done else f'<p class="muted" data-testid="doc-draft">{esc(say("verdict.doc.draft"))}</p>'
    rows = "".join(
        f"<tr><td>{n}</td><td>{esc(e.city_name)}</td><td>{esc(e.county_name)}</td>"
        f"<td>{esc(e.facility_name)}</td><td>{esc(e.licence_number)}</td>"
        f"<td>{esc(tier_words(e.carried_tier, 'zh'))}</td></tr>"
        for n, e in enumerate(entries, 1)
    )
    columns = ("index", "city", "county", "facility", "licence", "tier")
    body = (
        f'<article class="report" data-testid="verdict-document" data-kind="{esc(kind)}">'
        f"{draft}<h1>{esc(title)}</h1>"
        f'<p class="report-sub">{esc(province["name"])} {esc(number)} · {esc(dated)}</p>'
        f"<p>{esc(say(f'{prefix}.to'))}</p>"
        f"<p>{esc(say(f'{prefix}.body', round=round_row['name'], count=len(entries)))}</p>"
        f"<p>{esc(say('verdict.doc.attachment'))}</p>"
        f"<h2>{esc(say(f'{prefix}.attachment_title', round=round_row['name']))}</h2>"
        '<table class="report-table" data-testid="doc-list"><thead><tr>'
        + "".join(f"<th>{esc(say(f'verdict.col.{c}'))}</th>" for c in columns)
        + f"</tr></thead><tbody>{rows}</tbody></table></article>"
    )
    return Printable(title=title, filename=f"{kind}-{round_row['id']}", body=body)


async def confirmation_notice(user: AuthUser, params: PrintableParams, storage: Storage) -> Printable:
    return await _document(user, params, "confirmation")


async def national_filing(user: AuthUser, params: PrintableParams, storage: Storage) -> Printable:
    return await _document(user, params, "filing")
