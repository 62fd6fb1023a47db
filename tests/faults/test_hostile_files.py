"""Hostile files found by benchmarks/abuse.py, kept small here.

An .xlsx whose sheet inflates to a gigabyte of rows stays under the unpacked-bytes limit and
the cells limit, and openpyxl takes ~10 µs and ~100 bytes per cell: before the row cap, a
7.9 MB workbook held `automl train` for more than 120 s at 840 MB. Excel never writes more
than 1,048,576 rows in a sheet, so reading stops there. And openpyxl parsed a whole sheet
that declares no size before reading its first row (400 s, 2.3 GB for that file):
training/input/xlsx_dimensions.py stops it where the rows begin.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.training.test_reading import write, xlsx_bytes
from training.errors import InputError
from training.input import readers
from training.input.limits import EXCEL_MAX_ROWS
from training.input.reading import read_table
from training.input.xlsx_dimensions import stop_at_sheet_data


def test_excel_allows_this_many_rows() -> None:
    assert EXCEL_MAX_ROWS == 2**20


def test_a_sheet_longer_than_excel_allows_is_refused_in_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "EXCEL_MAX_ROWS", 10)
    body: list[list[object]] = [[i, i % 2] for i in range(12)]
    rows: list[list[object]] = [["x", "label"], *body]
    path = write(tmp_path, xlsx_bytes(rows))

    with pytest.raises(InputError) as caught:
        read_table(path, "bomb.xlsx")

    assert caught.value.code == "file_too_large"
    assert "more than 10 rows" not in caught.value.message  # the real limit is what is said
    assert "1,048,576 rows" in caught.value.message
    assert "CSV or Parquet" in caught.value.hint


def test_a_sheet_as_long_as_excel_allows_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "EXCEL_MAX_ROWS", 10)
    body: list[list[object]] = [[i, i % 2] for i in range(9)]
    rows: list[list[object]] = [["x", "label"], *body]
    path = write(tmp_path, xlsx_bytes(rows))
    assert len(read_table(path, "full.xlsx")) == 9


SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
ROW = b"<row><c><v>1</v></c><c><v>0</v></c></row>"


def sheet_xml(rows: int, dimension: bytes = b"") -> io.BytesIO:
    body = b"<sheetData>" + ROW * rows + b"</sheetData></worksheet>"
    return io.BytesIO(SHEET_HEAD + dimension + body)


def test_openpyxl_stops_looking_for_the_size_where_the_rows_begin() -> None:
    from openpyxl.worksheet._reader import WorkSheetParser

    stop_at_sheet_data()
    without = sheet_xml(200_000)  # 8 MB of rows and no <dimension>
    assert WorkSheetParser(without, []).parse_dimensions() is None
    assert without.tell() < 1_000_000  # it did not read on through the rows

    declared = sheet_xml(10, b'<dimension ref="A1:B11"/>')
    assert WorkSheetParser(declared, []).parse_dimensions() == (1, 1, 2, 11)


def test_a_workbook_without_a_declared_size_is_read_row_by_row_within_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "EXCEL_MAX_ROWS", 100)
    book = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx_bytes([["x", "label"], [1, 0]]))) as source,
        zipfile.ZipFile(book, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml(5_000).getvalue()
            target.writestr(info, data)
    path = write(tmp_path, book.getvalue())

    with pytest.raises(InputError) as caught:
        read_table(path, "undeclared.xlsx")

    assert "rows in its first sheet" in caught.value.message
