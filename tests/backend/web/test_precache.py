"""What the service worker precaches: everything the offline roles (inspectors, clinics) load from a cold start
with no network, and nothing only the office reads online (its screens and texts load on demand and are kept
once loaded; docs/app.md). The shell's gzipped size against its budget is bench/pwa_bench.py's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from backend.vocabulary import vocabulary
from backend.web.assets import ON_DEMAND, load_app_files

PWA = Path(__file__).resolve().parents[3] / "pwa_static"

# `import … from '…'`, `import '…'` and `export … from '…'`, over several lines or minified (`import{a}from"…"`);
# `import(…)` is on demand
STATIC_IMPORT = re.compile(
    r"""(?:^|[;\n])\s*(?:import|export)\s*(?:[\w*{}\s,$]+?\s*from\s*)?['"]([^'"]+)['"]"""
)


def precache() -> set[str]:
    worker = load_app_files(PWA).assets["sw.js"].body.decode()
    return set(json.loads(worker.split("const PRECACHE = ", 1)[1].split(";\n", 1)[0]))


def offline_files() -> set[str]:
    """The files the shell names (its script, styles, icons) and every module and text they import statically."""
    shell = (PWA / "index.html").read_text(encoding="utf-8")
    # the shell's own script, styles and icons (its modulepreload lines are checked against the precache below)
    named = {
        m
        for m in re.findall(r'(?:src|href)="/static/([^"]+)"', shell)
        if not re.search(rf'rel="modulepreload" href="/static/{re.escape(m)}"', shell)
    }
    # tus-js-client is a classic script added on the first upload (upload/transport.js), which starts offline
    named.add("vendor/tus/tus.min.js")
    seen: set[str] = set()
    todo = sorted(named)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name.endswith(".js"):
            path = PWA / name
            for target in STATIC_IMPORT.findall(path.read_text(encoding="utf-8")):
                todo.append((path.parent / target).resolve().relative_to(PWA.resolve()).as_posix())
    return seen


def test_the_walk_finds_the_offline_screens() -> None:
    files = offline_files()
    for name in (
        "app.js",
        "views/inspection.js",
        "views/plan.js",
        "views/sync-centre.js",
        "upload/transport.js",
        "vendor/preact/preact.js",
        "vocabulary/inspection.json",
        "app.css",
    ):
        assert name in files, name


def test_everything_the_offline_roles_import_statically_is_precached() -> None:
    missing = sorted(name for name in offline_files() if f"/static/{name}" not in precache())
    assert missing == []


def test_nothing_only_the_office_reads_is_precached() -> None:
    cached = precache()
    assert sorted(p for p in cached if p.startswith("/static/views/office/")) == []
    on_demand = sorted(p for p in cached if p.removeprefix("/static/").startswith(ON_DEMAND))
    assert on_demand == []
    # and the offline roles reach none of it by a static import (it would not be there offline)
    assert sorted(name for name in offline_files() if name.startswith(ON_DEMAND)) == []


@pytest.mark.parametrize("icon", ["icons/icon-512.png", "icons/maskable-512.png"])
def test_the_large_icons_are_on_demand_and_still_in_the_manifest(icon: str) -> None:
    """The browser fetches the manifest's icons when it installs the app; the 192 px one is the shell's own."""
    manifest = json.loads((PWA / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert f"/static/{icon}" in {i["src"] for i in manifest["icons"]}
    assert f"/static/{icon}" not in precache()
    assert "/static/icons/icon-192.png" in precache()


def _codes_named_in(text: str, codes: set[str]) -> set[str]:
    """The vocabulary codes a module names: a literal ('key', "key"), or a template's stem (`tier_${…}`)."""
    literals = set(re.findall(r"'([^'\n]*)'", text)) | set(re.findall(r'"([^"\n]*)"', text))
    named = codes & literals
    for stem in set(re.findall(r"`([\w.-]+)\$\{", text)):
        named |= {code for code in codes if code.startswith(stem)}
    return named


def test_the_offline_roles_have_every_text_they_show_without_the_office_part() -> None:
    """A code an offline screen names, or the server can send (problem_*, reason_*, flags, explanations), is in
    a vocabulary file imported at start: the office's part is loaded only with the office's screens."""
    from tests.backend.test_vocabulary import server_codes

    every = vocabulary()
    at_start: set[str] = set()
    for name in offline_files():
        if name.startswith("vocabulary/"):
            at_start |= set(json.loads((PWA / name).read_text(encoding="utf-8")))
    assert at_start
    assert at_start < set(every)
    shown: dict[str, str] = {}
    for name in sorted(offline_files()):
        if name.endswith(".js") and not name.startswith("vendor/"):
            for code in _codes_named_in((PWA / name).read_text(encoding="utf-8"), set(every)):
                shown.setdefault(code, name)
    for code in server_codes():
        shown.setdefault(code, "the server")
    assert {code: where for code, where in shown.items() if code in every and code not in at_start} == {}
