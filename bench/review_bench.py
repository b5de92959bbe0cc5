"""Benchmark: a province-scale review round — every conclusion and every ranking — vs the per-facility path.

Run: .venv/bin/python bench/review_bench.py [--write] [--only sqlite|postgres]
  --write  replaces the "## Review: a province-scale round" section of docs/benchmarks.md.

Seeds a fresh database (SQLite file, or a new PostgreSQL database on 127.0.0.1:5432) with one province of
4 cities × 5 counties × 100 facilities (2,000), one round, and for every facility a county, city and province
inspection (6,000) graded on a 100-article standard (3 prerequisites + 100 answers each: 618,000 answer
registers). Then times:
- ``round_results`` (backend/programme/round_results.py): all 6,000 conclusions and every article's rank of
  every facility within its county, city and province for each of the three stages (best of 3); target < 3 s;
- the per-facility baseline, i.e. what the per-inspection and per-facility routes do: ``read_answers`` + the
  engine for each inspection, and ``facility_rankings`` for each facility; it is timed on a sample and scaled
  to the whole round (the sample and the scaling are printed).
Both paths must agree on every sampled conclusion and ranking, or the bench fails.

With ``--exports`` it instead times the round's XLSX exports (answers, conclusions, rankings, discrepancies)
as the export jobs build them: each export runs in a fresh child process (``fieldcheck``'s media worker with
the export handler, local storage), which reports its wall time and its RSS growth (peak RSS, from
getrusage, minus the RSS once the worker is ready); target < 150 MB. ``--exports --write`` replaces the
"## Exports: XLSX of a province-scale round" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from standards_bench import graded_standard  # noqa: E402 - the 100-article standard of the standards bench

HEADING = "## Review: a province-scale round"
EXPORT_HEADING = "## Exports: XLSX of a province-scale round"
EXPORT_KINDS = ("answers", "conclusions", "rankings", "discrepancies")
RSS_TARGET_MB = 150.0
DOCS = ROOT / "docs" / "benchmarks.md"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CITIES, COUNTIES, PER_COUNTY = 4, 5, 100
STAGES = ("county", "city", "province")
TARGET_SECONDS = 3.0
SAMPLE_INSPECTIONS = 150
SAMPLE_FACILITIES = 6
GRADE_WEIGHTS = (("A", 3), ("B", 4), ("C", 3), ("D", 1))


def _township(c: int, k: int, n: int, county: uuid.UUID) -> Any:
    from backend.registry.tables import Facility

    return Facility(
        name=f"卫生院{c}.{k}.{n}",
        kind="township_centre",
        licence_number=f"BL{c}{k}{n:04d}",
        licence_category="C",
        registered_first_name=f"卫生院{c}.{k}.{n}",
        region=county,
        medical_staff_count=5 + n % 30,
        service_population=5000 + n * 100,
    )


async def province_round(
    code: str, make_facility: Callable[[int, int, int, uuid.UUID], Any]
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The province-scale round's regions and facilities, shared by the benches (stages_bench too): one
    province 基准省 of CITIES × COUNTIES counties with PER_COUNTY facilities each, ``make_facility(city,
    county, n, county id)`` making each facility; region codes start with ``code``. Runs in the caller's
    write transaction. Returns the province's id and the facilities' ids in order."""
    from backend.registry.tables import Facility, Region

    province = Region(name="基准省", level="province", code=f"{code}P")
    await province.save()
    facilities: list[uuid.UUID] = []
    for c in range(CITIES):
        city = Region(name=f"市{c}", level="city", code=f"{code}C{c}", parent=province.id)
        await city.save()
        for k in range(COUNTIES):
            county = Region(name=f"县{c}.{k}", level="county", code=f"{code}K{c}.{k}", parent=city.id)
            await county.save()
            rows = [make_facility(c, k, n, county.id) for n in range(PER_COUNTY)]
            await Facility.insert(*rows)
            facilities.extend(r.id for r in rows)
    return province.id, facilities


async def seed(database_url: str, data_dir: Path) -> dict[str, Any]:
    from backend.db import bind_engine, fetch, make_engine, prepare_engine, write_tx
    from backend.guards import AuthUser
    from backend.inspections.tables import Round
    from backend.migrations import migrate
    from backend.settings import Settings
    from backend.standards.services import save_standard
    from backend.standards.validation import walk_articles
    from backend.tables_index import TABLES

    engine = make_engine(Settings(data_dir=str(data_dir), database_url=database_url))
    bind_engine(engine, TABLES)
    await prepare_engine(engine)
    await migrate(engine)
    standard = graded_standard()
    await save_standard(standard=standard, actor_id=None, publish=True, source="bench")
    articles = [a.number for _, a, _ in walk_articles(standard)]
    rng = random.Random(11)
    codes, weights = zip(*GRADE_WEIGHTS, strict=True)
    started = time.perf_counter()
    async with write_tx():
        province, facilities = await province_round("B", _township)
        bench_round = Round(name="基准轮次", year=2026, region=province)
        await bench_round.save()
        inspections: list[tuple[uuid.UUID, uuid.UUID, str]] = []
        insert = 'INSERT INTO "inspection" ("id", "facility", "round", "stage", "standard_version_id", "status") VALUES '
        chunk: list[tuple[uuid.UUID, uuid.UUID, str]] = []
        for facility in facilities:
            for stage in STAGES:
                chunk.append((uuid.uuid4(), facility, stage))
            if len(chunk) >= 300:
                await _insert_inspections(fetch, insert, chunk, bench_round.id, standard.id)
                inspections.extend(chunk)
                chunk = []
        if chunk:
            await _insert_inspections(fetch, insert, chunk, bench_round.id, standard.id)
            inspections.extend(chunk)
        registers: list[tuple[str, uuid.UUID, str, str]] = []
        for iid, _, _ in inspections:
            for p in ("P1", "P2", "P3"):
                registers.append((f"{iid}/{p}/value", iid, p, "false" if rng.random() < 0.02 else "true"))
            for number in articles:
                grade = rng.choices(codes, weights)[0]
                registers.append((f"{iid}/{number}/value", iid, number, msgspec.json.encode(grade).decode()))
            if len(registers) >= 4000:
                await _insert_registers(fetch, registers)
                registers = []
        if registers:
            await _insert_registers(fetch, registers)
    return {
        "round": bench_round.id,
        "facilities": facilities,
        "inspections": inspections,
        "standard": standard,
        "seconds": time.perf_counter() - started,
        "admin": AuthUser(id=uuid.uuid4(), username="bench", role="admin"),
        "admin_user": await _bench_user(),
    }


async def _bench_user() -> uuid.UUID:
    """A user row to sign the seeded county conclusions (a foreign key)."""
    from backend.accounts.tables import User

    user = User(username="bench-signer", password_hash="-", role="admin")  # noqa: S106 - no login
    await user.save()
    return user.id


async def _insert_inspections(
    fetch: Any, insert: str, chunk: list[Any], round_id: Any, standard: str
) -> None:
    values = ", ".join("({}, {}, {}, {}, {}, 'submitted')" for _ in chunk)
    args: list[Any] = []
    for iid, facility, stage in chunk:
        args += [iid, facility, round_id, stage, standard]
    await fetch(insert + values, args)


async def _insert_registers(fetch: Any, rows: list[tuple[str, uuid.UUID, str, str]]) -> None:
    for start in range(0, len(rows), 1000):
        part = rows[start : start + 1000]
        values = ", ".join("({}, {}, {}, 'value', {}, 1)" for _ in part)
        args: list[Any] = []
        for key, iid, item, value in part:
            args += [key, iid, item, value]
        await fetch(
            'INSERT INTO "answer_register" ("key", "inspection_id", "item_code", "field", "value", "version") '
            "VALUES " + values,
            args,
        )


async def measure(setup: dict[str, Any], repeats: int = 3) -> dict[str, Any]:
    from backend.inspections.tables import Inspection
    from backend.programme.analysis import facility_rankings
    from backend.programme.round_results import round_results
    from backend.review.answers import conclude_answers, facility_figures, inspection_columns, read_answers

    best = float("inf")
    results = None
    for _ in range(repeats):
        started = time.perf_counter()
        results = await round_results(setup["round"])
        best = min(best, time.perf_counter() - started)
    assert results is not None
    places = sum(r.ranked for r in results.rankings.values())
    # every place materialised once, as an export would stream them
    started = time.perf_counter()
    listed = sum(
        1
        for stage in results.rankings.values()
        for facility in setup["facilities"]
        for _ in stage.places_of(str(facility))
    )
    materialise = time.perf_counter() - started
    assert listed == places

    verdict = await measure_verdict(setup, results, repeats)

    rng = random.Random(5)
    standard = setup["standard"]
    sample = rng.sample(setup["inspections"], SAMPLE_INSPECTIONS)
    started = time.perf_counter()
    for iid, _, _ in sample:
        row = await Inspection.select(*inspection_columns()).where(Inspection.id == iid).first()
        answers = await read_answers(iid)
        conclusion, _, _ = conclude_answers(standard, answers, facility_figures(row))
        fast = results.conclusions[str(iid)]
        if (conclusion.status, conclusion.tier, conclusion.reasons) != (fast.status, fast.tier, fast.reasons):
            raise SystemExit(f"conclusions differ for inspection {iid}")
    naive_conclusions = (time.perf_counter() - started) * len(setup["inspections"]) / SAMPLE_INSPECTIONS

    facilities = rng.sample(setup["facilities"], SAMPLE_FACILITIES)
    started = time.perf_counter()
    for facility in facilities:
        for stage in STAGES:
            ranking = await facility_rankings(
                user=setup["admin"], facility_id=facility, round_id=setup["round"], stage=stage
            )
            for article in ranking.articles:
                for place in article.places:
                    fast_place = results.rankings[stage].place(str(facility), article.item, place.scope)
                    if fast_place is None or (place.rank, place.tied, place.of) != (
                        fast_place.rank,
                        fast_place.tied,
                        fast_place.of,
                    ):
                        raise SystemExit(f"rankings differ for {facility} {article.item} {place.scope}")
    naive_rankings = (time.perf_counter() - started) * len(setup["facilities"]) / SAMPLE_FACILITIES
    statuses: dict[str, int] = {}
    for c in results.conclusions.values():
        key = c.tier or c.status
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "seconds": best,
        "inspections": results.inspections,
        "registers": results.registers,
        "places": places,
        "materialise": materialise,
        "errors": len(results.errors),
        "naive_conclusions": naive_conclusions,
        "naive_rankings": naive_rankings,
        "outcomes": dict(sorted(statuses.items())),
        "seed_seconds": setup["seconds"],
        **verdict,
    }


async def measure_verdict(setup: dict[str, Any], results: Any, repeats: int) -> dict[str, Any]:
    """The round with the verdict and the lists: every facility applies (basic), its county conclusion is
    signed with the tier the rules give (seeded once, untimed); then timed together: ``round_results``, the
    verdict each conclusion would get at sign-off (``review.decision.proposal``) and the round's lists
    (``verdict.lists.list_entries``: the flow of every facility, samples, removals, confirmations)."""
    from backend.db import write_tx
    from backend.inspections.tables import Application
    from backend.programme.round_results import round_results
    from backend.review.decision import proposal, signed_tier
    from backend.review.tables import ConfirmedConclusion
    from backend.verdict.lists import list_entries

    standard = setup["standard"]
    admin_id = setup["admin_user"]
    county = {iid: f for iid, f, stage in setup["inspections"] if stage == "county"}
    async with write_tx():
        await Application.insert(
            *[Application(facility=f, round=setup["round"], tier="basic") for f in setup["facilities"]]
        )
        rows = []
        for iid, facility in county.items():
            conclusion = results.conclusions[str(iid)]
            tier = signed_tier(standard, conclusion) or "basic"
            rows.append(
                ConfirmedConclusion(
                    inspection=iid,
                    facility=facility,
                    round=setup["round"],
                    stage="county",
                    standard_version_id=standard.id,
                    status="determined",
                    tier=tier,
                    tier_label=tier,
                    verification="verified",
                    explanation="{}",
                    computed_from_version=1,
                    answer_count=100,
                    confirmed_by=admin_id,
                    decided_by="standard",
                )
            )
        for start in range(0, len(rows), 500):
            await ConfirmedConclusion.insert(*rows[start : start + 500])
    best = cpu = float("inf")
    entries: list[Any] = []
    decided: dict[str, int] = {}
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        fresh = await round_results(setup["round"])
        decided = {}
        for conclusion in fresh.conclusions.values():
            source, tier, _ = proposal(standard, conclusion, None)
            key = f"{source}:{tier}"
            decided[key] = decided.get(key, 0) + 1
        entries = await list_entries(setup["round"], None)
        best = min(best, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - cpu_started)
    states: dict[str, int] = {}
    for e in entries:
        states[e.state] = states.get(e.state, 0) + 1
    return {
        "verdict_seconds": best,
        "verdict_cpu": cpu,
        "verdicts": dict(sorted(decided.items())),
        "list_states": states,
    }


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def export_setup(database_url: str, data_dir: Path) -> uuid.UUID:
    """An admin account to ask for the exports (the job runs with the requester's rights)."""
    import secrets

    from backend.accounts.schemas import CreateUserRequest
    from backend.accounts.services import create_user

    made = await create_user(
        data=CreateUserRequest(username="bench-admin", password=secrets.token_hex(8), role="admin"),
        actor_id=None,
    )
    return made.id


async def queue_export(user_id: uuid.UUID, round_id: uuid.UUID, kind: str) -> uuid.UUID:
    from backend.accounts.schemas import AuthUser
    from backend.exports.schemas import ExportRequest
    from backend.exports.services import start_export

    user = AuthUser(id=user_id, username="bench-admin", role="admin")
    job = await start_export(user=user, data=ExportRequest(kind=kind, format="xlsx", round_id=round_id))
    return job.id


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


async def export_child(database_url: str, data_dir: str) -> dict[str, Any]:
    """In a fresh process: run the due export job as ``fieldcheck worker --once`` would, measure it."""
    import resource

    from backend.db import bind_engine, make_engine, prepare_engine
    from backend.exports.tables import ExportJob
    from backend.settings import Settings
    from backend.storage import build_storage
    from backend.tables_index import TABLES
    from backend.workers import build_media_worker

    settings = Settings(data_dir=data_dir, database_url=database_url)
    engine = make_engine(settings)
    bind_engine(engine, TABLES)
    await prepare_engine(engine)
    storage = build_storage(settings)
    worker = build_media_worker(settings, engine, storage)
    await ExportJob.count()  # connection and tables warm before the baseline
    base = rss_mb()
    started = time.perf_counter()
    handled = await worker.run_once()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = await ExportJob.select().order_by(ExportJob.created_at, ascending=False).first()
    assert row is not None
    return {
        "handled": handled,
        "seconds": seconds,
        "base_mb": base,
        "growth_mb": peak - base,
        "status": row["status"],
        "rows": row["rows"],
        "size": row["size"] or 0,
        "error": row["error"],
    }


async def run_exports(kind: str) -> dict[str, Any]:
    import json
    import subprocess

    tmp = Path(tempfile.mkdtemp(prefix="fc-export-bench-"))
    database_url, dbname = "", ""
    if kind == "postgres":
        dbname = f"fc_bench_{uuid.uuid4().hex[:10]}"
        await _pg_admin(f'CREATE DATABASE "{dbname}"')
        database_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    try:
        setup = await seed(database_url, tmp)
        user_id = await export_setup(database_url, tmp)
        out: dict[str, Any] = {"seed_seconds": setup["seconds"], "kinds": {}}
        for export in EXPORT_KINDS:
            await queue_export(user_id, setup["round"], export)
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, __file__, "--export-child", database_url or "-", str(tmp)],
                capture_output=True,
                text=True,
                check=True,
                timeout=1800,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if result["status"] != "done":
                raise SystemExit(f"{export} export ended {result['status']}: {result['error']}")
            out["kinds"][export] = result
            print(
                f"{kind} {export}: {result['rows']:,} rows, {result['size'] / 1e6:.1f} MB in "
                f"{result['seconds']:.1f} s, RSS +{result['growth_mb']:.0f} MB",
                flush=True,
            )
        return out
    finally:
        from backend.db import current_engine

        engine = current_engine()
        if hasattr(engine, "close_connection_pool"):
            await engine.close_connection_pool()
        if dbname:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def render_exports(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        EXPORT_HEADING,
        "",
        f"The round of the review bench ({CITIES * COUNTIES * PER_COUNTY:,} facilities × 100 articles × 3 stages, "
        f"618,000 answer registers) exported as XLSX by the export job (backend/exports: XlsxWriter in "
        f"constant-memory mode, rows pulled block by block in a worker thread), each export in a fresh worker "
        f"process; Python {platform.python_version()} on {platform.machine()}. Target: the exporting process's RSS "
        f"growth < {RSS_TARGET_MB:g} MB.",
        "",
        "| database | export | rows | file | time | RSS growth |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for db, r in results.items():
        for export, k in r["kinds"].items():
            lines.append(
                f"| {db} | {export} | {k['rows']:,} | {k['size'] / 1e6:.1f} MB | {k['seconds']:.1f} s | "
                f"{k['growth_mb']:.0f} MB |"
            )
    lines += [
        "",
        "- RSS growth = peak RSS of the worker process (getrusage) minus its RSS once the worker is ready; time = "
        "the job from claim to done (computing the round, writing the sheet, storing the file).",
        "- conclusions and rankings compute the round one stage at a time (`round_results` of that stage, as the "
        "review bench does for all three), so one stage's registers and rank tables are in memory at once; answers "
        "and discrepancies read the registers joined per inspection and decode one inspection at a time. The bench "
        "round has no self-assessments, so every discrepancy row says `missing` (the rows are written all the same).",
        "- Most of the time is XlsxWriter's own per-cell work (about 10 µs a cell on this machine while other work "
        "kept its 2 cores busy, load average 4.5 to 9); writing the same 7-column rows as CSV is about 20 times "
        "faster (100,000 rows: 0.4 s as CSV, 8.6 s as XLSX through `backend/exports/writers.py`, load average 8.8).",
        '- rankings has 1,800,000 rows: past 1,048,576 rows it continues on a second sheet "rankings (2)".',
        "- Command: `.venv/bin/python bench/review_bench.py --exports --write`",
        "",
    ]
    return "\n".join(lines)


async def run_db(kind: str) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="fc-review-bench-"))
    database_url, dbname = "", ""
    if kind == "postgres":
        dbname = f"fc_bench_{uuid.uuid4().hex[:10]}"
        await _pg_admin(f'CREATE DATABASE "{dbname}"')
        database_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    try:
        setup = await seed(database_url, tmp)
        before = os.getloadavg()[0]
        measured = await measure(setup)
        return {**measured, "load": (before, os.getloadavg()[0])}
    finally:
        from backend.db import current_engine

        engine = current_engine()
        if hasattr(engine, "close_connection_pool"):
            await engine.close_connection_pool()
        if dbname:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def render(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        HEADING,
        "",
        f"{CITIES * COUNTIES * PER_COUNTY:,} facilities ({CITIES} cities × {COUNTIES} counties × {PER_COUNTY}) × "
        f"100 articles × 3 stages; Python {platform.python_version()} on {platform.machine()}. Target: every "
        f"conclusion plus all rankings in < {TARGET_SECONDS:g} s.",
        "",
        "| database | round_results (best of 3) | with the verdict and the lists | its CPU time | per-facility path (scaled) | speed-up (verdict and lists) | registers read | places ranked | load average (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, r in results.items():
        naive = r["naive_conclusions"] + r["naive_rankings"]
        lines.append(
            f"| {kind} | {r['seconds']:.2f} s | {r['verdict_seconds']:.2f} s | {r['verdict_cpu']:.2f} s | {naive:.0f} s | "
            f"{naive / r['seconds']:.0f}× ({naive / r['verdict_seconds']:.0f}×) | {r['registers']:,} | "
            f"{r['places']:,} | {r['load'][0]:.1f} → {r['load'][1]:.1f} |"
        )
    lines.append("")
    for kind, r in results.items():
        lines.append(
            f"- {kind}: per-facility path = read_answers + engine per inspection ({SAMPLE_INSPECTIONS} sampled, "
            f"{r['naive_conclusions']:.0f} s scaled to {r['inspections']:,}) + facility_rankings per facility and "
            f"stage ({SAMPLE_FACILITIES} facilities sampled, {r['naive_rankings']:.0f} s scaled); both agree on "
            f"every sampled conclusion and place. Listing every place (as an export streams them) takes a further "
            f"{r['materialise']:.2f} s. Outcomes: {r['outcomes']}; seeding took {r['seed_seconds']:.0f} s. "
            f"With the verdict and the lists: round_results, each conclusion's verdict at sign-off "
            f"({r['verdicts']}) and the round's lists over 2,000 applicants with signed county verdicts "
            f"({r['list_states']})."
        )
    lines += [
        "- The machine's 2 cores are shared with other work (the load average, from `os.getloadavg()` like "
        "`uptime`, is given before and after each database's timings): above a load of 2 every wall time grows "
        "with it, so read the figures with the load in mind; the speed-ups are ratios within one run. The CPU "
        "time (`time.process_time()`, this process's threads: the app and, on SQLite, the database's reads; "
        "PostgreSQL's server works in its own processes, not counted) is what the work costs without the wait "
        "for a core: the wall time is never below it, and comes close to it only on a quiet machine (the < 3 s "
        "target is shown by the wall time, so a run under load does not show it).",
        "- The lists used to take 1.5 to 2.4 s of this: asking for the self-assessments' results, SQLite scanned "
        "every answer register of the database twice (values, then N/A) even where the round has no "
        "self-assessment; round_results now starts from the round's inspections of the stages asked for and "
        "reads values and N/A in one pass, and the self stage is concluded without rank tables (0.1 s).",
        "- Command: `.venv/bin/python bench/review_bench.py --write`",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str, heading: str = HEADING) -> None:
    doc = DOCS.read_text()
    pattern = re.compile(rf"{re.escape(heading)}\n.*?(?=\n## |\Z)", re.S)
    doc = (
        pattern.sub(text.rstrip("\n") + "\n", doc)
        if pattern.search(doc)
        else doc.rstrip("\n") + "\n\n" + text
    )
    DOCS.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--exports", action="store_true", help="time the XLSX exports instead")
    parser.add_argument(
        "--export-child", nargs=2, metavar=("DATABASE_URL", "DATA_DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.export_child:
        import json

        url, data_dir = args.export_child
        print(json.dumps(asyncio.run(export_child("" if url == "-" else url, data_dir))))
        return
    if args.exports:
        done = {}
        for kind in ("sqlite", "postgres"):
            if not args.only or args.only == kind:
                done[kind] = asyncio.run(run_exports(kind))
        text = render_exports(done)
        print(text)
        if args.write:
            write_section(text, EXPORT_HEADING)
        over = [
            f"{db} {k}"
            for db, r in done.items()
            for k, v in r["kinds"].items()
            if v["growth_mb"] >= RSS_TARGET_MB
        ]
        if over:
            raise SystemExit(f"RSS target missed: {', '.join(over)}")
        return
    results = {}
    for kind in ("sqlite", "postgres"):
        if args.only and args.only != kind:
            continue
        results[kind] = asyncio.run(run_db(kind))
        r = results[kind]
        print(
            f"{kind}: {r['seconds']:.2f} s for {r['inspections']} conclusions + {r['places']} places",
            flush=True,
        )
    text = render(results)
    print(text)
    failed = [k for k, r in results.items() if r["verdict_seconds"] >= TARGET_SECONDS]
    if args.write:
        write_section(text)
    if failed:
        raise SystemExit(f"target missed on {', '.join(failed)}")


if __name__ == "__main__":
    main()
