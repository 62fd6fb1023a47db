"""The three readers: delimited text by pandas' C parser, Parquet by fastparquet, Excel by
openpyxl (none needs pyarrow). Each returns the header row as written and the columns by
position; naming and cleaning them is `columns.clean_table`'s job."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.errors import InputError
from training.input.columns import NA_VALUES
from training.input.limits import (
    EXCEL_MAX_ROWS,
    check_cells,
    check_columns,
    check_unpacked,
    too_many_cells,
    too_many_excel_rows,
)
from training.input.problems import bad_encoding, empty_file, unreadable
from training.input.sniffing import TextPlan
from training.input.xlsx_dimensions import stop_at_sheet_data

_LINE_NUMBER = re.compile(r"line (\d+)")


def read_delimited(
    path: Path, plan: TextPlan, name: str, max_cells: int
) -> tuple[list[Any], pd.DataFrame]:
    """Read the header row as text and the rows below it with pandas' C parser, at most
    `max_cells` values: a row past them refuses the file rather than reading on."""
    for codec, errors in plan.encodings:
        options: dict[str, Any] = {
            "sep": plan.dialect.delimiter,
            "quotechar": plan.dialect.quotechar,
            "doublequote": True,
            "skip_blank_lines": True,
            "keep_default_na": False,
            "encoding": codec,
            "encoding_errors": errors,
            "engine": "c",
        }
        try:
            # Names as written: pandas would rename repeats ("a.1") and blanks ("Unnamed: 1").
            first = pd.read_csv(path, header=None, nrows=1, dtype=str, na_filter=False, **options)
            header = first.iloc[0].tolist()
            max_rows = max_cells // max(len(header), 1)
            body = {
                **options,
                "header": 0,
                "names": list(range(len(header))),
                "index_col": False,
                "nrows": max_rows + 1,  # one more than allowed tells a file over the limit
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # handled just below
                # pandas' way of saying the first row of data is wider than the header.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                # The parser turns NA tokens into missing values and number columns into
                # numbers in C, far faster than cleaning them as text. Nullable types keep
                # whole numbers whole until empty rows are gone (see `clean_table`).
                frame = pd.read_csv(
                    path, na_values=NA_VALUES, dtype_backend="numpy_nullable", **body
                )
            # It also guesses booleans ("true" -> True), unsigned integers, and columns whose
            # chunks it typed differently (numbers, then text): read those again as text, so
            # the cleaning step decides their type like every other column's.
            guessed = [i for i, dtype in enumerate(frame.dtypes) if not _plain_parse(dtype)]
            if guessed:
                text = pd.read_csv(path, usecols=guessed, dtype=str, na_filter=False, **body)
                for i in guessed:
                    frame[i] = text[i]
        except UnicodeDecodeError:
            continue  # a byte this codec cannot decode: try the next one
        except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
            raise _parse_error(name, exc) from exc
        except pd.errors.EmptyDataError as exc:
            raise empty_file(name, "it has no rows") from exc
        if len(frame) > max_rows:
            raise too_many_cells(name, max_cells, None, len(header))
        return header, frame
    raise bad_encoding(name)


def _plain_parse(dtype: Any) -> bool:
    return isinstance(dtype, pd.StringDtype | pd.Int64Dtype | pd.Float64Dtype)


def _parse_error(name: str, exc: Exception) -> InputError:
    text = str(exc)
    match = _LINE_NUMBER.search(text)
    where = f" at line {match.group(1)}" if match else ""
    if "Expected" in text or "Length of header" in text:
        problem = f"a row{where} has more values than the header has columns"
    elif "EOF inside string" in text:
        problem = f"a quote opened{where} is never closed"
    else:
        problem = f"its rows could not be split into columns{where}"
    return InputError(
        "unreadable_file",
        f"I couldn't read `{name}` as a table: {problem}.",
        "Check that row in a spreadsheet app; values that contain the separator must be "
        'wrapped in double quotes ("like, this"). Saving the file again from Excel usually '
        "fixes it.",
    )


def read_parquet(
    path: Path, name: str, max_columns: int, max_cells: int, max_unpacked_mb: float
) -> tuple[list[Any], pd.DataFrame]:
    # fastparquet itself, not pd.read_parquet(engine="fastparquet"): pandas 3.1 deprecates that.
    import fastparquet  # only Parquet files pay for importing it

    try:
        parquet = fastparquet.ParquetFile(str(path))
        # The footer says what the file expands to: a few KB can encode millions of rows.
        check_columns(len(parquet.columns), name, max_columns)
        check_cells(parquet.count(), len(parquet.columns), name, max_cells)
        check_unpacked(_parquet_unpacked_bytes(parquet), name, max_unpacked_mb)
        frame = parquet.to_pandas()
    except InputError:
        raise
    except Exception as exc:  # fastparquet raises many kinds of errors on broken files
        raise unreadable(name, "it looks like a Parquet file but is damaged") from exc
    # pandas stores its index in the file: a named one is data, row numbers are not.
    frame = frame.reset_index(drop=all(level is None for level in frame.index.names))
    return list(frame.columns), frame


def _parquet_unpacked_bytes(parquet: Any) -> int:
    return sum(
        chunk.meta_data.total_uncompressed_size
        for group in parquet.row_groups
        for chunk in group.columns
        if chunk.meta_data is not None
    )


def read_xlsx(
    path: Path, name: str, max_columns: int, max_cells: int
) -> tuple[list[Any], pd.DataFrame]:
    import openpyxl  # only Excel files pay for importing it

    stop_at_sheet_data()  # else a sheet without a declared size is parsed whole on opening
    try:
        with path.open("rb") as handle, warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; the data is fine.
            warnings.simplefilter("ignore")
            # A file object, not a path: openpyxl refuses paths without an .xlsx suffix.
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0] if book.worksheets else None
                rows = _sheet_rows(sheet, name, max_columns, max_cells) if sheet else []
            finally:
                book.close()
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many kinds of errors on broken files
        raise unreadable(name, "it looks like an Excel file but is damaged") from exc
    if not rows:
        raise empty_file(name, "its first sheet is empty")
    # Formatting alone can stretch a sheet to thousands of empty columns: cut them off.
    width = max(_width(row) for row in rows)
    check_columns(width, name, max_columns)
    header = [*rows[0][:width], *[None] * (width - len(rows[0]))]
    body = rows[1:]
    columns = [
        _excel_column([row[i] if i < len(row) else None for row in body]) for i in range(width)
    ]
    return header, pd.DataFrame(dict(enumerate(columns)))


def _sheet_rows(sheet: Any, name: str, max_columns: int, max_cells: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    width = max_rows = 0
    for values in sheet.iter_rows(values_only=True):
        if not rows and all(_blank(v) for v in values):
            continue  # blank rows above the header
        if not rows:
            width = _width(values)
            check_columns(width, name, max_columns)  # before reading every row
            max_rows = max_cells // max(width, 1)
        elif len(rows) > max_rows:  # the header plus one row too many
            raise too_many_cells(name, max_cells, None, width)
        elif len(rows) > EXCEL_MAX_ROWS:  # each cell costs ~100 bytes and ~10 µs here
            raise too_many_excel_rows(name)
        rows.append(list(values))
    return rows


def _width(values: tuple[Any, ...] | list[Any]) -> int:
    """Columns up to the last non-blank header cell (formatting alone widens a sheet)."""
    return max((i + 1 for i, v in enumerate(values) if not _blank(v)), default=0)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _excel_column(values: list[Any]) -> pd.Series:
    # Typed cells (numbers, dates) keep their type; any text in the column means the
    # column is cleaned like CSV text, so "?" in a number column becomes missing.
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return pd.Series(values, dtype=np.float64)  # an all-empty column, as CSV gives it
    if kind in ("string", "mixed", "mixed-integer"):  # text, or types that do not mix
        return pd.Series([None if v is None else str(v) for v in values], dtype=object)
    return pd.Series(pd.array(values))  # nullable, like CSV columns (see `clean_table`)
