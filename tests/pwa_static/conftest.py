"""Browser journeys: one real server per test (SQLite, demo data from a copy made once per worker, workers on)
and Debian's Chromium."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Playwright, sync_playwright

from tests.backend.media_api.live import LiveServer, live_server
from tests.pwa_static.browser import CHROMIUM, Console, close_open_clients

# The screenshots that docs/app.md shows are tracked: the journeys write them there only when asked
# (`make screenshots`, or FIELDCHECK_SCREENSHOTS=1), so a test run leaves the tree clean; otherwise they still
# take every screenshot, into a scratch folder of this process.
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
if os.environ.get("FIELDCHECK_SCREENSHOTS") == "1":
    SHOTS = DOCS_SHOTS
else:
    SHOTS = Path(tempfile.mkdtemp(prefix="fieldcheck-shots-"))
    atexit.register(shutil.rmtree, SHOTS, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "pwa_static" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    """Per test: Playwright's sync API keeps an event loop running while it is open, which would stop any
    later test (or session fixture) that runs its own loop."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: apt-get install chromium fonts-noto-cjk (.ci/run does)")
    with sync_playwright() as p:
        yield p


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path, workers=True, demo_copy=True, fork=True) as live:
        try:
            yield live
        finally:
            close_open_clients()


@pytest.fixture
def console() -> Iterator[Console]:
    seen = Console()
    yield seen
    assert seen.errors == [], "console errors during the journey:\n" + "\n".join(seen.errors)


@pytest.fixture
def pwa_copy(tmp_path: Path) -> Path:
    """A copy of pwa_static that a test may change (a new deploy)."""
    target = tmp_path / "pwa"
    shutil.copytree(Path(__file__).resolve().parents[2] / "pwa_static", target)
    return target
