"""Professional title levels (专业技术职称): the expert pool's title gate (e.g. "中级及以上") compares levels.

A title is free text on the expert profile; its level is read from the level word it carries (初级, 中级,
副高级, 正高级) or from the usual title names of health, accounting and engineering ladders. An unrecognised
title has no level, and a gate that needs one refuses it (a person checks the profile), never guesses. Pure.
"""

from __future__ import annotations

from typing import Literal

TitleLevel = Literal["junior", "intermediate", "deputy_senior", "senior"]
LEVELS: tuple[TitleLevel, ...] = ("junior", "intermediate", "deputy_senior", "senior")

# the level words of a programme setting (minTitle) and of a title itself, most specific first
_LEVEL_WORDS: tuple[tuple[str, TitleLevel], ...] = (
    ("正高级", "senior"),
    ("正高", "senior"),
    ("副高级", "deputy_senior"),
    ("副高", "deputy_senior"),
    ("中级", "intermediate"),
    ("初级", "junior"),
)
# title names, most specific first ("副主任医师" before "主任医师", "主管护师" before "护师")
_TITLE_NAMES: tuple[tuple[str, TitleLevel], ...] = (
    ("副主任", "deputy_senior"),  # 副主任医师 / 护师 / 药师 / 技师
    ("副教授", "deputy_senior"),
    ("副研究员", "deputy_senior"),
    ("主任医师", "senior"),
    ("主任护师", "senior"),
    ("主任药师", "senior"),
    ("主任中药师", "senior"),
    ("主任技师", "senior"),
    ("教授", "senior"),
    ("研究员", "senior"),
    ("高级", "deputy_senior"),  # 高级会计师 / 工程师 / 经济师 / 统计师 (正高级 is matched above)
    ("主治医师", "intermediate"),
    ("主治中医师", "intermediate"),
    ("主管", "intermediate"),  # 主管护师 / 药师 / 技师 / 中药师
    ("助理", "junior"),  # 助理医师, 助理会计师, 助理工程师
    ("会计师", "intermediate"),
    ("工程师", "intermediate"),
    ("经济师", "intermediate"),
    ("统计师", "intermediate"),
    ("讲师", "intermediate"),
    ("医师", "junior"),
    ("护师", "junior"),
    ("药师", "junior"),
    ("技师", "junior"),
    ("医士", "junior"),
    ("护士", "junior"),
    ("药士", "junior"),
    ("技士", "junior"),
)


def title_level(title: str | None) -> TitleLevel | None:
    """The level of a title or of a level word (``中级``, ``副高级``…); None when it is not recognised."""
    text = "".join((title or "").split())
    if not text:
        return None
    for word, level in _LEVEL_WORDS:
        if text.startswith(word):
            return level
    for name, level in _TITLE_NAMES:
        if name in text:
            return level
    return None


def meets_minimum(title: str | None, minimum: str | None) -> bool | None:
    """Whether ``title`` is at ``minimum``'s level or above: True / False, or None when the title has no known
    level. No minimum (or an unrecognised one, which the standard's validation keeps out) lets every title in."""
    wanted = title_level(minimum)
    if wanted is None:
        return True
    level = title_level(title)
    if level is None:
        return None
    return LEVELS.index(level) >= LEVELS.index(wanted)
