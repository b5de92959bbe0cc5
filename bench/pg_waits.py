"""What the sync bench's PostgreSQL backends wait on: ``pg_stat_activity`` polled every 20 ms.

    .venv/bin/python bench/pg_waits.py SECONDS [OUT.json]

Run it next to ``bench/sync_bench.py --db postgres`` (its databases are ``fc_bench_*``). Per poll in which a
bench database has a connection: each active backend's statement kind and wait event, each idle-in-transaction
backend's last statement kind, and how many wait on an advisory lock (the audit chains' locks); prints the
counts (docs/benchmarks.md, "Sync: CPU per device cycle" (g)).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

PG_ADMIN = os.environ.get("FIELDCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def kind(query: str) -> str:
    if "pg_advisory_xact_lock" in query and "answer_register" in query:
        return "push write statement (+ chain lock)"
    if "pg_advisory_xact_lock" in query:
        return "audit lock + head"
    if 'INSERT INTO "audit_log"' in query:
        return "audit insert"
    if query.strip().upper().startswith("COMMIT"):
        return "COMMIT"
    return query.strip()[:50]


async def sample(seconds: float) -> dict[str, Any]:
    conn = await asyncpg.connect(PG_ADMIN)
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    waiters: list[int] = []
    active = 0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            rows = await conn.fetch(
                "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity "
                "WHERE datname LIKE 'fc_bench_%' AND pid <> pg_backend_pid()"
            )
            if rows:
                advisory = 0
                for r in rows:
                    if r["state"] == "active":
                        active += 1
                        counts[(kind(r["query"] or ""), f"{r['wait_event_type']}:{r['wait_event']}")] += 1
                        advisory += r["wait_event_type"] == "Lock" and r["wait_event"] == "advisory"
                    elif (r["state"] or "").startswith("idle in transaction"):
                        counts[(kind(r["query"] or ""), "idle in transaction")] += 1
                waiters.append(advisory)
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    return {
        "samples": len(waiters),
        "active_backend_samples": active,
        "advisory_waiting": sum(waiters),
        "mean_advisory_waiters": sum(waiters) / max(1, len(waiters)),
        "max_advisory_waiters": max(waiters, default=0),
        "idle_in_transaction": sum(n for (_, wait), n in counts.items() if wait == "idle in transaction"),
        "by_kind": [[k, w, n] for (k, w), n in counts.most_common(40)],
    }


def main() -> None:
    result = asyncio.run(sample(float(sys.argv[1])))
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
