"""One vocabulary of codes for every message a person reads, shared with the app.

The texts live in ``pwa_static/vocabulary/<feature>.json`` (``{"code": {"zh": "...", "en": "..."}}``), the
same files the app imports, so a server-made document (report, PDF, export) and a screen say a code alike.
The server sends ``{code, params}`` on the wire and says it itself only in documents it renders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, Literal

import msgspec

Lang = Literal["zh", "en"]  # a reader's language on the wire (a query or body field), Chinese by default
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


# -- words of server-made documents (reports, PDFs, exports) ------------------------------------------------


def header(codes: Iterable[str], lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """A table's column titles: each ``col_<code>`` of the vocabulary."""
    return [say(f"col_{code}", lang) for code in codes]


def answer_text(value: object, lang: str = DEFAULT_LANGUAGE) -> object:
    """An answer as a reader reads it: met / not met / N/A in words, grades and numbers as they are."""
    if value is None:
        return ""
    if value is True:
        return say("met", lang)
    if value is False:
        return say("notMet", lang)
    if value == "NA":
        return say("na", lang)
    return value


def date_text(
    value: date | datetime | str | None, lang: str = DEFAULT_LANGUAGE, *, time: bool = False
) -> str:
    """A date (and time, in UTC+8 for Chinese readers, UTC otherwise) in the reader's form: 2026年12月3日 08:13,
    or 3 Dec 2026 00:13 UTC; the app's lib/format.js writes the same forms."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(CHINA if lang == "zh" else UTC)
        day = value.date()
    else:
        day, time = value, False
    if lang == "zh":
        text = f"{day.year}年{day.month}月{day.day}日"
        return f"{text} {value:%H:%M}" if time else text
    text = f"{day.day} {day:%b} {day.year}"
    return f"{text} {value:%H:%M} UTC" if time else text


def file_name(*parts: object, extension: str) -> str:
    """A readable file name from its parts (facility, round, what it is), safe on every file system."""
    words = [_UNSAFE.sub("_", str(p)).strip(" ._") for p in parts if p not in (None, "")]
    return "-".join(w for w in words if w)[:150] + f".{extension}"


_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')
CHINA = timezone(timedelta(hours=8))
