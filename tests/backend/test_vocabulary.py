"""The shared vocabulary: every code said in Chinese and English, with the same placeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from backend.vocabulary import LANGUAGES, placeholders, say, vocabulary, vocabulary_dir


def test_every_feature_file_is_imported_by_the_app() -> None:
    module = (vocabulary_dir().parent / "lib" / "vocabulary.js").read_text(encoding="utf-8")
    for path in vocabulary_dir().glob("*.json"):
        assert f"../vocabulary/{path.name}" in module, f"{path.name} is not imported by lib/vocabulary.js"


def test_every_code_has_both_languages_with_the_same_placeholders() -> None:
    for code, texts in vocabulary().items():
        assert set(texts) == set(LANGUAGES), f"{code}: languages {sorted(texts)}"
        assert all(texts[lang].strip() for lang in LANGUAGES), f"{code}: an empty text"
        assert placeholders(texts["zh"]) == placeholders(texts["en"]), f"{code}: placeholders differ"


def test_say_fills_parameters_and_falls_back_to_the_code() -> None:
    assert say("no_such_code") == "no_such_code"


def test_every_text_the_app_asks_for_by_name_is_in_the_vocabulary() -> None:
    """Each literal ``t('key')`` in the app's modules names a code of the vocabulary (no text lives in lib/i18n.js)."""
    app = vocabulary_dir().parent
    asked: set[str] = set()
    for path in app.rglob("*.js"):
        if "vendor" not in path.parts:
            asked |= set(re.findall(r"\bt\(\s*'([\w-]+)'", path.read_text(encoding="utf-8")))
    assert asked, "no t('…') call found: the pattern is stale"
    assert sorted(asked - set(vocabulary())) == []
    i18n = (app / "lib" / "i18n.js").read_text(encoding="utf-8")
    assert "const zh" not in i18n, "texts belong in pwa_static/vocabulary/*.json"


# -- every code the server can send has its text ------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
ERROR_MODULES = ("backend/errors.py", "sync/errors.py", "media/upload_errors.py")


def _trees() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for root in ("backend", "sync", "media")
        for path in sorted((ROOT / root).rglob("*.py"))
    ]


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _text(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def server_codes() -> dict[str, set[str]]:
    """The vocabulary code of every message the server can send, each with where it is made.

    Problem details say ``problem_<code>``; refused mutations ``reason_<reason>``; evidence flags
    ``flag_<code>``; explanations are ``Message(code=…)`` (backend/vocabulary.py) and say their own code."""
    errors = {
        node.name
        for module in ERROR_MODULES
        for node in ast.walk(ast.parse((ROOT / module).read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    }
    found: dict[str, set[str]] = {}

    def add(code: str | None, where: str) -> None:
        # a code held in a variable (None here) is one of the literals found elsewhere
        if code and not code.endswith("_None"):
            found.setdefault(code, set()).add(where)

    for path, tree in _trees():
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in errors:
                for stmt in node.body:
                    target = (
                        stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
                    )
                    if isinstance(target, ast.Name) and target.id == "code":
                        add(f"problem_{_text(getattr(stmt, 'value', None))}", where)
            if not isinstance(node, ast.Call):
                continue
            func = _name(node.func)
            keywords = {kw.arg: kw.value for kw in node.keywords}
            first = _text(node.args[0]) if node.args else None
            if func in errors and "code" in keywords:
                add(f"problem_{_text(keywords['code'])}", where)
            elif func == "problem" and len(node.args) > 1:
                add(f"problem_{_text(node.args[1])}", where)
            elif func == "ImageRejected":  # a refused file: the upload's problem and the photo's state
                add(f"problem_{first}" if first else None, where)
                add(f"photoRejected_{first}" if first else None, where)
            elif func in ("Rejected", "Violation"):
                add(f"reason_{first}", where)
            elif func == "MutationResult" and "reason" in keywords:
                add(f"reason_{_text(keywords['reason'])}", where)
            elif func == "Message":
                add(_text(keywords.get("code")) or first, where)
    from backend.errors import HTTP_CODES
    from backend.evidence.rules import FLAG_CODES
    from backend.standards.loader import load_shipped, shipped_names
    from backend.standards.tiers import FIGURE_ATTRS

    # codes made from data: a condition's scope, a facility figure, a prerequisite's outcome
    for standard in map(load_shipped, shipped_names()):
        for tier in standard.determination.tiers:
            for condition in tier.conditions:
                if not condition.scope.startswith("section:"):
                    add(f"scope_{condition.scope}", "backend/standards/tiers.py")
    for figure in FIGURE_ATTRS:
        add(f"figure_{figure}", "backend/standards/tiers.py")
    from typing import get_args

    from backend.inspections.schemas import Stage, Tier

    for tier in get_args(Tier):
        add(f"tier_{tier}", "backend/programme/samples.py")
    for stage in get_args(Stage):
        add(f"stage_{stage}", "backend/programme/samples.py")
    for outcome in ("failed", "missing"):
        add(f"explain_prerequisite_{outcome}", "backend/standards/engine.py")

    for code in [*HTTP_CODES.values(), "http_error"]:
        add(f"problem_{code}", "backend/errors.py")
    policy = ast.parse((ROOT / "sync" / "policy.py").read_text(encoding="utf-8"))
    for function in ast.walk(policy):
        if isinstance(function, ast.FunctionDef) and function.name in ("submit_refusal", "edit_refusal"):
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple | ast.Constant):
                    value = node.value.elts[0] if isinstance(node.value, ast.Tuple) else node.value
                    add(f"reason_{_text(value)}" if _text(value) else None, "sync/policy.py")
    for code in FLAG_CODES:
        add(f"flag_{code}", "backend/evidence/rules.py")
    return found


def test_every_code_the_server_can_send_has_text() -> None:
    codes = server_codes()
    assert len(codes) > 150, "the scan found too few codes: stale?"
    missing = {code: sorted(where) for code, where in codes.items() if code not in vocabulary()}
    assert missing == {}
