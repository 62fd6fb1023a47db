"""The limits on a shared file: its size (also checked before a download from S3, and while
an archive is unpacked) and its number of columns."""

from __future__ import annotations

from training.errors import InputError
from training.input.problems import empty_file

BYTES_PER_MB = 1024 * 1024


def check_size(size: int, name: str, max_file_mb: float) -> None:
    """Refuses an empty or too large file; also used before downloading one from S3."""
    if size == 0:
        raise empty_file(name, "it is 0 bytes")
    if size > max_file_mb * BYTES_PER_MB:
        raise InputError(
            "file_too_large",
            f"`{name}` is {size / BYTES_PER_MB:,.0f} MB; the limit is {max_file_mb:g} MB.",
            "Share a smaller file: drop columns you don't need, take a sample of the rows, "
            "or save it as Parquet, which is usually much smaller than CSV.",
        )


def check_columns(n_columns: int, name: str, max_columns: int, *, at_least: bool = False) -> None:
    """`at_least`: `n_columns` was counted in part of the header (it goes on past the sample)."""
    if n_columns > max_columns:
        count = f"more than {n_columns:,}" if at_least else f"{n_columns:,}"
        raise InputError(
            "too_many_columns",
            f"`{name}` has {count} columns; the limit is {max_columns:,}.",
            "Remove the columns you don't need for this model and share the file again.",
        )


def too_large_unpacked(name: str, max_file_mb: float, size: int | None = None) -> InputError:
    amount = f"{size / BYTES_PER_MB:,.0f} MB" if size else f"more than {max_file_mb:g} MB"
    return InputError(
        "file_too_large",
        f"`{name}` holds {amount} once uncompressed; the limit is {max_file_mb:g} MB "
        "of uncompressed data.",
        "Share a smaller table: drop columns you don't need or take a sample of the rows. "
        "Parquet stays small without compressing it.",
    )


# The bot's settings behind each limit, for the sentence saying how to change it.
_RAISE_CELLS = "Whoever runs the bot can raise the limit (AUTOML_MAX_CELLS)."
_RAISE_UNPACKED = "Whoever runs the bot can raise the limit (AUTOML_MAX_UNPACKED_MB)."
_RAISE_MEMORY = "Whoever runs the bot can raise the limit (AUTOML_JOB_MEMORY_MB)."


def check_cells(rows: int, columns: int, name: str, max_cells: int) -> None:
    """Refuses a table of more than `max_cells` values, from its shape before it is read."""
    if rows * columns > max_cells:
        raise too_many_cells(name, max_cells, rows, columns)


def too_many_cells(name: str, max_cells: int, rows: int | None, columns: int) -> InputError:
    most = max_cells // max(columns, 1)
    shape = f"{rows:,} rows" if rows is not None else f"more than {most:,} rows"
    return InputError(
        "file_too_large",
        f"`{name}` has {shape} of {columns:,} columns; the limit is {max_cells:,} values "
        "(rows x columns) in one table.",
        "Share a sample of the rows or fewer columns. " + _RAISE_CELLS,
    )


def check_unpacked(size: int, name: str, max_unpacked_mb: float) -> None:
    """Refuses a file whose own directory or footer says it inflates past the limit."""
    if size > max_unpacked_mb * BYTES_PER_MB:
        raise InputError(
            "file_too_large",
            f"`{name}` expands to {size / BYTES_PER_MB:,.0f} MB once uncompressed; the limit "
            f"is {max_unpacked_mb:g} MB.",
            "Share a smaller table: fewer rows or columns. " + _RAISE_UNPACKED,
        )


def out_of_memory(name: str, limit_mb: int | None) -> InputError:
    """A table that needed more memory than the job may use (its RLIMIT_DATA)."""
    limit = f" (the limit is {limit_mb:,} MB)" if limit_mb else ""
    return InputError(
        "file_too_large",
        f"`{name}` needs more memory than a job may use{limit}.",
        "Share a sample of the rows or fewer columns. " + _RAISE_MEMORY,
    )


# Excel itself stops at this many rows in a sheet; a "workbook" with more was made to be big.
EXCEL_MAX_ROWS = 1_048_576


def too_many_excel_rows(name: str) -> InputError:
    return InputError(
        "file_too_large",
        f"`{name}` has more than {EXCEL_MAX_ROWS:,} rows in its first sheet, more than Excel "
        "allows, so it was not saved by Excel.",
        "Save the table as CSV or Parquet and share that file instead.",
    )
