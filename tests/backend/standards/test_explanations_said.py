"""The engine's explanations as codes of the vocabulary, said in Chinese (the default) and English."""

from __future__ import annotations

import re

import msgspec

from backend.standards import FacilityFigures, conclude, validate_standard
from backend.vocabulary import say
from tests.backend.standards.builders import ALL_PASS, graded
from tests.backend.standards.test_standards_engine import grades, null_tiers

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def test_an_undetermined_conclusion_says_why_in_chinese() -> None:
    std = validate_standard(graded(tiers=null_tiers()))
    small = FacilityFigures(medical_staff_count=8, service_population=9000)
    result = conclude(std, grades("A", "A"), small, ALL_PASS)
    assert result.status == "undetermined"
    assert result.known_message is not None
    known = result.known_message.say()
    assert "至少达到" in known
    assert "判定比例尚未从正式文件录入" in known
    assert not LATIN_WORD.findall(known), known
    undecided = result.standings[0].message
    assert undecided is not None
    assert (
        undecided.say()
        == "推荐标准无法判断：基本条款达到 B 档及以上：8/8 = 100%；所需比例尚未从正式文件录入，无法判断"
    )
    assert "not transcribed yet" in undecided.say("en")


def test_an_ineligible_tier_names_the_figure_in_words() -> None:
    std = validate_standard(graded(tiers=null_tiers()))
    big = FacilityFigures(medical_staff_count=25, service_population=30000)
    result = conclude(std, grades("A", "D"), big, ALL_PASS)
    qualified = result.tiers[1].message
    assert qualified is not None
    assert "医务人员数 为 25，不满足 < 10" in qualified.say()
    assert not LATIN_WORD.findall(qualified.say())


def test_an_unknown_figure_and_the_wire_form_say_alike() -> None:
    std = validate_standard(graded(tiers=null_tiers()))
    result = conclude(std, grades("A", "D"), FacilityFigures(medical_staff_count=3), ALL_PASS)
    message = result.tiers[1].message
    assert message is not None
    assert "服务人口" in message.say()
    wire = msgspec.to_builtins(message)
    assert say(wire["code"], "zh", **wire["params"]) == message.say()
