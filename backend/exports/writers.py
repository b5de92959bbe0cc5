"""Table files written row block by row block: CSV (UTF-8 with a byte-order mark) and XLSX (XlsxWriter in
constant-memory mode: each row goes to disk as it is written, so memory does not grow with the file).

Blocking; the export job calls them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import xlsxwriter

from backend.csv_cells import SafeCsvWriter

# an XLSX sheet holds 1,048,576 rows; a longer export continues on "<name> (2)" with the header again
XLSX_MAX_ROWS = 1_048_576


class TableWriter(Protocol):
    def write(self, rows: Sequence[Sequence[Any]]) -> None: ...
    def close(self) -> None: ...


class CsvWriter:
    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = SafeCsvWriter(self._file)
        self._csv.writerow(header)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self._csv.writerows(rows)

    def close(self) -> None:
        self._file.close()


class XlsxTableWriter:
    def __init__(
        self, path: Path, header: Sequence[str], sheet: str, *, max_rows: int = XLSX_MAX_ROWS
    ) -> None:
        # no formulas, numbers or links guessed from text: a facility name "=1+1" stays text
        self._book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "tmpdir": str(path.parent),
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._bold = self._book.add_format({"bold": True})
        self._header = list(header)
        self._name = sheet[:25]
        self._max = max_rows
        self._sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheets += 1
        name = self._name if self._sheets == 1 else f"{self._name} ({self._sheets})"
        self._sheet = self._book.add_worksheet(name)
        self._sheet.write_row(0, 0, self._header, self._bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            if self._row >= self._max:
                self._new_sheet()
            self._sheet.write_row(self._row, 0, ["" if v is None else v for v in row])
            self._row += 1

    def close(self) -> None:
        self._book.close()


def open_writer(fmt: str, path: Path, header: Sequence[str], sheet: str) -> TableWriter:
    if fmt == "csv":
        return CsvWriter(path, header)
    if fmt == "xlsx":
        return XlsxTableWriter(path, header, sheet)
    raise ValueError(f"no table writer for {fmt!r}")
