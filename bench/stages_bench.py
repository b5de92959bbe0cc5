"""Benchmark: the office's stage calendar (due / overdue) and the programme's targets over a province round.

Run: .venv/bin/python bench/stages_bench.py [--write] [--only sqlite|postgres]
  --write  replaces the "## Stages: calendar and targets of a province round" section of docs/benchmarks.md.

Seeds a fresh database (SQLite file, or a new PostgreSQL database on 127.0.0.1:5432) with the shipped standards
and one province of 4 cities × 5 counties × 100 facilities (2,000; every third a 社区卫生服务中心), one round
with its calendar, a self-assessment and an application per facility (a third recommended), a county review
signed off for half of them. Then times (best of 3):
- ``stage_progress.calendar``: every stage's expected / done / pending with the pending facilities' names;
- ``stage_progress.targets``: every target per county;
against the baseline in the same run: the per-facility rules the programme already has
(``rules.selection`` and ``rules.concluded`` for each facility and stage), timed on a sample and scaled to the
round. Both must agree on the sampled facilities, or the bench fails. Target: calendar + targets < 1 s.
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
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from review_bench import CITIES, COUNTIES, PER_COUNTY, province_round  # noqa: E402 - the same province round

HEADING = "## Stages: calendar and targets of a province round"
DOCS = ROOT / "docs" / "benchmarks.md"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS = 1.0
SAMPLE = 60
TOWNSHIP, COMMUNITY = "cn-thc-capacity-2018", "cn-chsc-capacity-2018"


def _facility(c: int, k: int, n: int, county: uuid.UUID) -> Any:
    """Every third facility a 社区卫生服务中心 (the community standard), the others 乡镇卫生院."""
    from backend.registry.tables import Facility

    return Facility(
        name=f"机构{c}.{k}.{n}",
        kind="community_centre" if n % 3 == 2 else "township_centre",
        licence_number=f"SL{c}{k}{n:04d}",
        licence_category="B" if n % 3 == 2 else "C",
        registered_first_name=f"机构{c}.{k}.{n}",
        region=county,
    )


async def seed(database_url: str, data_dir: Path) -> dict[str, Any]:
    from backend.accounts.tables import User
    from backend.db import bind_engine, make_engine, prepare_engine, write_tx
    from backend.guards import AuthUser
    from backend.inspections.tables import Application, Inspection, Round
    from backend.migrations import migrate
    from backend.programme.tables import RoundDeadline
    from backend.review.tables import ConfirmedConclusion
    from backend.settings import Settings
    from backend.standards.services import install_shipped_standards
    from backend.tables_index import TABLES

    engine = make_engine(Settings(data_dir=str(data_dir), database_url=database_url))
    bind_engine(engine, TABLES)
    await prepare_engine(engine)
    if database_url:  # PostgreSQL: a pool, as the app starts one (a connection per query would be timed)
        await engine.start_connection_pool()
    await migrate(engine)
    await install_shipped_standards()
    rng = random.Random(19)
    started = time.perf_counter()
    async with write_tx():
        admin = User(username="bench", password_hash="-", role="admin")  # noqa: S106 - never signs in
        await admin.save()
        province, facilities = await province_round("S", _facility)
        bench_round = Round(name="基准轮次", year=2026, region=province)
        await bench_round.save()
        kinds = {f: (COMMUNITY if i % 3 == 2 else TOWNSHIP) for i, f in enumerate(facilities)}
        for start in range(0, len(facilities), 250):
            part = facilities[start : start + 250]
            await Inspection.insert(
                *[
                    Inspection(facility=f, round=bench_round.id, stage="self", standard_version_id=kinds[f])
                    for f in part
                ]
            )
            await Application.insert(
                *[
                    Application(
                        facility=f,
                        round=bench_round.id,
                        tier="recommended" if rng.random() < 1 / 3 else "basic",
                        status="accepted",
                    )
                    for f in part
                ]
            )
            county_reviews = [
                Inspection(
                    facility=f,
                    round=bench_round.id,
                    stage="county",
                    standard_version_id=kinds[f],
                    status="accepted",
                )
                for f in part
                if rng.random() < 0.5
            ]
            if county_reviews:
                await Inspection.insert(*county_reviews)
                await ConfirmedConclusion.insert(
                    *[
                        ConfirmedConclusion(
                            inspection=r.id,
                            facility=r.facility,
                            round=bench_round.id,
                            stage="county",
                            standard_version_id=r.standard_version_id,
                            status="determined",
                            tier="recommended" if rng.random() < 0.3 else "qualified",
                            verification="illustrative",
                            explanation="{}",
                            computed_from_version=0,
                            answer_count=0,
                            confirmed_by=admin.id,
                        )
                        for r in county_reviews
                    ]
                )
        for stage, due in (
            ("application", date(2026, 4, 15)),
            ("county", date(2026, 5, 10)),
            ("city", date(2026, 6, 1)),
            ("province", date(2026, 6, 20)),
        ):
            await RoundDeadline(round=bench_round.id, stage=stage, due_on=due, set_by=admin.id).save()
    return {
        "round": bench_round.id,
        "facilities": facilities,
        "seconds": time.perf_counter() - started,
        "admin": AuthUser(id=admin.id, username="bench", role="admin"),
    }


async def measure(setup: dict[str, Any], repeats: int = 3) -> dict[str, Any]:
    from backend.inspections.tables import Application, Inspection
    from backend.programme import stage_progress
    from backend.programme.rules import concluded, selection
    from backend.standards.services import get_standard

    round_id, admin = setup["round"], setup["admin"]
    calendar_times, target_times = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cal = await stage_progress.calendar(user=admin, round_id=round_id)
        t1 = time.perf_counter()
        tg = await stage_progress.targets(user=admin, round_id=round_id)
        t2 = time.perf_counter()
        calendar_times.append(t1 - t0)
        target_times.append(t2 - t1)
    stages = {s.stage: s for s in cal.stages}
    # the baseline: the per-facility rules, on a sample, scaled to the round
    sample = random.Random(3).sample(setup["facilities"], SAMPLE)
    tiers = {
        r["facility"]: r["tier"]
        for r in await Application.select(Application.facility, Application.tier).where(
            Application.round == round_id
        )
    }
    t0 = time.perf_counter()
    pending_by_rules: set[uuid.UUID] = set()
    for facility in sample:
        own = (
            await Inspection.select(Inspection.standard_version_id)
            .where(
                (Inspection.facility == facility)
                & (Inspection.round == round_id)
                & (Inspection.stage == "self")
            )
            .first()
        )
        standard = await get_standard(standard_id=own["standard_version_id"])
        for stage in ("county", "city", "province"):
            chosen, _ = await selection(facility, round_id, stage, tiers[facility], standard)
            done = await concluded(facility, round_id, stage)
            if stage == "county" and chosen == "all" and not done:
                pending_by_rules.add(facility)
    baseline = (time.perf_counter() - t0) * len(setup["facilities"]) / SAMPLE
    # agreement on the sample: the calendar's pending facilities (all of them listed for this check) are exactly
    # those the per-facility rules find pending at county
    county = stages["county"]
    assert county.expected == len(setup["facilities"]), county
    assert county.done + county.pending == county.expected
    limit = stage_progress.PENDING_LISTED
    stage_progress.PENDING_LISTED = len(setup["facilities"])
    try:
        full = await stage_progress.calendar(user=admin, round_id=round_id)
    finally:
        stage_progress.PENDING_LISTED = limit
    listed = {p.facility_id for s in full.stages if s.stage == "county" for p in s.pending_facilities}
    assert len(listed) == county.pending
    assert listed & set(sample) == pending_by_rules, "the calendar and the per-facility rules disagree"
    best = min(calendar_times) + min(target_times)
    return {
        "calendar": min(calendar_times),
        "targets": min(target_times),
        "seconds": best,
        "baseline": baseline,
        "pending": county.pending,
        "targets_n": len(tg.targets),
        "states": {s.stage: s.state for s in cal.stages},
        "seed_seconds": setup["seconds"],
    }


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def run_db(kind: str) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="fc-stages-bench-"))
    database_url, dbname = "", ""
    if kind == "postgres":
        dbname = f"fc_bench_{uuid.uuid4().hex[:10]}"
        await _pg_admin(f'CREATE DATABASE "{dbname}"')
        database_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    try:
        return await measure(await seed(database_url, tmp))
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
        f"{CITIES * COUNTIES * PER_COUNTY:,} facilities ({CITIES} cities × {COUNTIES} counties × {PER_COUNTY}), each "
        f"with a self-assessment and an application, half with a signed-off county review; Python "
        f"{platform.python_version()} on {platform.machine()}. Target: the calendar (every stage's expected / done / "
        f"pending) and the targets per county together in < {TARGET_SECONDS:g} s.",
        "",
        "| database | calendar (best of 3) | targets (best of 3) | per-facility rules (scaled) | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, r in results.items():
        lines.append(
            f"| {kind} | {r['calendar']:.2f} s | {r['targets']:.2f} s | {r['baseline']:.1f} s | "
            f"{r['baseline'] / r['seconds']:.0f}× |"
        )
    lines.append("")
    for kind, r in results.items():
        lines.append(
            f"- {kind}: {r['pending']:,} facilities pending at county; {r['targets_n']} targets; states "
            f"{r['states']}; the per-facility baseline (rules.selection + rules.concluded per facility and "
            f"stage) is timed on {SAMPLE} facilities and scaled; seeding took {r['seed_seconds']:.0f} s."
        )
    lines += [
        f"- Load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the machine is shared).",
        "- Command: `.venv/bin/python bench/stages_bench.py --write`",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    doc = DOCS.read_text()
    pattern = re.compile(rf"{re.escape(HEADING)}\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(doc):
        doc = pattern.sub(text.rstrip("\n") + "\n", doc)
    else:  # before the PWA sections, beside the other round-scale figures
        anchor = "## PWA: opening an inspection offline"
        doc = (
            doc.replace(anchor, text.rstrip("\n") + "\n\n" + anchor, 1)
            if anchor in doc
            else doc + "\n" + text
        )
    DOCS.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    results = {}
    for kind in ("sqlite", "postgres"):
        if not args.only or args.only == kind:
            results[kind] = asyncio.run(run_db(kind))
    text = render(results)
    print(text)
    if args.write:
        write_section(text)
    slow = [k for k, r in results.items() if r["seconds"] >= TARGET_SECONDS]
    if slow:
        raise SystemExit(f"target missed: {', '.join(slow)}")


if __name__ == "__main__":
    main()
