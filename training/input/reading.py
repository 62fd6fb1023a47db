"""Read the file a person shared into a DataFrame, or explain in plain words why not.

`read_table` decides the format from the bytes first and the file name second (`formats`):
Parquet (`PAR1`), Excel `.xlsx` (a zip holding `xl/workbook.xml`) or delimited text (CSV, TSV,
`;` or `|`). Text is sniffed on its first 64 KB for encoding, delimiter and quote character
(`sniffing`, `text_encoding`); then one of three readers reads it (`readers`).

A gzip file (`.csv.gz`) or a zip holding one table is unpacked first (`archives`), counting
bytes as they come out: the size limit applies to what is inside.

Every reader's columns go through one cleaning step (`columns.clean_table`): one step for every
format means the NA handling cannot drift between them.

Every problem raises `InputError` with one of these codes: `empty_file`, `file_too_large`,
`too_many_columns`, `not_a_table`, `unreadable_file`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from common.memory import memory_limit_mb
from contract.jobs import Limits
from training.errors import InputError
from training.input.archives import check_zip_directory, unpacked_gzip, unpacked_zip
from training.input.columns import clean_table
from training.input.formats import (
    GZIP_MAGIC,
    PARQUET_MAGIC,
    SNIFF_BYTES,
    ZIP_MAGIC,
    is_tar,
    is_workbook,
    read_head,
    refuse_known_binary,
)
from training.input.limits import check_size, out_of_memory
from training.input.problems import empty_file, nested_archive
from training.input.readers import read_delimited, read_parquet, read_xlsx
from training.input.sniffing import sniff_text


def read_table(
    path: Path,
    file_name: str | None = None,
    *,
    max_file_mb: float = 500,
    max_columns: int = 2000,
    max_cells: int = Limits().max_cells,
    max_unpacked_mb: float = Limits().max_unpacked_mb,
) -> pd.DataFrame:
    """Read a CSV/TSV, Excel (.xlsx) or Parquet file into a clean DataFrame; also such a file
    gzip-compressed, or zipped on its own.

    `file_name` is the name the person gave the file; it is used in messages and as a hint
    for the format when the bytes do not settle it. Raises `InputError` for every problem,
    also when the table needs more memory than the process may use (its RLIMIT_DATA).
    """
    limits = Limits(
        max_file_mb=max_file_mb,
        max_columns=max_columns,
        max_cells=max_cells,
        max_unpacked_mb=max_unpacked_mb,
    )
    return read_table_within(path, file_name, limits)


def read_table_within(path: Path, file_name: str | None, limits: Limits) -> pd.DataFrame:
    """`read_table` with a job's or preview's `Limits` as they came in its spec."""
    name = file_name or Path(path).name
    try:
        return _read_table(Path(path), name, limits)
    except MemoryError:
        raise out_of_memory(name, memory_limit_mb()) from None


def _read_table(path: Path, name: str, limits: Limits) -> pd.DataFrame:
    max_file_mb = limits.max_file_mb
    size = _file_size(path, name)
    check_size(size, name, max_file_mb)
    head = read_head(path, SNIFF_BYTES, name)

    if head.startswith(GZIP_MAGIC):
        with unpacked_gzip(path, name, max_file_mb) as inner:
            return _read_unpacked(inner, name, limits)
    if head.startswith(ZIP_MAGIC) and not is_workbook(path, name, nested=False):
        with unpacked_zip(path, name, max_file_mb) as (inner, inner_name):
            return _read_unpacked(inner, inner_name, limits)
    return _read_file(path, name, head, size, limits)


def _read_unpacked(path: Path, name: str, limits: Limits) -> pd.DataFrame:
    """Read what came out of an archive: a table, never another archive."""
    size = _file_size(path, name)
    if size == 0:
        raise empty_file(name, "the file inside the archive is 0 bytes")
    head = read_head(path, SNIFF_BYTES, name)
    if head.startswith(GZIP_MAGIC) or is_tar(head):
        raise nested_archive(name)
    if head.startswith(ZIP_MAGIC):
        is_workbook(path, name, nested=True)
    return _read_file(path, name, head, size, limits)


def _read_file(path: Path, name: str, head: bytes, size: int, limits: Limits) -> pd.DataFrame:
    """Read a file that is not an archive (an Excel workbook is a zip, but not an archive)."""
    max_columns = limits.max_columns
    if head.startswith(PARQUET_MAGIC):
        header, table = read_parquet(
            path, name, max_columns, limits.max_cells, limits.max_unpacked_mb
        )
        decimal_comma = False
    elif head.startswith(ZIP_MAGIC):  # a workbook, checked by the caller; "PK,name" is a CSV
        check_zip_directory(path, name, limits.max_unpacked_mb)
        header, table = read_xlsx(path, name, max_columns, limits.max_cells)
        decimal_comma = False
    else:
        refuse_known_binary(head, name)
        plan = sniff_text(path, head, size, name, max_columns)
        header, table = read_delimited(path, plan, name, limits.max_cells)
        decimal_comma = plan.dialect.delimiter != ","
    return clean_table(header, table, name, decimal_comma=decimal_comma, max_columns=max_columns)


def _file_size(path: Path, name: str) -> int:
    try:
        if not path.is_file():
            raise FileNotFoundError(path)
        return path.stat().st_size
    except OSError as exc:
        raise InputError(
            "unreadable_file",
            f"I couldn't open `{name}`: the downloaded copy is missing.",
            "Share the file again; if it keeps happening, tell whoever runs the bot.",
        ) from exc
