"""The rows of each round export, computed from the database first, then handed out block by block.

A source is a list of parts, each an async step (database reads, computing) returning a plain iterator of
row blocks that the export job pulls in a worker thread beside the writer; each block says how far the part
got in the source's units (inspections, facilities or rows) out of ``total``, for the progress bar.
Conclusions and rankings are computed one stage at a time (``round_results`` of that stage: a stage's peers
are ranked among themselves), so a province round is never in memory three stages at once. Answers and
discrepancies read the round's registers as one joined string per inspection and field (as ``round_results``
does) and decode one inspection at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from backend.db import fetch
from backend.errors import NotFound
from backend.inspections.schemas import STAGES
from backend.programme.analysis import region_chains
from backend.programme.exports import article_titles, conclusion_rows, ranking_rows
from backend.programme.round_results import RoundResults, round_results
from backend.registry.tables import Facility
from backend.review.answers import round_answers
from backend.review.discrepancies import compare, grade_gap, is_wide
from backend.standards.schemas import Answer, Standard
from backend.standards.services import get_standard
from backend.verdict.lists import list_entries, list_table
from backend.vocabulary import DEFAULT_LANGUAGE, answer_text, header, say

ROUND_KINDS = ("answers", "conclusions", "rankings", "discrepancies", "lists")
BLOCK_ROWS = 5000

Row = list[Any]
Blocks = Iterator[tuple[list[Row], int]]  # (rows, units done so far in the whole source)


@dataclass
class Source:
    header: list[str]
    sheet: str
    total: int
    parts: list[Callable[[], Awaitable[Blocks]]]


def _ready(blocks: Blocks) -> Callable[[], Awaitable[Blocks]]:
    async def part() -> Blocks:
        return blocks

    return part


# Columns in the reader's language (``col_<name>``): facilities by name with their county, stages and answers
# in words, each article with its title; no bare ids (the answers export keeps none, the others never had any).
ANSWER_COLUMNS = ("facility", "county", "stage", "item", "article", "value")
DISCREPANCY_COLUMNS = (
    "facility",
    "county",
    "stage",
    "item",
    "article",
    "self_value",
    "stage_value",
    "difference",
    "gap",
    "wide_gap",
)


async def round_source(
    kind: str, round_id: UUID, visible: set[UUID] | None, lang: str = DEFAULT_LANGUAGE
) -> Source:
    if kind == "lists":
        # the lists (达标名单) with Chinese headers, names and licence numbers (backend/verdict/lists.py)
        list_columns, rows = list_table(await list_entries(round_id, visible))
        return Source(list_columns, "达标名单", len(rows), [_ready(iter([(list(rows), len(rows))]))])
    query = Facility.select(Facility.id, Facility.name, Facility.region)
    facilities = {str(r["id"]): r for r in await query if visible is None or r["id"] in visible}
    _, names = await region_chains()
    county = {f: names.get(r["region"], "") for f, r in facilities.items()}
    if kind in ("conclusions", "rankings"):
        stages = await fetch(
            'SELECT CAST("facility" AS TEXT) AS "facility", "stage" FROM "inspection" WHERE "round" = {}',
            [round_id],
        )
        present = [stage for stage in STAGES if any(r["stage"] == stage for r in stages)]
        if kind == "conclusions":
            total = sum(1 for r in stages if r["facility"] in facilities and r["stage"] in STAGES)
            columns = [
                str(name) for name in next(conclusion_rows(RoundResults(), facilities, county, lang=lang))
            ]
            counter = [0]

            def conclusions_of(stage: str) -> Callable[[], Awaitable[Blocks]]:
                async def part() -> Blocks:
                    results = await round_results(round_id, [stage])
                    rows = conclusion_rows(results, facilities, county, lang=lang)
                    next(rows)  # the header, written once
                    return _counted(rows, counter)

                return part

            sheet = say("export_conclusions", lang)
            return Source(columns, sheet, total, [conclusions_of(stage) for stage in present])
        done = [0]
        titles = await article_titles(
            r["standard_version_id"]
            for r in await fetch(
                'SELECT "standard_version_id" FROM "inspection" WHERE "round" = {}', [round_id]
            )
        )

        def rankings_of(stage: str) -> Callable[[], Awaitable[Blocks]]:
            async def part() -> Blocks:
                results = await round_results(round_id, [stage])
                table = results.rankings.get(stage)
                if not table:
                    return iter(())
                rows = ranking_rows(
                    RoundResults(rankings={stage: table}), facilities, county, titles, lang=lang
                )
                next(rows)  # the header, written once
                return _per_facility(rows, done)

            return part

        columns = [
            str(name) for name in next(ranking_rows(RoundResults(), facilities, county, {}, lang=lang))
        ]
        parts = [rankings_of(stage) for stage in present]
        return Source(columns, say("export_rankings", lang), len(present) * len(facilities), parts)
    registers = await _registers(round_id, set(facilities))
    titles = await article_titles({i[2] for i in registers.inspections.values()})
    words = Words(lang, titles)
    if kind == "answers":
        return Source(
            header(ANSWER_COLUMNS, lang),
            say("export_answers", lang),
            len(registers.inspections),
            [_ready(_answer_blocks(registers, facilities, county, words))],
        )
    if kind == "discrepancies":
        standards: dict[str, Standard | None] = {}
        for sid in {i[2] for i in registers.inspections.values()}:
            try:
                standards[sid] = await get_standard(standard_id=sid)
            except NotFound:
                standards[sid] = None
        by_facility: dict[str, dict[str, str]] = defaultdict(dict)
        for iid, (facility, stage, _) in registers.inspections.items():
            by_facility[facility][stage] = iid
        return Source(
            header(DISCREPANCY_COLUMNS, lang),
            say("export_discrepancies", lang),
            len(by_facility),
            [_ready(_discrepancy_blocks(registers, by_facility, standards, facilities, county, words))],
        )
    raise NotFound(f"no round export {kind!r}", code="unknown_export_kind")


def _counted(rows: Iterator[Row], counter: list[int]) -> Blocks:
    """Rows in blocks; ``counter`` carries the count across the parts of a source."""
    block: list[Row] = []
    for row in rows:
        block.append(row)
        counter[0] += 1
        if len(block) >= BLOCK_ROWS:
            yield block, counter[0]
            block = []
    yield block, counter[0]


def _per_facility(rows: Iterator[Row], done: list[int]) -> Blocks:
    """Ranking rows in blocks; progress counts facilities (the rows come facility by facility)."""
    block: list[Row] = []
    last: object = None
    for row in rows:
        if row[0] != last:
            done[0] += 1
            last = row[0]
        block.append(row)
        if len(block) >= BLOCK_ROWS:
            yield block, done[0]
            block = []
    yield block, done[0]


@dataclass
class Registers:
    # inspection id → (facility id, stage, standard id), in (facility, stage) order
    inspections: dict[str, tuple[str, str, str]]
    # inspection id → item → answer (backend.review.answers.round_answers: N/A wins)
    by_inspection: dict[str, dict[str, Answer]]

    def answers(self, iid: str) -> dict[str, Answer]:
        return dict(sorted(self.by_inspection.get(iid, {}).items()))


async def _registers(round_id: UUID, facilities: set[str]) -> Registers:
    rows = await fetch(
        'SELECT CAST(i."id" AS TEXT) AS "id", CAST(i."facility" AS TEXT) AS "facility", i."stage", '
        'i."standard_version_id" FROM "inspection" i WHERE i."round" = {}',
        [round_id],
    )
    order = {s: n for n, s in enumerate(STAGES)}
    rows = [r for r in rows if r["facility"] in facilities and r["stage"] in order]
    rows.sort(key=lambda r: (r["facility"], order[r["stage"]]))
    answers, _ = await round_answers(round_id)
    return Registers({r["id"]: (r["facility"], r["stage"], r["standard_version_id"]) for r in rows}, answers)


@dataclass(frozen=True)
class Words:
    """How a document says stages, answers and articles to its reader."""

    lang: str
    titles: dict[str, dict[str, str]]  # standard id → article number → title

    def stage(self, stage: str) -> str:
        return say(f"stage_{stage}", self.lang)

    def title(self, standard_id: str, item: str) -> str:
        return self.titles.get(standard_id, {}).get(item, "")


def cell(value: Answer | None, lang: str = DEFAULT_LANGUAGE) -> Any:
    """Numbers stay numbers; met / not met and N/A as words a spreadsheet user reads."""
    return answer_text(value, lang)


def _answer_blocks(
    registers: Registers, facilities: dict[str, dict[str, Any]], county: dict[str, str], words: Words
) -> Iterator[tuple[list[Row], int]]:
    block: list[Row] = []
    for done, (iid, (facility, stage, sid)) in enumerate(registers.inspections.items(), 1):
        name = facilities[facility]["name"]
        for item, value in registers.answers(iid).items():
            block.append(
                [
                    name,
                    county[facility],
                    words.stage(stage),
                    item,
                    words.title(sid, item),
                    cell(value, words.lang),
                ]
            )
        if len(block) >= BLOCK_ROWS:
            yield block, done
            block = []
    yield block, len(registers.inspections)


def _discrepancy_blocks(
    registers: Registers,
    by_facility: dict[str, dict[str, str]],
    standards: dict[str, Standard | None],
    facilities: dict[str, dict[str, Any]],
    county: dict[str, str],
    words: Words,
) -> Iterator[tuple[list[Row], int]]:
    block: list[Row] = []
    done = 0
    for facility, stages in by_facility.items():
        done += 1
        own = registers.answers(stages["self"]) if "self" in stages else {}
        for stage in STAGES[1:]:
            iid = stages.get(stage)
            if iid is None:
                continue
            sid = registers.inspections[iid][2]
            standard = standards.get(sid)
            theirs = registers.answers(iid)
            for item in sorted(own.keys() | theirs.keys()):
                mine, review = own.get(item), theirs.get(item)
                difference = compare(standard, mine, review) if standard is not None else "not_comparable"
                gap = grade_gap(standard, mine, review) if standard is not None else None
                wide = standard is not None and is_wide(standard, gap)
                block.append(
                    [
                        facilities[facility]["name"],
                        county[facility],
                        words.stage(stage),
                        item,
                        words.title(sid, item),
                        cell(mine, words.lang),
                        cell(review, words.lang),
                        say(f"diff_{difference}", words.lang),
                        "" if gap is None else gap,
                        say("yes", words.lang) if wide else "",
                    ]
                )
        if len(block) >= BLOCK_ROWS:
            yield block, done
            block = []
    yield block, done
