"""Fixtures for the media HTTP tests: demo data, a worker driven by hand, the inspector's auth header."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar

from backend.workers import build_media_worker
from media.worker import MediaWorker, WorkerConfig
from tests.conftest import login


@pytest.fixture
async def inspector(client: httpx.AsyncClient, demo: dict[str, Any]) -> dict[str, str]:
    """inspector1 leads the county review of facility 0 (demo data)."""
    return await login(client, "inspector1")


@pytest.fixture
def worker(app: Litestar) -> MediaWorker:
    return build_media_worker(
        app.state.settings,
        app.state.engine,
        app.state.storage,
        WorkerConfig(backoff_base_seconds=0.01, backoff_cap_seconds=0.05, lease_seconds=30),
    )
