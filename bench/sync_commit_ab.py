"""Part (a) of the sync bench (push saturation) against another commit, with the server's CPU per mutation.

    .venv/bin/python bench/sync_commit_ab.py CHECKOUT [--db sqlite] [--seconds 6] [--devices 1,10]

CHECKOUT is a tree of the commit to measure (``git archive <commit> | tar -x -C /tmp/<commit>``); its own
``bench/sync_bench.py`` prepares the database and starts its server, while the load (the ``RawHttp``
saturation loop) is this tree's, so every commit meets the same load generator. Run two commits alternately
in one window (docs/benchmarks.md: the saturation regression).
"""

import argparse
import asyncio
import importlib.util
import os
import sys
import tempfile
import uuid
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("checkout")
p.add_argument("--db", default="sqlite")
p.add_argument("--seconds", type=float, default=6)
p.add_argument("--devices", default="1,10")
p.add_argument("--batch", type=int, default=100)
a = p.parse_args()
root = Path(a.checkout).resolve()
sys.path.insert(0, str(root))
os.chdir(root)


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m


ours = load("ours", Path(__file__).resolve().parent / "sync_bench.py")
sys.path.insert(0, str(root))
theirs = load("theirs", root / "bench/sync_bench.py")
backend = importlib.import_module("backend")
assert str(root) in str(backend.__file__), backend.__file__  # the measured commit's code, not this tree's


def cpu(pid):
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


tmp = Path(tempfile.mkdtemp(prefix="fc-ab-"))
url = ""
dbname = ""
if a.db == "postgres":
    dbname = f"fc_ab_{uuid.uuid4().hex[:10]}"
    asyncio.run(theirs._pg_admin(f'CREATE DATABASE "{dbname}"'))
    url = theirs.PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
try:
    setup = asyncio.run(theirs.prepare(tmp, url, inspections=50))
    server = theirs.Server(tmp, url)
    try:
        asyncio.run(server.wait())

        async def run():
            headers = await ours.tokens(server.url)
            out = []
            for n in [int(x) for x in a.devices.split(",")]:
                c0 = cpu(server.proc.pid)
                r = await ours.saturation(server.url, setup, headers, n, a.batch, a.seconds)
                c1 = cpu(server.proc.pid)
                muts = r["rate"] * a.seconds
                out.append(
                    (
                        n,
                        r["rate"],
                        r["p50"] * 1000,
                        (c1 - c0) / max(1, muts) * 1e6,
                        (c1 - c0) * 1000 / max(1, r["requests"]),
                    )
                )
            return out

        for n, rate, p50, us, ms in asyncio.run(run()):
            print(
                f"RESULT {root.name} {a.db} dev={n} rate={rate:,.0f} p50={p50:.1f}ms cpu/mut={us:.1f}us cpu/push={ms:.2f}ms load={os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        server.stop()
finally:
    if dbname:
        asyncio.run(theirs._pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
