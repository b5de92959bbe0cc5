"""CSV exports of a round for the office: conclusions and rankings, streamed row block by row block.

Who may export (the guard checks the role; this function checks the scope again): admin (every facility) and
an office (the facilities of its region). Everything is computed by ``round_results`` first (a few seconds for
a province), then written out in blocks of rows, so the response never holds the whole file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Literal
from uuid import UUID

from backend.csv_cells import SafeCsvWriter
from backend.errors import Forbidden
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.scope import visible_facility_ids
from backend.programme.analysis import region_chains
from backend.programme.round_results import RoundResults, round_results
from backend.registry.tables import Facility

ExportKind = Literal["conclusions", "rankings"]
STAGES = ("self", "county", "city", "province")
_BLOCK = 2000


async def export_csv(*, user: AuthUser, round_id: UUID, kind: ExportKind) -> Iterator[bytes]:
    """The CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese names) as byte blocks."""
    ensure_role(user, "admin", "office")
    if not await round_visible(user, await round_by_id(round_id)):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    visible = await visible_facility_ids(user)
    results = await round_results(round_id, STAGES)
    query = Facility.select(Facility.id, Facility.name, Facility.region)
    facilities = {str(r["id"]): r for r in await query if visible is None or r["id"] in visible}
    _, names = await region_chains()
    county = {f: names.get(r["region"], "") for f, r in facilities.items()}
    rows = (
        conclusion_rows(results, facilities, county)
        if kind == "conclusions"
        else ranking_rows(results, facilities, county)
    )
    return _blocks(rows)


def conclusion_rows(
    results: RoundResults, facilities: dict[str, dict[str, object]], county: dict[str, str]
) -> Iterator[list[object]]:
    yield [
        "facility_id",
        "facility",
        "county",
        "stage",
        "inspection_id",
        "status",
        "tier",
        "highest_certain",
        "known",
        "verification",
        "error",
    ]
    for iid, (facility, stage) in sorted(
        results.where.items(), key=lambda kv: (kv[1][0], STAGES.index(kv[1][1]))
    ):
        if facility not in facilities:
            continue
        c = results.conclusions.get(iid)
        base = [facility, facilities[facility]["name"], county[facility], stage, iid]
        if c is None:
            yield [*base, "", "", "", "", "", results.errors.get(iid, "")]
        else:
            yield [*base, c.status, c.tier or "", c.highest_certain or "", c.known, c.verification, ""]


def ranking_rows(
    results: RoundResults, facilities: dict[str, dict[str, object]], county: dict[str, str]
) -> Iterator[list[object]]:
    yield ["facility_id", "facility", "county", "stage", "item", "scope", "rank", "tied", "of"]
    for stage in STAGES:
        tables = results.rankings.get(stage)
        if tables is None:
            continue
        for facility in sorted(facilities):
            for item, scope, place in tables.places_of(facility):
                yield [
                    facility,
                    facilities[facility]["name"],
                    county[facility],
                    stage,
                    item,
                    scope,
                    place.rank,
                    place.tied,
                    place.of,
                ]


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
