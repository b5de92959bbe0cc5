"""Evidence flags: near-duplicate lookup over a province's photos, and what the hash adds to the worker.

    .venv/bin/python bench/evidence_bench.py [--db sqlite|postgres|both] [--rows 500000] [--queries 300]
                                             [--scans 5] [--quality] [--write]

(a) Lookup: ``--rows`` perceptual hashes in ``media_blob`` of a fresh, migrated database; each query goes through
    ``media.phash.find_similar`` (the four 16-bit bands probed within radius 1 on their (band, phash) indexes,
    exact distance in Python, then the blobs of the hashes within the threshold) and, for a few queries, ``scan_similar`` (every hash read and compared: the baseline) in the same
    run on the same data; both must return the same matches. Half of the queries are copies of stored hashes
    with 0..10 bits flipped (they must be found), half are fresh hashes. The hashes are random except that a
    band is 0x0000 with probability 4 %: on scikit-image's photographs 3.8 % of the bands are 0x0000 (a
    smooth gradient in a quarter of the picture), the one value real photos share far more than chance, and
    what drives the number of candidates a lookup reads.
(b) Worker: the time ``make_derivatives`` takes for a 12 MP JPEG (a phone photo), and what ``dhash`` of its
    1600 px preview adds (it runs on pixels already decoded).
(c) ``--quality``: precision and recall on the scikit-image sample photographs (bench/near_duplicates.py).

Bounded: about a minute per database at 500,000 rows on two cores. ``--write`` replaces the section in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from media.phash import (  # noqa: E402
    NEAR_DUPLICATE_DISTANCE,
    bands,
    dhash,
    find_similar,
    scan_similar,
    to_signed,
)

BENCH_DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Evidence: near-duplicate photos"
PG_ADMIN = os.environ.get("FIELDCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ZERO_BAND_SHARE = 0.04


def realistic_hash(rng: random.Random) -> int:
    value = 0
    for _ in range(4):
        band = 0 if rng.random() < ZERO_BAND_SHARE else rng.getrandbits(16)
        value = (value << 16) | band
    return value


def flip(rng: random.Random, value: int, bits: int) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


def _rows(hashes: list[int]) -> list[tuple[Any, ...]]:
    return [
        (f"{i:064x}", 1, "image/jpeg", "k", "stored", True, to_signed(h), *bands(h))
        for i, h in enumerate(hashes)
    ]


_COLUMNS = ["sha256", "size", "mime", "storage_key", "state", "derived", "phash", "ph0", "ph1", "ph2", "ph3"]


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fill(kind: str, data_dir: Path, database_url: str, hashes: list[int]) -> Any:
    from backend.db import bind_engine, make_engine, prepare_engine
    from backend.migrations import migrate
    from backend.settings import Settings
    from backend.tables_index import TABLES

    engine = make_engine(Settings(data_dir=str(data_dir), database_url=database_url))
    bind_engine(engine, TABLES)
    await prepare_engine(engine)
    await migrate(engine)
    rows = _rows(hashes)
    if kind == "sqlite":
        db = sqlite3.connect(Settings(data_dir=str(data_dir)).sqlite_path)
        with db:
            db.executemany(
                f'INSERT INTO "media_blob" ({", ".join(_COLUMNS)}) VALUES ({", ".join("?" for _ in _COLUMNS)})',  # noqa: S608
                rows,
            )
        db.execute("ANALYZE")
        db.close()
    else:
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            await conn.copy_records_to_table("media_blob", records=rows, columns=_COLUMNS)
            # as autovacuum leaves a table at rest: statistics, and the visibility map that lets the lookup
            # read its candidates from the (band, phash) indexes alone (an index-only scan)
            await conn.execute('VACUUM ANALYZE "media_blob"')
        finally:
            await conn.close()
    return engine


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _lookups(engine: Any, hashes: list[int], args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(5)
    copies = [flip(rng, rng.choice(hashes), rng.randint(0, 10)) for _ in range(args.queries // 2)]
    planted = len(copies)
    queries = copies + [realistic_hash(rng) for _ in range(args.queries - planted)]
    rng.shuffle(queries)
    for q in queries[:10]:  # warm the page cache and the connection
        await find_similar(engine, q)
    times: list[float] = []
    candidates: list[int] = []
    found = 0
    results = {}
    eq_times: list[float] = []
    eq_candidates: list[int] = []
    eq_results = {}
    cpu = eq_cpu = 0.0
    for q in queries:  # the two radii interleaved, so load from elsewhere hits both alike
        start, cpu_start = time.perf_counter(), time.process_time()
        result = await find_similar(engine, q)
        times.append((time.perf_counter() - start) * 1000)
        cpu += time.process_time() - cpu_start
        candidates.append(result.candidates)
        results[q] = result
        start, cpu_start = time.perf_counter(), time.process_time()
        equal = await find_similar(engine, q, radius=0)
        eq_times.append((time.perf_counter() - start) * 1000)
        eq_cpu += time.process_time() - cpu_start
        eq_candidates.append(equal.candidates)
        eq_results[q] = equal
    scan_times: list[float] = []
    matched = by_scan = 0
    found = sum(bool(results[q].matches) for q in copies)
    for q in copies[: args.scans]:
        start = time.perf_counter()
        scanned = await scan_similar(engine, q)
        scan_times.append((time.perf_counter() - start) * 1000)
        indexed = {(m.sha256, m.distance) for m in results[q].matches}
        full = {(m.sha256, m.distance) for m in scanned.matches}
        assert indexed <= full, "the index never finds what a scan would not"
        matched += len(indexed)
        by_scan += len(full)
    return {
        "scan_found": f"{matched}/{by_scan}",
        # CPU of this process (event loop and the SQLite connection's thread) per lookup: less at the mercy
        # of other work on the machine than wall-clock percentiles; PostgreSQL's own CPU is not in it
        "cpu_ms": 1000 * cpu / len(queries),
        "eq_cpu_ms": 1000 * eq_cpu / len(queries),
        "eq_p50": _pct(eq_times, 0.5),
        "eq_p99": _pct(eq_times, 0.99),
        "eq_cand_mean": statistics.fmean(eq_candidates),
        "eq_found": sum(bool(eq_results[q].matches) for q in copies),
        "p50": _pct(times, 0.5),
        "p99": _pct(times, 0.99),
        "max": max(times),
        "cand_mean": statistics.fmean(candidates),
        "cand_p99": _pct([float(c) for c in candidates], 0.99),
        "found": found,
        "planted": planted,
        "scan_p50": statistics.median(scan_times),
        "scan_rows": len(hashes),
        "load": os.getloadavg()[0],
    }


def run_db(kind: str, hashes: list[int], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fc-evidence-bench-") as tmp:
        database_url = ""
        dbname = ""
        if kind == "postgres":
            dbname = f"fc_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_pg_admin(f'CREATE DATABASE "{dbname}"'))
            database_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
        try:

            async def go() -> dict[str, Any]:
                from piccolo.engine.postgres import PostgresEngine

                from backend.db_sqlite import close_pool, open_pool

                start = time.perf_counter()
                engine = await _fill(kind, Path(tmp), database_url, hashes)
                filled = time.perf_counter() - start
                # connections as the app holds them (its lifespan opens these pools)
                idle = await open_pool(engine)
                if isinstance(engine, PostgresEngine):
                    await engine.start_connection_pool(min_size=1, max_size=2)
                try:
                    out = await _lookups(engine, hashes, args)
                finally:
                    await close_pool(idle)
                    if isinstance(engine, PostgresEngine):
                        await engine.close_connection_pool()
                out["fill_s"] = filled
                return out

            return asyncio.run(go())
        finally:
            if dbname:
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


def worker_cost(repeat: int = 8) -> dict[str, float]:
    """make_derivatives on a 12 MP JPEG vs dhash of its preview (what the worker adds per photo)."""
    from PIL import Image

    from bench.near_duplicates import load_rgb
    from media.images import make_derivatives

    photo = load_rgb("astronaut.png").resize((4000, 3000), Image.Resampling.BICUBIC)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "phone.jpg"
        buf = io.BytesIO()
        photo.save(buf, "JPEG", quality=90)
        path.write_bytes(buf.getvalue())
        derive: list[float] = []
        for _ in range(repeat):
            start = time.perf_counter()
            made = make_derivatives(path)
            derive.append((time.perf_counter() - start) * 1000)
        preview = Image.open(io.BytesIO(made["preview"].data))
        preview.load()
        hashing: list[float] = []
        for _ in range(repeat * 10):
            start = time.perf_counter()
            dhash(preview)
            hashing.append((time.perf_counter() - start) * 1000)
    return {"derive_ms": statistics.median(derive), "dhash_ms": statistics.median(hashing)}


def quality_table() -> str:
    from bench.near_duplicates import lookup_recall, samples, table

    with tempfile.TemporaryDirectory() as tmp:
        all_samples = list(samples(Path(tmp)))
    text = table(all_samples, [0, 4, 6, 8, 10, 12, 14, 16], lambda t: t == NEAR_DUPLICATE_DISTANCE)
    reach = {r: lookup_recall(all_samples, NEAR_DUPLICATE_DISTANCE, r) for r in (0, 1)}
    return (
        text
        + "\n\nWhat the indexed lookup reaches of the pairs within the threshold (they share a band it probes): "
        + f"radius 1 {reach[1][0]}/{reach[1][1]}, radius 0 {reach[0][0]}/{reach[0][1]}. Equality misses "
        + "the pairs whose bands all moved by a bit or more; radius 1 could miss only pairs whose sole close "
        + "bands are the flat 0x0000/0xFFFF ones (not probed)."
    )


def reading(results: dict[str, dict[str, Any]]) -> str:
    worst = max(r["p99"] for r in results.values())
    verdict = "met" if worst < 5 else "not met"
    return (
        f"Reading: the target is p99 < 5 ms with the default lookup (radius 1): {verdict} "
        f"(worst p99 {worst:.2f} ms; load average "
        + ", ".join(f"{r['load']:.1f} ({kind})" for kind, r in results.items())
        + " after the lookups, on 2 cores; a load of 6 from other work tripled the p99 in an earlier run). Radius 1 reads about 17 "
        "times more index entries than equality (≈ 480 at 500,000 hashes: 17 probes per band × 4 bands × 7.6 rows per 16-bit value), but "
        "from the (band, phash) indexes only: before they existed each candidate was a table row read at "
        "random, p99 7.8 ms (SQLite) / 8.3 ms (PostgreSQL) in the same bench. PostgreSQL "
        "gets one array per band (`= ANY(...)`), so every lookup is the same prepared statement. The two radii "
        "run interleaved on the same queries, so load from elsewhere hits both alike; the absolute figures "
        "move by 2–3× between runs with the machine's load. The floor in the same run: plain equality, 4 index probes and ~29 rows, "
        "had p99 "
        + " / ".join(f"{r['eq_p99']:.2f} ms ({kind})" for kind, r in results.items())
        + " (under load the p99 measures the machine's scheduling more than the lookup); the CPU per "
        "lookup (this process: event loop and SQLite's thread; PostgreSQL's server work not included) is the "
        "figure to compare between runs."
    )


def report(
    results: dict[str, dict[str, Any]], cost: dict[str, float], quality: str | None, args: argparse.Namespace
) -> str:
    lines = [
        SECTION,
        "",
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}. Command: "
        f"`.venv/bin/python bench/evidence_bench.py --db {args.db} --rows {args.rows} --queries {args.queries} "
        f"--scans {args.scans}{' --quality' if quality else ''} --write`.",
        "",
        f"### (a) Lookup among {args.rows:,} stored hashes (threshold {NEAR_DUPLICATE_DISTANCE} bits)",
        "",
        "Indexed (`media.phash.find_similar`): the four 16-bit band columns probed for the query's band, and "
        "with radius 1 (the default) its 16 one-bit neighbours too (0x0000 and 0xFFFF left out), in one "
        "statement whose candidates' hashes come from the (band, phash) indexes alone (no table row read per "
        "candidate); the exact distance is checked in Python, then a second statement reads the blobs of the "
        "few hashes within the threshold. Baseline (`scan_similar`): every hash read and "
        "compared, same run, same data. Radius 0 is plain equality on any band. *Candidates* are the index "
        "entries handed to the distance check. *Planted copies found*: queries that are stored hashes with "
        "0–10 random bits flipped; random flips spread over all bands more evenly than real copies do, so "
        "the radius-1 misses here (copies 8–10 bits away with every band two or more bits off) did not occur "
        "on the real copies of (c). *Same as the scan*: matches of the index / of the full scan on the first "
        "planted queries (the index never finds a photo the scan would not).",
        "",
        "| database | radius | p50 | p99 | max | CPU per lookup | candidates mean | candidates p99 "
        "| planted copies found | full scan p50 | speed-up (p50) | same as the scan |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, r in results.items():
        lines.append(
            f"| {kind} | 1 | {r['p50']:.2f} ms | {r['p99']:.2f} ms | {r['max']:.2f} ms | {r['cpu_ms']:.2f} ms "
            f"| {r['cand_mean']:.0f} "
            f"| {r['cand_p99']:.0f} | {r['found']}/{r['planted']} | {r['scan_p50']:.0f} ms "
            f"| {r['scan_p50'] / r['p50']:.0f}× | {r['scan_found']} |"
        )
        lines.append(
            f"| {kind} | 0 | {r['eq_p50']:.2f} ms | {r['eq_p99']:.2f} ms | | {r['eq_cpu_ms']:.2f} ms "
            f"| {r['eq_cand_mean']:.0f} | "
            f"| {r['eq_found']}/{r['planted']} | | {r['scan_p50'] / r['eq_p50']:.0f}× | |"
        )
    lines += [
        "",
        reading(results),
        "",
        "### (b) What the hash adds to the derivative worker",
        "",
        "| step | median |",
        "|---|---:|",
        f"| make_derivatives, 12 MP JPEG → preview + thumb (today's work) | {cost['derive_ms']:.1f} ms |",
        f"| dhash of the 1600 px preview (added) | {cost['dhash_ms']:.2f} ms |",
        f"| added share | {100 * cost['dhash_ms'] / cost['derive_ms']:.1f} % |",
    ]
    if quality:
        lines += [
            "",
            "### (c) Precision and recall on scikit-image's sample photographs",
            "",
            "26 photographs of the scikit-image wheel (the grey and colour chessboards count as one picture), each "
            "as a JPEG original and six copies; all 16,471 pairs, a pair is a positive when both files come from "
            "one photograph; per-transform columns are the recall of each copy against its original. The "
            "threshold in bold is `NEAR_DUPLICATE_DISTANCE` (media/phash.py): the largest with no false positive "
            "here, and within the radius the index covers exactly. Misses are texture-like pictures (brick, "
            "gravel, cells) whose coarse shading a 2 % crop or a frame changes.",
            "",
            quality,
        ]
    return "\n".join(lines) + "\n"


def write_doc(text: str) -> None:
    doc = BENCH_DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    doc = pattern.sub(text + "\n", doc) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + text
    BENCH_DOC.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--scans", type=int, default=5)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rng = random.Random(1)
    hashes = [realistic_hash(rng) for _ in range(args.rows)]
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = {}
    for kind in kinds:
        results[kind] = run_db(kind, hashes, args)
        print(
            kind,
            {k: round(v, 2) if isinstance(v, float) else v for k, v in results[kind].items()},
            flush=True,
        )
    cost = worker_cost()
    print("worker", cost, flush=True)
    quality = quality_table() if args.quality else None
    text = report(results, cost, quality, args)
    print(text)
    if args.write:
        write_doc(text)


if __name__ == "__main__":
    main()
