"""One cleaning step for every format, so NA handling cannot drift between them: name the
columns, strip whitespace, turn missing-value tokens into NaN, make a column numeric when every
remaining value is a number, and drop empty rows. Dates stay as text here; the feature plan
turns date-like columns into parts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from training.input.limits import check_columns
from training.input.problems import empty_file

# Cells that mean "no value". Matched after stripping whitespace, so "  NA " counts too.
NA_TOKENS: frozenset[str] = frozenset(
    {
        "",
        "?",
        "-",
        "--",
        "NA",
        "N/A",
        "n/a",
        "N/a",
        "na",
        "NaN",
        "nan",
        "NAN",
        "-NaN",
        "-nan",
        "null",
        "NULL",
        "Null",
        "None",
        "none",
        "NONE",
        "<NA>",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "1.#IND",
        "1.#QNAN",
        # Excel error values: a formula that failed has no value.
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
    }
)
NA_VALUES = sorted(NA_TOKENS)  # a list: what pandas' na_values and isin take
_SPACE = re.compile(r"\s")


def clean_table(
    header: list[Any], frame: pd.DataFrame, name: str, *, decimal_comma: bool, max_columns: int
) -> pd.DataFrame:
    """Name the columns, clean every one and drop empty rows."""
    if not header:
        raise empty_file(name, "it has no rows")
    check_columns(len(header), name, max_columns)
    raw_names = [_raw_name(value) for value in header]
    _map_columns(frame, lambda column: _clean_column(column, decimal_comma=decimal_comma))
    # An unnamed, empty column is an artifact (a trailing separator, a formatted cell).
    keep = [i for i in range(frame.shape[1]) if raw_names[i] or frame.iloc[:, i].notna().any()]
    if len(keep) < frame.shape[1]:
        frame = frame.iloc[:, keep]
    frame = frame.set_axis(_column_names([raw_names[i] for i in keep], keep), axis=1)
    # Rows where every cell is missing (",,,," or blank spreadsheet rows) carry nothing.
    has_data = frame.notna().any(axis=1)
    if not has_data.all():
        frame = frame[has_data].reset_index(drop=True)
    if frame.empty:
        raise empty_file(name, "it has column names but no rows of data")
    # Only now are types final: a number column whose gaps were all in dropped rows is whole.
    _map_columns(frame, _plain_type)
    return frame


def _map_columns(frame: pd.DataFrame, change: Callable[[pd.Series], pd.Series]) -> None:
    """Replace every column by `change(column)`, in place; unchanged ones are not copied."""
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        changed = change(column)
        if changed is not column:
            frame.isetitem(i, changed)


def _raw_name(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a year header read as 2020.0 should stay "2020"
    return str(value).replace("\ufeff", "").strip()


def _column_names(raw_names: list[str], positions: list[int]) -> list[str]:
    """Empty names become `column_<n>` (n counts from 1); repeats get `_2`, `_3`, ..."""
    names: list[str] = []
    used: set[str] = set()
    for raw, position in zip(raw_names, positions, strict=True):
        base = raw or f"column_{position + 1}"
        candidate, suffix = base, 2
        while candidate in used:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        used.add(candidate)
        names.append(candidate)
    return names


def _clean_column(column: pd.Series, *, decimal_comma: bool) -> pd.Series:
    """Strip text, turn NA tokens into NaN, and make all-number text numeric."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(column.cat.categories.dtype)
    if _is_text(column):
        text = column.astype("str")
        if _has_space(text):
            text = text.str.strip()
        text = text.mask(text.isin(NA_VALUES))
        number = _as_number(text, decimal_comma=decimal_comma)
        return text if number is None else number
    return column


def _plain_type(column: pd.Series) -> pd.Series:
    """Nullable numbers and booleans become the numpy types later stages expect."""
    dtype = column.dtype
    if not isinstance(dtype, pd.api.extensions.ExtensionDtype) or dtype.kind not in "iufb":
        return column
    if not column.hasnans:
        return column.astype(dtype.numpy_dtype)  # Int64 -> int64, boolean -> bool
    return column.astype(np.float64 if dtype.kind in "iuf" else object)


def _is_text(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.StringDtype):
        return True
    # Object columns of text (Excel, Parquet); bytes, decimals or dates stay as they are.
    return column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in (
        "string",
        "empty",
    )


def _has_space(text: pd.Series) -> bool:
    # Ids, codes and categories rarely hold any whitespace: one regex over all values joined
    # costs a fifth of stripping every value one by one.
    return _SPACE.search("".join(text.dropna().to_numpy(dtype=object))) is not None


def _as_number(text: pd.Series, *, decimal_comma: bool) -> pd.Series | None:
    """The column as Int64 or Float64 if every value is a number; None otherwise."""
    number = _to_number(text)
    # "3,5" is three and a half in a ;-separated export from a European Excel, but only
    # when no value in the column uses a dot.
    if number is None and decimal_comma and not text.str.contains(".", regex=False).any():
        number = _to_number(text.str.replace(",", ".", regex=False))
    return number


def _to_number(text: pd.Series) -> pd.Series | None:
    """Int64 or Float64 if every value is a number (stops at the first that is not); or None."""
    try:
        number = pd.to_numeric(text, dtype_backend="numpy_nullable")
    except (ValueError, TypeError):
        try:  # pandas 3.1 fails on integers beyond int64 next to gaps; this path copes
            number = pd.to_numeric(text)
        except (ValueError, TypeError):
            return None
    if isinstance(number.dtype, pd.Int64Dtype):
        return number
    try:  # integers beyond int64 come back unsigned, as objects or as text: floats, as before
        return number.astype("Float64")
    except (ValueError, TypeError):
        return None
