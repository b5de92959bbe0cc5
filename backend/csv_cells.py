"""The one CSV writer every CSV the server makes goes through: a text cell that a spreadsheet would run as a
formula is neutralised, as OWASP's "CSV injection" page says.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``: a
clinic's improvement text ``=cmd|' /C calc'!A0`` or a facility named ``@SUM(…)`` then opens as text in the
office's spreadsheet. Numbers stay numbers (a negative count is written as it is)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` with every cell through :func:`neutralise`."""

    def __init__(self, file: IO[str]) -> None:
        self._csv = csv.writer(file)

    def writerow(self, row: Sequence[Any]) -> None:
        self._csv.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.writerow(row)
