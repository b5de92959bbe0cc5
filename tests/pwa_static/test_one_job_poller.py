"""One job poller in the app (views/office/files.js: watchJob), used by the report's PDF button (useJob) and by
the improvement plan's and the term report's PDF buttons (exportAndDownload), which each had a loop of their
own (issue 24)."""

from __future__ import annotations

import re
from pathlib import Path

PWA = Path(__file__).resolve().parents[2] / "pwa_static"
OWNER = "views/office/files.js"


def pollers(files: dict[str, str]) -> set[str]:
    """Modules that ask for one export job by id, or wait in a loop with a timer."""
    asks = re.compile(r"/api/exports/\$\{")
    loops = re.compile(r"while\s*\([^)]*status[^)]*\)\s*\{[^}]*setTimeout", re.DOTALL)
    return {name for name, text in files.items() if asks.search(text) or loops.search(text)}


def app_modules() -> dict[str, str]:
    return {
        str(path.relative_to(PWA)): path.read_text(encoding="utf-8")
        for path in PWA.rglob("*.js")
        if "vendor" not in path.parts
    }


def test_one_module_polls_export_jobs() -> None:
    assert pollers(app_modules()) == {OWNER}
    owner = app_modules()[OWNER]
    assert "export function watchJob(" in owner
    assert "export async function exportAndDownload(" in owner


def test_the_scan_finds_a_poll_loop() -> None:
    copy = """while (ACTIVE.has(job.status)) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        job = (await app.api.get(`/api/exports/${job.id}`)).data;
      }"""
    assert pollers({"views/plan.js": copy, "views/other.js": "const x = 1;"}) == {"views/plan.js"}
