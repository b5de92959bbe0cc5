"""A ``fieldcheck serve`` process that can be SIGKILLed and started again on the same port and data.

The processes are forked by :mod:`tests.faults.zygote`, which imported the app once: each one then runs
``backend.cli.main(["serve", ...])`` as the console script would (migrations, demo check, uvicorn, lifespan,
workers), without paying the imports again.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


class Zygote:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@dataclass
class KillableServer:
    """One app process at a time on ``port``, with the workers inside (as the embedded default runs)."""

    zygote: Zygote
    data_dir: Path
    port: int
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    name: str = "server"
    pid: int | None = None
    starts: int = 0
    start_seconds: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "FIELDCHECK_DATA_DIR": str(self.data_dir),
            "FIELDCHECK_WORKERS": "true",
            "FIELDCHECK_SECRET_KEY": "fault-test-secret",
            **self.extra_env,
        }
        if "FIELDCHECK_DATABASE_URL" not in self.extra_env:
            env.pop("FIELDCHECK_DATABASE_URL", None)
        return env

    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}-{self.starts}.log"

    async def start(self) -> None:
        """Start and wait until /health answers 200 (the lifespan ran: migrations, pool, workers)."""
        assert self.pid is None
        began = time.monotonic()
        self.starts += 1
        argv = ["serve", "--demo", "--port", str(self.port)]
        self.pid = int(
            self.zygote.ask({"start": self.env(), "argv": argv, "log": str(self.log_path())})["pid"]
        )
        # the first start migrates an empty database and loads the demo: over 60 s at a load average of 18 on
        # 2 cores (seen twice in the S3 spool variant's runs); a restart has only the app's start-up to do
        limit = 180 if self.starts == 1 else 60
        deadline = began + limit
        async with httpx.AsyncClient(timeout=1) as http:
            while True:
                try:
                    if (await http.get(self.url + "/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if not self.zygote.ask({"poll": self.pid})["running"]:
                    self.pid = None
                    raise RuntimeError("server exited:\n" + self.last_log()[-3000:])
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start in {limit} s:\n" + self.last_log()[-3000:])
                await asyncio.sleep(0.02)
        self.start_seconds.append(time.monotonic() - began)

    def last_log(self) -> str:
        return self.log_path().read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no lifespan end (as the OOM killer or a power cut)."""
        assert self.pid is not None
        self.zygote.ask({"kill": self.pid})
        self.pid = None

    def stop(self) -> None:
        if self.pid is not None:
            self.zygote.ask({"term": self.pid})
            self.pid = None
