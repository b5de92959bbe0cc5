"""Plain helpers to start and stop the S3 test servers (no pytest fixtures here; conftest wires them).

- moto: ``start_moto()`` / ``running_moto()`` — a ``python -m moto.server`` child on a free port, ~0.3 s.
  Does not check signatures, presigned expiry or Content-MD5.
- Ceph RGW: ``start_rgw()`` / ``running_rgw()`` — mon + memstore osd + radosgw children on free ports,
  ~1 s; ``server.stop_gateway()`` / ``server.start_gateway()`` simulate an S3 outage.
  ``rgw_available()`` tells whether the Debian packages are installed (scripts/s3/install-rgw.sh).
- ``make_s3_storage(server, bucket)`` builds an :class:`media.storage.S3Storage` for either server.

The server code lives in scripts/s3/ (also runnable by hand); it is loaded here by path because
``scripts`` is not a package and ``scripts/s3/moto.py`` would shadow the real ``moto`` on sys.path.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from media.storage import S3Storage

_S3_DIR = Path(__file__).resolve().parents[2] / "scripts" / "s3"


def _load(name: str, filename: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _S3_DIR / filename)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered while it executes
    spec.loader.exec_module(module)
    return module


rgw = _load("fieldcheck_s3_rgw", "rgw.py")
moto = _load("fieldcheck_s3_moto", "moto.py")

RgwServer = rgw.RgwServer
MotoServer = moto.MotoServer
RgwError = rgw.RgwError
rgw_available = rgw.rgw_available
start_rgw = rgw.start_rgw  # start_rgw(port=0, base_dir=None, timeout=90.0) -> RgwServer
running_rgw = rgw.running_rgw  # with running_rgw(port=0) as server: ...
start_moto = moto.start_moto  # start_moto(port=0, mode="process" | "thread") -> MotoServer
running_moto = moto.running_moto  # with running_moto() as server: ...


def make_s3_storage(server: Any, bucket: str | None = None, **kwargs: Any) -> S3Storage:
    """An S3Storage pointed at a running moto or RGW server (bucket not created; call ensure_bucket())."""
    return S3Storage(
        endpoint_url=server.endpoint_url,
        region=server.region,
        bucket=bucket or f"fc-test-{uuid.uuid4().hex[:12]}",
        access_key=server.access_key,
        secret_key=server.secret_key,
        **kwargs,
    )
