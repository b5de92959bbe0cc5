"""One rule-refusal class for every area (backend.errors.RuleRefused, 422); schema errors stay 400. Checked in
the source, since a per-module table that turns refusals into HTTP errors is invisible to the contracts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.errors import AppError, BadRequest, RuleRefused
from backend.review.decision import DecisionRefused

ROOT = Path(__file__).resolve().parents[2]


def backend_sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in (ROOT / "backend").rglob("*.py")
    }


# a table from refusal codes to error classes (review/verdicts.py had one: BadRequest, Conflict, Unprocessable)
CONVERSION_TABLE = re.compile(
    r"\{\s*(\"\w+\"\s*:\s*(BadRequest|Conflict|RuleRefused|Forbidden|NotFound)\s*,\s*){2,}", re.DOTALL
)
# a refusal caught and raised again as another HTTP error
CONVERTED = re.compile(r"except \w*Refus\w* as \w+:\s*\n\s*raise ")


def offenders(files: dict[str, str]) -> set[str]:
    return {
        name
        for name, text in files.items()
        if CONVERSION_TABLE.search(text)
        or CONVERTED.search(text)
        or re.search(r"\bUnprocessable\b(?! content)", text)
    }


def test_no_area_converts_refusals_itself() -> None:
    assert offenders(backend_sources()) == set()


def test_the_scan_finds_a_conversion() -> None:
    before = {
        "verdicts.py": '_REFUSALS = {\n    "decision_required": Conflict,\n    "reason_required": BadRequest,\n}',
        "other.py": "try:\n    x()\nexcept DecisionRefused as refused:\n    raise Conflict(str(refused))",
        "old.py": "raise Unprocessable('no')",
        "fine.py": "raise RuleRefused('no', code='reason_required')",
    }
    assert offenders(before) == {"verdicts.py", "other.py", "old.py"}


def test_a_pure_modules_refusal_is_the_one_rule_refusal() -> None:
    refused = DecisionRefused(
        "reason_required", "the group's decision carries a written reason", tier="basic"
    )
    assert isinstance(refused, RuleRefused)
    assert (refused.status, refused.code, refused.extra) == (422, "reason_required", {"tier": "basic"})
    assert BadRequest.status == 400
    assert not issubclass(RuleRefused, BadRequest)


@pytest.mark.parametrize("kind", [RuleRefused, BadRequest])
def test_each_class_keeps_its_status(kind: type[AppError]) -> None:
    assert kind("x", code="c").status == {RuleRefused: 422, BadRequest: 400}[kind]
