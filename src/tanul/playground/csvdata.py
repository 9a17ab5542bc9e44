"""The playground's CSV upload: parse once, check the chosen columns with messages that name the
line and the column.

The file stays text until the page chooses its columns: a column of names next to the numbers
is fine as long as it is not chosen. Lines are counted as in a text editor (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np

__all__ = ["CsvError", "CsvTable", "parse_csv", "MAX_BYTES", "MAX_ROWS", "MIN_ROWS"]

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
MIN_ROWS = 10
MAX_ABS = 1e15


class CsvError(ValueError):
    """A CSV file that is not what the page asked for; the message names the line and column."""


class CsvTable:
    """Header and data rows of an uploaded CSV file, as text."""

    def __init__(self, header: list[str], rows: list[list[str]], line_numbers: list[int],
                 name: str = "data.csv") -> None:
        self.header = header
        self.rows = rows
        self.line_numbers = line_numbers  # the file line of each row
        self.name = name

    def __repr__(self) -> str:
        return f"CsvTable({self.name!r}, {len(self.rows)} rows, columns={self.header!r})"

    def names(self, chosen: dict[str, Any]) -> dict[str, str]:
        return {k: self.header[chosen[k]] for k in ("x1", "x2", "y")}

    def _column(self, j: int, what: str) -> np.ndarray:
        if not 0 <= j < len(self.header):
            raise CsvError(f"{what}: column {j} does not exist; the file has {len(self.header)} columns")
        out = np.empty(len(self.rows), np.float64)
        for i, row in enumerate(self.rows):
            cell = row[j].strip()
            where = f"line {self.line_numbers[i]}, column {self.header[j]!r}"
            try:
                v = float(cell)
            except ValueError:
                shown = cell if len(cell) <= 20 else cell[:20] + "..."
                raise CsvError(f"{where}: expected a number, got {shown!r}" if cell else
                               f"{where}: the cell is empty; expected a number") from None
            if not math.isfinite(v):
                raise CsvError(f"{where}: expected a finite number, got {cell!r}")
            if abs(v) > MAX_ABS:
                raise CsvError(f"{where}: expected a number between -1e15 and 1e15, got {cell!r}")
            out[i] = v
        return out

    def columns(self, j1: int, j2: int, jy: int, task: str) -> tuple[np.ndarray, np.ndarray, str]:
        """``x`` (n, 2) float64, ``y`` (n,) and the task; labels of a classification are mapped to
        0 and 1 in sorted order (there must be exactly two)."""
        x = np.column_stack([self._column(j1, "x1"), self._column(j2, "x2")])
        y = self._column(jy, "label")
        if task == "classification":
            classes = np.unique(y)
            if len(classes) < 2:
                raise CsvError(f"column {self.header[jy]!r}: only one class ({classes[0]:g}) in "
                               f"{len(y)} rows; a classification needs two")
            if len(classes) > 2:
                shown = ", ".join(f"{c:g}" for c in classes[:5]) + (", ..." if len(classes) > 5 else "")
                raise CsvError(f"column {self.header[jy]!r}: {len(classes)} different values ({shown}); "
                               "the playground classifies two classes: choose regression or another column")
            y = (y == classes[1]).astype(np.float64)
        return x, y, task


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def parse_csv(data: bytes, name: str = "data.csv") -> CsvTable:
    """Split an uploaded file into header and rows (comma, semicolon or tab separated).

    A first line with a non-numeric cell is the header; otherwise the columns are called
    ``column 1``, ``column 2``, ... Raises :class:`CsvError` for undecodable text, fewer than three
    columns, a row with another number of cells, fewer than ``MIN_ROWS`` or more than ``MAX_ROWS``
    data rows.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(f"the file is not UTF-8 text (byte {exc.start}); expected a CSV file") from None
    if "\x00" in text:
        raise CsvError("the file holds NUL bytes; expected a CSV text file")
    first = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    lines: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if row and any(c.strip() for c in row):
                lines.append((reader.line_num, row))
            if len(lines) > MAX_ROWS + 1:
                raise CsvError(f"more than {MAX_ROWS:,} data rows; the playground takes at most {MAX_ROWS:,}")
    except csv.Error as exc:
        raise CsvError(f"line {reader.line_num}: {exc}") from None
    if not lines:
        raise CsvError("the file is empty; expected a header line and at least "
                       f"{MIN_ROWS} rows of numbers")
    head_line, head = lines[0]
    if all(_is_number(c) for c in head):
        header = [f"column {j + 1}" for j in range(len(head))]
        body = lines
    else:
        header = [c.strip() or f"column {j + 1}" for j, c in enumerate(head)]
        body = lines[1:]
    if len(header) < 3:
        raise CsvError(f"line {head_line}: {len(header)} column(s); expected at least 3 "
                       "(two inputs and a label or target)")
    for line, row in body:
        if len(row) != len(header):
            raise CsvError(f"line {line}: {len(row)} cells; expected {len(header)} like the first line")
    if len(body) > MAX_ROWS:
        raise CsvError(f"{len(body):,} data rows; the playground takes at most {MAX_ROWS:,}")
    if len(body) < MIN_ROWS:
        raise CsvError(f"only {len(body)} data rows; expected at least {MIN_ROWS}")
    return CsvTable(header, [r for _, r in body], [ln for ln, _ in body], name)
