"""One vocabulary of codes for every message a person reads, shared with the app.

The texts live in ``pwa_static/vocabulary/<feature>.json`` (``{"code": {"zh": "...", "en": "..."}}``), the
same files the app imports, so a server-made document (report, PDF, export) and a screen say a code alike.
The server sends ``{code, params}`` on the wire and says it itself only in documents it renders.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
JOINERS = {"zh": "；", "en": "; "}


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """What a person reads, as data: a vocabulary code and its parameters, said by the reader's app or document
    (an explanation, a flag, a sampling note). ``tests/backend/test_vocabulary.py`` finds every literal code.
    A parameter may itself be a message, or a list of them (said in turn and joined)."""

    code: str
    params: dict[str, Param] = {}

    def say(self, lang: str = "zh") -> str:
        return say(self.code, lang, **self.params)


Param = str | int | float | Message | list[Message]


def vocabulary_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "pwa_static" / "vocabulary"


@cache
def vocabulary() -> dict[str, dict[str, str]]:
    """Every code with its texts, from all feature files; a code defined twice is an error."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(vocabulary_dir().glob("*.json")):
        for code, texts in json.loads(path.read_text(encoding="utf-8")).items():
            if code in merged:
                raise ValueError(f"vocabulary code {code!r} defined twice (again in {path.name})")
            merged[code] = texts
    return merged


def language_of(accept_language: str | None) -> str:
    """The reader's language from an Accept-Language header or a ``lang`` value: Chinese unless English is first."""
    if accept_language and accept_language.strip().lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def say(code: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The text of ``code`` in ``lang`` with its placeholders filled; an unknown code is said as itself."""
    texts = vocabulary().get(code)
    if texts is None:
        return code
    text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    return _PLACEHOLDER.sub(
        lambda m: _param(params[m.group(1)], lang) if m.group(1) in params else m.group(0), text
    )


def _param(value: Any, lang: str) -> str:
    if isinstance(value, Message):
        return value.say(lang)
    if isinstance(value, dict) and "code" in value:  # a message in its wire form
        return say(value["code"], lang, **(value.get("params") or {}))
    if isinstance(value, list | tuple):
        return JOINERS.get(lang, "; ").join(_param(v, lang) for v in value)
    return str(value)


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))
