"""docs/architecture.md stays true: the paths, names and problem fields it quotes exist, and the layers it
lists are those of the import contract."""

from __future__ import annotations

import importlib
import re
import tomllib
from functools import cache
from pathlib import Path

from backend.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
SOURCES = ("backend", "sync", "media", "scripts", "tests")
REPO_DIRS = ("backend/", "sync/", "media/", "pwa_static/", "docs/", "scripts/", "tests/", "bench/")
# quoted words that are SQL, HTTP or another program's names, not ours
FOREIGN = {"TIMESTAMPTZ", "BEGIN IMMEDIATE", "BEGIN", "COMMIT", "Retry-After"}  # SQL and HTTP words


def quoted() -> list[str]:
    return re.findall(r"`([^`\n]+)`", DOC.read_text(encoding="utf-8"))


@cache
def corpus() -> str:
    parts = [(ROOT / "pyproject.toml").read_text(encoding="utf-8")]
    for top in SOURCES:
        parts += [p.read_text(encoding="utf-8") for p in (ROOT / top).rglob("*.py")]
    return "\n".join(parts)


def defined(name: str) -> bool:
    return bool(re.search(rf"(?m)^\s*(class|def|async def) {name}\b|^\s*{name}\s*[:=]", corpus()))


def expand(path: str) -> list[str]:
    """``a/{b,c}.py`` → ``a/b.py``, ``a/c.py``."""
    match = re.search(r"\{([^}]+)\}", path)
    if not match:
        return [path]
    return [p for part in match.group(1).split(",") for p in expand(path.replace(match.group(0), part, 1))]


def test_quoted_paths_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    paths = [q.split(" ")[0].split(":")[0] for q in quoted() if q.startswith(REPO_DIRS)]
    # the push's flowchart names files without backticks
    paths += re.findall(r"(?<![\w/])((?:sync|backend|media)/[\w/{},]+\.py)", text)
    missing = [
        p for raw in paths if "NNNN" not in raw for p in expand(raw.rstrip("…")) if not (ROOT / p).exists()
    ]
    assert missing == []


def test_quoted_names_are_defined() -> None:
    missing = []
    for q in quoted():
        if q in FOREIGN:
            continue
        if m := re.fullmatch(r"([\w/]+\.py): (\w+)", q):
            if not re.search(
                rf"(?m)^(class|def|async def)? ?{m.group(2)}\b", (ROOT / m.group(1)).read_text()
            ):
                missing.append(q)
        elif q.startswith("FIELDCHECK_") and q != "FIELDCHECK_*":
            field = q.removeprefix("FIELDCHECK_").split("=")[0].lower()
            if field not in Settings.__struct_fields__:
                missing.append(q)
        elif re.fullmatch(r"[A-Z][A-Za-z0-9_]+", q) and not defined(q):
            missing.append(q)
        elif m := re.fullmatch(r"((?:backend|sync|media)(?:\.\w+)+)(?:\(\))?", q):
            module, _, attr = m.group(1).rpartition(".")
            try:
                importlib.import_module(m.group(1))
            except ImportError:
                if not hasattr(importlib.import_module(module), attr):
                    missing.append(q)
    assert missing == []


def test_quoted_problem_fields_are_sent() -> None:
    """camelCase fields the doc says problems carry: the code passes them as snake_case keywords."""
    errors = DOC.read_text(encoding="utf-8").split("## Errors", 1)[1].split("##", 1)[0]
    fields = re.findall(r"`([a-z]+[A-Z]\w*)`", errors)
    snake = {f: re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), f) for f in fields}
    assert fields
    assert [f for f, s in snake.items() if not re.search(rf"\b{s}=", corpus())] == []


def test_the_layers_are_the_contracts() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["name"].startswith("the backend's areas in layers")
    )
    expected = [sorted(layer.replace(" ", "").split("|")) for layer in contract["layers"]]
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    sentence = text.split("each importing only areas below it (top first): ", 1)[1].split("(the contract", 1)[
        0
    ]
    listed = [sorted(re.findall(r"`(\w+)`", layer)) for layer in sentence.split(" > ")]
    assert listed == expected
