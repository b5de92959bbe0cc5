"""What an inspection holds towards its evidence rule (:func:`sync.policy.missing_evidence`), read from the
sync tables: which items are marked N/A. The N/A register is read here, and its stored value judged by
:func:`na_marked`, for the push's submit check, the receipt and the review office alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

_decode = msgspec.json.Decoder()


def na_marked(stored: Any) -> bool:
    """The N/A register's stored JSON marks its item N/A: ``true`` only (``false``, ``null``, damaged: not)."""
    try:
        return _decode.decode(stored) is True
    except (msgspec.DecodeError, TypeError):
        return False


# The answer an item marked N/A has (the standards engine's "NA").
NA_ANSWER = "NA"


def answer_items(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Item code → current answer from answer register rows (``item_code``, ``field``, ``value`` JSON): the
    ``value`` register (``null`` is a cleared answer, left out), ``"NA"`` where the N/A register is marked (it
    wins over a value also present). The one reading of the registers for submit and for the review office."""
    values: dict[str, Any] = {}
    na: set[str] = set()
    for row in rows:
        if row["field"] == "na":
            if na_marked(row["value"]):
                na.add(row["item_code"])
        elif row["field"] == "value" and (decoded := _decode.decode(row["value"])) is not None:
            values[row["item_code"]] = decoded
    for item in na:
        values[item] = NA_ANSWER
    return values


def answers_by_inspection(rows: Iterable[Mapping[str, Any]]) -> dict[Any, dict[str, Any]]:
    """:func:`answer_items` for the registers of many inspections (rows with ``inspection_id``): inspection →
    item code → answer."""
    grouped: dict[Any, list[Mapping[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["inspection_id"], []).append(row)
    return {inspection: answer_items(registers) for inspection, registers in grouped.items()}


# what the databases join a round's registers with (string_agg / group_concat): "item=json" pairs separated by
# the unit separator (JSON escapes control characters, item codes hold no "=")
PAIR_SEPARATOR = "\x1f"


def answers_from_pairs(value: str | None, na: str | None) -> dict[str, Any]:
    """Item code → answer from an inspection's ``value`` and ``na`` registers as the database joined them
    (``item=json`` pairs, :data:`PAIR_SEPARATOR`): read as :func:`answer_items` reads rows (a cleared value left
    out, the N/A register marked by ``true`` only, and winning). Returns the answers and how many registers."""
    values: dict[str, Any] = {}
    for pair in value.split(PAIR_SEPARATOR) if value else ():
        item, _, raw = pair.partition("=")
        if (decoded := _decode.decode(raw)) is not None:
            values[item] = decoded
    for pair in na.split(PAIR_SEPARATOR) if na else ():
        item, _, raw = pair.partition("=")
        if na_marked(raw):
            values[item] = NA_ANSWER
    return values


def na_answered(answers: Mapping[str, Any]) -> set[str]:
    """Items whose answer (:func:`answer_items`) is N/A, by the N/A register or a ``"NA"`` value alike: they
    need no photos."""
    return {item for item, value in answers.items() if value == NA_ANSWER}
