"""A parent that has imported the app once and forks ``fieldcheck serve`` on demand (``python -m``).

Each child runs ``backend.cli.main(["serve", ...])`` exactly as the console script does; only the ~0.6 s of
imports is paid once, so a run can afford 50+ restarts. The parent starts no thread and no event loop before
forking. Commands on stdin, one JSON line each: ``{"start": {env}, "argv": [...], "log": path}`` answers the
child's pid; ``{"kill": pid}`` SIGKILLs and reaps it; ``{"reap": pid}`` reaps a child that stopped.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import boto3
import uvicorn  # noqa: F401 - imported before forking, that is the point

import backend.app
import backend.cli
import backend.web.assets
import backend.workers

# boto3's default session caches the S3 service model it reads from disk: loaded once here, before forking
boto3.client(
    "s3",
    region_name="us-east-1",
    endpoint_url="http://127.0.0.1:9",
    aws_access_key_id="-",
    aws_secret_access_key="-",
)


# the app's files compressed once here (brotli 11, ~1 s): a forked server answers a browser's first load of
# them from memory (backend/web/assets.py caches by content, so a server of another copy compresses its own)
for _asset in backend.web.assets.load_app_files(backend.web.assets.default_pwa_dir()).assets.values():
    _asset.encodings()


def serve(env: dict[str, str], argv: list[str], log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        backend.cli.main(argv)
    finally:
        os._exit(0)


def stop(pid: int) -> int:
    """SIGTERM, and SIGKILL after 15 s."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def main() -> None:
    for line in sys.stdin:
        command = json.loads(line)
        if "start" in command:
            pid = os.fork()
            if pid == 0:
                sys.stdin.close()
                serve(command["start"], command["argv"], command["log"])
            answer: dict[str, object] = {"pid": pid}
        elif "kill" in command:
            os.kill(command["kill"], signal.SIGKILL)
            os.waitpid(command["kill"], 0)
            answer = {"dead": command["kill"]}
        elif "term" in command:
            answer = {"dead": command["term"], "status": stop(command["term"])}
        elif "poll" in command:
            done, status = os.waitpid(command["poll"], os.WNOHANG)
            answer = {"running": done == 0, "status": status}
        else:
            answer = {"error": f"unknown command {command}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
