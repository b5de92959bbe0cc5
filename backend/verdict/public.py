"""The public results of a round (主动公开活动流程和结果，接受社会和群众监督): no sign-in; only facilities the
province has confirmed by its document, with their tier. Nothing else of the round is shown."""

from __future__ import annotations

from html import escape
from uuid import UUID

from backend.inspections.rounds import round_by_id
from backend.programme.analysis import region_chains
from backend.registry.tables import Facility
from backend.review.tables import ListConfirmation
from backend.verdict.schemas import PublicEntry, PublicResults
from backend.vocabulary import say

TIER_CODES = ("recommended", "basic", "qualified")


def tier_text(tier: str, lang: str) -> str:
    return say(f"verdict.tier.{tier}", lang) if tier in TIER_CODES else tier


async def public_results(round_id: UUID, lang: str = "zh") -> PublicResults:
    round_row = await round_by_id(round_id)
    rows = (
        await ListConfirmation.select(
            *ListConfirmation.all_columns(), ListConfirmation.region.name.as_alias("province_name")
        )
        .where((ListConfirmation.round == round_id) & (ListConfirmation.kind == "confirmation"))
        .order_by(ListConfirmation.confirmed_at)
        .output(load_json=True)
    )
    ids = [UUID(e["facilityId"]) for r in rows for e in r["entries"]]
    places = (
        {
            f["id"]: f["region"]
            for f in await Facility.select(Facility.id, Facility.region).where(Facility.id.is_in(ids))
        }
        if ids
        else {}
    )
    chains, names = await region_chains()
    entries = []
    for r in rows:
        for e in r["entries"]:
            county = places.get(UUID(e["facilityId"]))
            chain = chains.get(county) if county else None
            entries.append(
                PublicEntry(
                    facility_name=e["name"],
                    county_name=names.get(chain[0], "") if chain else "",
                    city_name=names.get(chain[1], "") if chain else "",
                    tier=e["tier"],
                    tier_label=tier_text(e["tier"], lang),
                )
            )
    entries.sort(
        key=lambda e: (TIER_CODES.index(e.tier) if e.tier in TIER_CODES else 9, e.city_name, e.county_name)
    )
    first = rows[0] if rows else None
    return PublicResults(
        round_id=round_id,
        round_name=round_row["name"],
        province_name=first["province_name"] if first else None,
        document_no=first["document_no"] if first else None,
        document_date=first["document_date"] if first else None,
        entries=entries,
    )


def public_page(results: PublicResults, lang: str) -> str:
    """The public page: plain HTML with the report stylesheet (no script)."""
    other = "en" if lang == "zh" else "zh"
    head = say("verdict.public.title", lang, round=results.round_name)
    if results.document_no is None:
        body = f'<p data-testid="public-none">{escape(say("verdict.public.none", lang))}</p>'
    else:
        rows = "".join(
            '<tr data-testid="public-entry">'
            f"<td>{escape(e.facility_name)}</td><td>{escape(e.city_name)}</td><td>{escape(e.county_name)}</td>"
            f"<td>{escape(e.tier_label)}</td></tr>"
            for e in results.entries
        )
        body = (
            f'<p class="report-sub">{escape(say("verdict.public.document", lang, province=results.province_name or "", documentNo=results.document_no, documentDate=str(results.document_date)))}</p>'
            '<table class="report-table"><thead><tr>'
            + "".join(
                f"<th>{escape(say(code, lang))}</th>"
                for code in (
                    "verdict.col.facility",
                    "verdict.col.city",
                    "verdict.col.county",
                    "verdict.col.tier",
                )
            )
            + f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    return (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(head)}</title>"
        '<link rel="icon" href="/static/icons/icon-192.png">'
        '<link rel="stylesheet" href="/static/report.css"></head>'
        f'<body><main class="report" data-testid="public-results"><h1>{escape(head)}</h1>{body}'
        f'<p class="muted">{escape(say("verdict.public.note", lang))} '
        f'<a href="?lang={other}">{escape(say("verdict.public.switch", lang))}</a></p></main></body></html>'
    )
