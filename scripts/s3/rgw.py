#!/usr/bin/env python3
"""A throw-away single-node Ceph RGW (S3) for tests and local runs.

One monitor, one memstore OSD and one radosgw, all in the foreground as child processes of the caller, with
every data, run and log path under one temporary directory. Auth between the daemons is off (``auth none``);
S3 requests are signed with a known access/secret key. Needs the Debian packages from ``install-rgw.sh``.

As a script::

    python scripts/s3/rgw.py [--port 7480]      # prints FIELDCHECK_S3_* lines, runs until Ctrl-C

As a module (the test helpers load it by path, see tests/media/s3servers.py)::

    server = start_rgw(port=0)                  # 0 = pick a free port
    ...  server.endpoint_url, server.access_key, server.secret_key
    server.stop_gateway(); server.start_gateway()   # an S3 outage while mon/osd keep running
    server.stop()                               # kills every child, removes the temp dir
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

RADOSGW = "/usr/bin/radosgw"
DEFAULT_PORT = 7480
ACCESS_KEY = "FIELDCHECKTESTKEY000"
SECRET_KEY = "fieldcheck-test-secret-0000000000000000"  # noqa: S105 - test-only, never real
REGION = "us-east-1"  # RGW's default zonegroup name is "default"; any region signs fine with s3v4
USER_ID = "fieldcheck-test"


class RgwError(RuntimeError):
    """The test RGW could not be started (message includes the tail of the relevant log)."""


def rgw_available() -> bool:
    """True when the Debian packages are installed (tests skip the RGW variant otherwise)."""
    return all(
        os.access(p, os.X_OK)
        for p in (RADOSGW, "/usr/bin/ceph-mon", "/usr/bin/ceph-osd", "/usr/bin/monmaptool", "/usr/bin/ceph")
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _die_with_parent() -> None:
    # Linux: the daemon gets SIGKILL when the thread that started it dies, so a killed test run leaks nothing.
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class RgwServer:
    """A running single-node cluster. Use as a context manager or call :meth:`stop`."""

    base_dir: Path
    port: int
    mon_port: int
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    die_with_parent: bool = True
    startup_seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _owns_dir: bool = True

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def conf(self) -> Path:
        return self.base_dir / "ceph.conf"

    def env(self) -> dict[str, str]:
        """Settings in the shape the app reads (FIELDCHECK_S3_*), also handy for a shell."""
        return {
            "FIELDCHECK_S3_ENDPOINT_URL": self.endpoint_url,
            "FIELDCHECK_S3_REGION": self.region,
            "FIELDCHECK_S3_ACCESS_KEY": self.access_key,
            "FIELDCHECK_S3_SECRET_KEY": self.secret_key,
        }

    # -- processes ---
    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        out = open(self.base_dir / "log" / f"{name}.stdout", "ab")  # noqa: SIM115 - child owns it
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # PDEATHSIG follows the *thread* that forks: only from the main thread, or a daemon started via
            # asyncio.to_thread would die with that worker thread. Others are still stopped at exit (atexit).
            preexec_fn=_die_with_parent if self.die_with_parent and _in_main_thread() else None,
            close_fds=True,
        )
        out.close()
        self.procs[name] = proc
        return proc

    def _ceph(self, *args: str, timeout: float = 30.0) -> str:
        argv = ["ceph", "-c", str(self.conf), "--connect-timeout", str(int(timeout)), *args]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 10, check=False)
        if res.returncode != 0:
            raise RgwError(f"{' '.join(args)} failed: {res.stderr.strip()}\n{self._logs()}")
        return res.stdout

    def _logs(self) -> str:
        parts = []
        for name in ("mon.a", "osd.0", "client.rgw.test"):
            parts.append(f"--- {name} ---\n{_tail(self.base_dir / 'log' / f'{name}.log')}")
        return "\n".join(parts)

    def _check_alive(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is not None:
            raise RgwError(f"{name} exited with {proc.returncode}\n{self._logs()}")

    # -- gateway only ---
    def start_gateway(self, timeout: float = 60.0) -> None:
        """Start radosgw (again) and wait until S3 answers; mon and osd must be running."""
        if self.gateway_running():
            return
        self._spawn(
            "radosgw",
            [RADOSGW, "-f", "-c", str(self.conf), "-n", "client.rgw.test", "--no-mon-config"],
        )
        self.wait_s3(timeout)

    def stop_gateway(self, graceful: bool = False, timeout: float = 15.0) -> None:
        """Stop only radosgw: S3 refuses connections until :meth:`start_gateway` (mon/osd keep the data).

        Default is SIGKILL (a crash, instant); ``graceful=True`` sends SIGTERM, which radosgw takes ~5 s on.
        """
        proc = self.procs.pop("radosgw", None)
        if proc is not None:
            if graceful:
                _terminate(proc, timeout)
            else:
                proc.kill()
                proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while _accepts_connections(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def gateway_running(self) -> bool:
        proc = self.procs.get("radosgw")
        return proc is not None and proc.poll() is None

    def wait_s3(self, timeout: float = 60.0) -> None:
        """Poll until an anonymous GET / returns an S3 answer (any HTTP status)."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive("radosgw")
            try:
                with urllib.request.urlopen(self.endpoint_url + "/", timeout=2) as resp:  # noqa: S310
                    resp.read()
                return
            except urllib.error.HTTPError:
                return  # the gateway answered (e.g. 403): it is up
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RgwError(f"radosgw did not answer on {self.endpoint_url} in {timeout}s\n{self._logs()}")
            time.sleep(0.1)

    # -- whole cluster ---
    def stop(self) -> None:
        """Kill every daemon (gateway first) and remove the temporary directory.

        SIGKILL: the memstore data is thrown away anyway, and a graceful radosgw stop takes ~5 s.
        """
        for name in ("radosgw", "osd.0", "mon.a"):
            proc = self.procs.pop(name, None)
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        if self._owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        with contextlib.suppress(ValueError):
            atexit.unregister(self.stop)

    def __enter__(self) -> RgwServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _write_conf(server: RgwServer, fsid: str) -> None:
    d = server.base_dir
    server.conf.write_text(
        f"""[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{server.mon_port}
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
# the gateway loops on "get_initial_auth_request returned -13" without this
ms mon client mode = crc
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
# a one-node test cluster: commit monitor changes at once instead of batching them for a second
paxos propose interval = 0.01
paxos min wait = 0.001
osd pool default pg autoscale mode = off
mon allow pool delete = true
mon warn on pool no redundancy = false
mon pg warn min per osd = 0
osd max object name len = 256
osd max object namespace len = 64
run dir = {d}/run
admin socket = {d}/run/$name.asok
pid file = {d}/run/$name.pid
log file = {d}/log/$name.log
keyring = {d}/keyring
mon data = {d}/mon/$cluster-$id
osd data = {d}/osd/$cluster-$id
crash dir = {d}/crash
log to stderr = false
err to stderr = true

[client.rgw.test]
rgw frontends = beast endpoint=127.0.0.1:{server.port}
rgw data = {d}/rgw
rgw thread pool size = 64
rgw enable usage log = false
# bucket index / gc work that only slows a test node down
rgw gc processor period = 3600
rgw lc debug interval = -1
"""
    )
    (d / "keyring").write_text("")


def start_rgw(
    port: int = DEFAULT_PORT,
    base_dir: str | Path | None = None,
    timeout: float = 90.0,
    die_with_parent: bool = True,
) -> RgwServer:
    """Start mon + memstore osd + radosgw on 127.0.0.1:``port`` (0 = a free port) and create the S3 user.

    Returns once an S3 request signed with the known keys succeeds. Takes about 1 s (13 s with the
    default `paxos propose interval` of 1 s, which the config lowers).
    ``die_with_parent`` (Linux PDEATHSIG) kills the daemons if this process dies, so a killed test run leaks
    nothing; it applies to daemons started from the main thread (it follows the starting *thread*).
    """
    if not rgw_available():
        raise RgwError("Ceph RGW packages missing: run scripts/s3/install-rgw.sh")
    started = time.monotonic()
    if port == 0:
        port = free_port()
    elif not _port_is_free(port):
        raise RgwError(f"127.0.0.1:{port} is already in use")
    owns = base_dir is None
    bdir = Path(tempfile.mkdtemp(prefix="fieldcheck-rgw-")) if base_dir is None else Path(base_dir)
    for sub in ("run", "log", "mon", "osd/ceph-0", "rgw", "crash"):
        (bdir / sub).mkdir(parents=True, exist_ok=True)
    server = RgwServer(
        base_dir=bdir, port=port, mon_port=free_port(), die_with_parent=die_with_parent, _owns_dir=owns
    )
    atexit.register(server.stop)
    try:
        _bootstrap(server, timeout)
    except BaseException:
        server.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server


def _run(argv: list[str], what: str, timeout: float = 60.0) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if res.returncode != 0:
        raise RgwError(f"{what} failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}")
    return res.stdout


def _bootstrap(server: RgwServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    t0 = time.monotonic()

    def phase(name: str) -> None:
        nonlocal t0
        now = time.monotonic()
        server.phase_seconds[name] = round(now - t0, 2)
        t0 = now

    fsid = str(uuid.uuid4())
    _write_conf(server, fsid)
    conf = str(server.conf)
    monmap = server.base_dir / "monmap"
    _run(
        [
            "monmaptool",
            "--create",
            "--clobber",
            "--addv",
            "a",
            f"[v2:127.0.0.1:{server.mon_port}]",
            "--fsid",
            fsid,
            str(monmap),
        ],
        "monmaptool",
    )
    _run(["ceph-mon", "-c", conf, "--mkfs", "-i", "a", "--monmap", str(monmap)], "ceph-mon --mkfs")
    server._spawn("mon.a", ["ceph-mon", "-f", "-c", conf, "-i", "a"])
    phase("mon_mkfs")

    # `ceph osd create` also proves the monitor is up (it retries until --connect-timeout).
    osd_id = server._ceph("osd", "create", timeout=max(5.0, deadline - time.monotonic())).strip()
    if osd_id != "0":
        raise RgwError(f"unexpected osd id {osd_id!r}")
    phase("mon_up")
    _run(
        ["ceph-osd", "-c", conf, "-i", "0", "--mkfs", "--osd-uuid", str(uuid.uuid4())],
        "ceph-osd --mkfs",
    )
    server._spawn("osd.0", ["ceph-osd", "-f", "-c", conf, "-i", "0"])
    # Put the OSD into the CRUSH map so pools get active PGs (with auth none `osd create` leaves it out).
    server._ceph("osd", "crush", "add", "osd.0", "1.0", "host=localhost", "root=default")
    _wait_osd_up(server, deadline)
    phase("osd_up")

    server._spawn("radosgw", [RADOSGW, "-f", "-c", conf, "-n", "client.rgw.test", "--no-mon-config"])
    server.wait_s3(max(5.0, deadline - time.monotonic()))
    phase("rgw_up")
    _run(
        [
            "radosgw-admin",
            "-c",
            conf,
            "-n",
            "client.rgw.test",
            "--no-mon-config",
            "user",
            "create",
            "--uid",
            USER_ID,
            "--display-name",
            "fieldcheck test",
            "--access-key",
            server.access_key,
            "--secret",
            server.secret_key,
        ],
        "radosgw-admin user create",
    )
    phase("user_create")
    _wait_signed_request(server, deadline)
    phase("signed_ok")


def _wait_osd_up(server: RgwServer, deadline: float) -> None:
    while True:
        server._check_alive("osd.0")
        out = server._ceph("osd", "stat", "--format", "json", timeout=10)
        if '"num_up_osds":1' in out.replace(" ", ""):
            return
        if time.monotonic() > deadline:
            raise RgwError(f"osd.0 never came up: {out}\n{server._logs()}")
        time.sleep(0.2)


def _wait_signed_request(server: RgwServer, deadline: float) -> None:
    """The user is cached by the gateway; poll a signed ListBuckets until it stops saying 403."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # the script also runs without boto3; then the anonymous check above must do
        return
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            client.list_buckets()
            return
        except Exception as exc:
            last = exc
            time.sleep(0.2)
    raise RgwError(f"signed S3 request never succeeded: {last}\n{server._logs()}")


@contextlib.contextmanager
def running_rgw(port: int = 0, timeout: float = 90.0) -> Iterator[RgwServer]:
    """``with running_rgw() as server:`` — start, yield, always stop."""
    server = start_rgw(port=port, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="S3 port (0 = free port)")
    parser.add_argument("--dir", default=None, help="data dir (default: a new temp dir, removed at exit)")
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    server = start_rgw(port=args.port, base_dir=args.dir, timeout=args.timeout)
    for k, v in server.env().items():
        print(f"{k}={v}")
    print(
        f"# started in {server.startup_seconds:.1f}s, data in {server.base_dir}; Ctrl-C to stop", flush=True
    )

    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        while not stop:
            for name, proc in list(server.procs.items()):
                if proc.poll() is not None:
                    print(f"# {name} exited with {proc.returncode}", file=sys.stderr)
                    stop = True
            time.sleep(0.5)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
