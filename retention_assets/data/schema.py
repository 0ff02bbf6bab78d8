"""Typed reading of delimited files, with errors that name the file, the column and the row."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from retention_assets.data.errors import DataError

Kind = Literal["str", "int", "float"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "str"
    # The allowed values (after ``mapping``), e.g. {"0", "1"} for a label; None allows any.
    allowed: frozenset[str] | None = None
    # Values mapped before typing, e.g. {"Yes": "1", "No": "0"} for a label.
    mapping: tuple[tuple[str, str], ...] = ()
    # Blank cells are allowed (and counted) rather than errors.
    blank_ok: bool = False


def read_table(data: bytes, path: str, columns: list[Column], sep: str = ",") -> pd.DataFrame:
    """Parse ``data`` (the bytes of ``path``) and type every declared column."""
    if not data.strip():
        raise DataError(path, "file is empty")
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=sep, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(path, f"cannot be parsed as {sep!r}-separated text: {exc}") from exc
    if frame.empty:
        raise DataError(path, "file has a header but no rows")
    missing = [c.name for c in columns if c.name not in frame.columns]
    if missing:
        raise DataError(path, f"missing column(s) {missing}; found {list(frame.columns)}")
    # A file cut off mid-line lacks its final newline: an error in that last row is the cut.
    cut_row = len(frame) - 1 if not data.endswith((b"\n", b"\r")) else None
    _check_complete_rows(frame, path, columns)
    for column in columns:
        frame[column.name] = _typed(frame[column.name], path, column, cut_row)
    return frame


def _truncation_hint(row: int, cut_row: int | None) -> str:
    return " (the last line is cut short: the file looks truncated)" if row == cut_row else ""


def _check_complete_rows(frame: pd.DataFrame, path: str, columns: list[Column]) -> None:
    # A truncated file ends in a short last line, which pandas pads with empty cells.
    required = [c.name for c in columns if not c.blank_ok]
    blank = frame[required].apply(lambda s: s.str.strip() == "")
    bad_rows = blank.any(axis=1)
    if bad_rows.any():
        row = int(bad_rows.idxmax())
        cols = [c for c in required if blank.at[row, c]]
        hint = _truncation_hint(row, len(frame) - 1)  # a short last row is where the file was cut
        raise DataError(
            path, f"row {row + 2} has no value in column(s) {cols}{hint}; {int(bad_rows.sum())} such row(s)"
        )


def _typed(series: pd.Series, path: str, column: Column, cut_row: int | None = None) -> pd.Series:
    values = series.str.strip()
    if column.mapping:
        values = values.replace(dict(column.mapping))
    if column.allowed is not None:
        unexpected = sorted(set(values.unique()) - column.allowed - ({""} if column.blank_ok else set()))
        if unexpected:
            row = int(values.isin(unexpected).idxmax())
            raise DataError(
                path,
                f"column {column.name!r} has unexpected value(s) {unexpected[:5]} (first in row {row + 2}); "
                f"allowed {sorted(column.allowed)}{_truncation_hint(row, cut_row)}",
            )
    if column.kind == "str":
        return values
    numbers = pd.to_numeric(values.where(values != ""), errors="coerce")
    bad = numbers.isna() & (values != "")
    if bad.any():
        row = int(bad.idxmax())
        raise DataError(
            path,
            f"column {column.name!r} must be {column.kind}, row {row + 2} has {series.iloc[row]!r} "
            f"({int(bad.sum())} bad value(s)){_truncation_hint(row, cut_row)}",
        )
    if column.kind == "int":
        if (numbers.dropna() % 1 != 0).any():
            raise DataError(path, f"column {column.name!r} must hold whole numbers")
        return numbers.astype("Int64" if column.blank_ok else "int64")
    return numbers.astype("float64")
