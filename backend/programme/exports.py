"""CSV exports of a round for the office: conclusions and rankings, streamed row block by row block.

Who may export (the guard checks the role; this function checks the scope again): admin (every facility) and
an office (the facilities of its region). Everything is computed by ``round_results`` first (a few seconds for
a province), then written out in blocks of rows, so the response never holds the whole file.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Literal
from uuid import UUID

from backend.csv_cells import SafeCsvWriter
from backend.errors import Forbidden, NotFound
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.schemas import STAGES
from backend.inspections.scope import visible_facility_ids
from backend.programme.analysis import region_chains
from backend.programme.round_results import RoundResults, round_results
from backend.registry.tables import Facility
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles
from backend.vocabulary import DEFAULT_LANGUAGE, file_name, header, say

ExportKind = Literal["conclusions", "rankings"]
_BLOCK = 2000


async def export_csv(
    *, user: AuthUser, round_id: UUID, kind: ExportKind, lang: str = DEFAULT_LANGUAGE
) -> tuple[str, Iterator[bytes]]:
    """The CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese names) as byte blocks."""
    ensure_role(user, "admin", "office")
    round_row = await round_by_id(round_id)
    if not await round_visible(user, round_row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    visible = await visible_facility_ids(user)
    results = await round_results(round_id, STAGES)
    query = Facility.select(Facility.id, Facility.name, Facility.region)
    facilities = {str(r["id"]): r for r in await query if visible is None or r["id"] in visible}
    _, names = await region_chains()
    county = {f: names.get(r["region"], "") for f, r in facilities.items()}
    rows = (
        conclusion_rows(results, facilities, county, lang=lang)
        if kind == "conclusions"
        else ranking_rows(results, facilities, county, await _ranked_titles(results), lang=lang)
    )
    return file_name(round_row["name"], say(f"export_{kind}", lang), extension="csv"), _blocks(rows)


# Columns in the reader's language (``col_<name>`` of the vocabulary); facilities by name, codes spelled out.
CONCLUSION_COLUMNS = (
    "facility",
    "county",
    "stage",
    "status",
    "tier",
    "highest_certain",
    "known",
    "verification",
)
RANKING_COLUMNS = ("facility", "county", "stage", "item", "article", "scope", "rank", "tied", "of")


def conclusion_rows(
    results: RoundResults,
    facilities: dict[str, dict[str, object]],
    county: dict[str, str],
    *,
    lang: str = DEFAULT_LANGUAGE,
) -> Iterator[list[object]]:
    yield list[object](header(CONCLUSION_COLUMNS, lang))
    for iid, (facility, stage) in sorted(
        results.where.items(),
        key=lambda kv: (str(facilities.get(kv[1][0], {}).get("name")), kv[1][0], STAGES.index(kv[1][1])),
    ):
        if facility not in facilities:
            continue
        c = results.conclusions.get(iid)
        base = [facilities[facility]["name"], county[facility], say(f"stage_{stage}", lang)]
        if c is None:  # an unknown standard, or answers that do not fit it
            yield [*base, say("conclusion_error", lang), "", "", "", ""]
            continue
        known = c.known_message.say(lang) if c.known_message else c.known
        yield [
            *base,
            say(f"conclusion_{c.status}", lang),
            c.tier_label or "",
            c.highest_certain_label or "",
            known,
            say(f"verification_{c.verification}", lang),
        ]


def ranking_rows(
    results: RoundResults,
    facilities: dict[str, dict[str, object]],
    county: dict[str, str],
    titles: dict[str, dict[str, str]],
    *,
    lang: str = DEFAULT_LANGUAGE,
) -> Iterator[list[object]]:
    """``titles``: standard id → article number → title (an article with no title found shows none)."""
    yield list[object](header(RANKING_COLUMNS, lang))
    for stage in STAGES:
        tables = results.rankings.get(stage)
        if tables is None:
            continue
        for facility in sorted(facilities, key=lambda f: (str(facilities[f]["name"]), f)):
            named = titles.get(tables.standard_of(facility) or "", {})
            for item, scope, place in tables.places_of(facility):
                yield [
                    facilities[facility]["name"],
                    county[facility],
                    say(f"stage_{stage}", lang),
                    item,
                    named.get(item, ""),
                    say(scope, lang),
                    place.rank,
                    place.tied,
                    place.of,
                ]


async def _ranked_titles(results: RoundResults) -> dict[str, dict[str, str]]:
    standards = {
        sid
        for tables in results.rankings.values()
        for f in {where[0] for where in results.where.values()}
        if (sid := tables.standard_of(f))
    }
    return await article_titles(standards)


async def article_titles(standard_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """standard id → article number → title, for the standards that are known."""
    out: dict[str, dict[str, str]] = {}
    for sid in set(standard_ids):
        try:
            standard = await get_standard(standard_id=sid)
        except NotFound:
            continue
        out[sid] = {article.number: article.title for _, article, _ in walk_articles(standard)}
    return out


def _blocks(rows: Iterator[list[object]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    buffer.write("\ufeff")
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % _BLOCK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
