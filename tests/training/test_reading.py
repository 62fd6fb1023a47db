"""Tests for training.input.reading: real files written to tmp_path, every format and error code."""

from __future__ import annotations

import codecs
import gzip
import io
import struct
import tarfile
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from training.errors import InputError
from training.input.reading import read_table


def write(tmp_path: Path, data: bytes | str, name: str = "dataset") -> Path:
    """Write a file the way the bot stores a download: no extension by default."""
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def expect_error(
    path: Path,
    code: str,
    file_name: str = "people.csv",
    *,
    max_file_mb: float = 500,
    max_columns: int = 2000,
) -> str:
    """Read, expect `code`, and check the message names the file; return message + hint."""
    with pytest.raises(InputError) as caught:
        read_table(path, file_name, max_file_mb=max_file_mb, max_columns=max_columns)
    error = caught.value
    assert error.code == code, error.message
    assert file_name in error.message
    assert error.hint
    return f"{error.message} {error.hint}"


@pytest.fixture
def write_parquet() -> Callable[[pd.DataFrame, Path], None]:
    """Write Parquet the way the training image can: fastparquet, no pyarrow."""
    fastparquet = pytest.importorskip("fastparquet")
    return lambda frame, path: fastparquet.write(str(path), frame)


def is_str_column(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_numeric_dtype(
        series.dtype
    )


SIMPLE = "id,name,score\n1,Ann,0.5\n2,Bob,1.5\n3,Cy,2\n"


# ---- delimiters and quoting ----------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = write(tmp_path, SIMPLE.replace(",", delimiter))
    frame = read_table(path, "people.txt")
    assert list(frame.columns) == ["id", "name", "score"]
    assert frame["id"].dtype == np.int64
    assert frame["score"].dtype == np.float64
    assert is_str_column(frame["name"])
    assert frame["name"].tolist() == ["Ann", "Bob", "Cy"]


def test_quoted_fields_keep_delimiters_and_newlines(tmp_path: Path) -> None:
    text = (
        'id,comment,amount\n1,"hello, world",3\n2,"two\nlines, and ""quotes""",4\n'
        '3,"a,b,c",5\n4,plain,6\n'
    )
    frame = read_table(write(tmp_path, text), "notes.csv")
    assert frame.shape == (4, 3)
    assert frame["comment"].tolist() == [
        "hello, world",
        'two\nlines, and "quotes"',
        "a,b,c",
        "plain",
    ]
    assert frame["amount"].tolist() == [3, 4, 5, 6]


def test_semicolon_with_quoted_semicolons_and_commas(tmp_path: Path) -> None:
    text = 'city;note;n\nParis;"a;b";1\nLyon;"c, d";2\nNice;e;3\n'
    frame = read_table(write(tmp_path, text), "villes.csv")
    assert list(frame.columns) == ["city", "note", "n"]
    assert frame["note"].tolist() == ["a;b", "c, d", "e"]


def test_single_quote_quoting_is_sniffed(tmp_path: Path) -> None:
    text = "a,b\n'x, y',1\n'z, w',2\n'q, r',3\n"
    frame = read_table(write(tmp_path, text), "q.csv")
    assert frame["a"].tolist() == ["x, y", "z, w", "q, r"]


def test_crlf_and_blank_lines(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "\r\na,b\r\n1,x\r\n\r\n2,y\r\n\r\n"), "win.csv")
    assert frame.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_one_column_table_is_accepted(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "label\nyes\nno\nyes\n"), "labels.csv")
    assert frame["label"].tolist() == ["yes", "no", "yes"]


def test_short_rows_are_filled_with_missing(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "a,b,c\n1,2,3\n4,5\n"), "short.csv")
    assert frame["c"].isna().tolist() == [False, True]
    assert frame["c"].dtype == np.float64


def test_decimal_comma_in_semicolon_file(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "x;y\n1,5;a\n2,25;b\n"), "eu.csv")
    assert frame["x"].tolist() == [1.5, 2.25]


# ---- encodings -----------------------------------------------------------------------------

UNICODE = "name,city,n\nJosé,Zürich,1\nRenée,Łódź,2\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_unicode_encodings(tmp_path: Path, encoding: str) -> None:
    frame = read_table(write(tmp_path, UNICODE.encode(encoding)), "u.csv")
    assert list(frame.columns) == ["name", "city", "n"]  # no BOM left on "name"
    assert frame["city"].tolist() == ["Zürich", "Łódź"]
    assert frame["n"].tolist() == [1, 2]


def test_cp1252_fallback(tmp_path: Path) -> None:
    text = "name,price\nCafé,5 €\nNaïve,6\n"
    frame = read_table(write(tmp_path, text.encode("cp1252")), "prices.csv")
    assert frame["name"].tolist() == ["Café", "Naïve"]
    assert frame["price"].tolist() == ["5 €", "6"]


def test_latin1_fallback_for_bytes_cp1252_lacks(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, b"a,b\n\xe9t\xe9,\x81x\n"), "l1.csv")
    assert frame["a"].tolist() == ["été"]
    assert frame["b"].tolist() == ["\x81x"]


def test_cp1252_byte_after_the_sniffed_sample(tmp_path: Path) -> None:
    # The first 64 KB are ASCII (so they pass as UTF-8); the é further down is not UTF-8.
    rows = "".join(f"{i},plain\n" for i in range(12_000))
    path = write(tmp_path, ("id,word\n" + rows).encode() + "99999,café\n".encode("cp1252"))
    frame = read_table(path, "late.csv")
    assert frame["word"].iloc[-1] == "café"
    assert len(frame) == 12_001


# ---- missing values, types, names ----------------------------------------------------------


def test_na_tokens_become_missing_and_numbers_stay_numeric(tmp_path: Path) -> None:
    text = (
        "age,income,city,flag\n"
        "30,?,Paris,NA\n"
        "?,1000,  ,x\n"
        " 41 , N/A ,  Rome  ,\n"
        "NaN,null,None,z\n"
        "50,2500.5,NULL,-\n"
    )
    frame = read_table(write(tmp_path, text), "na.csv")
    assert frame["age"].dtype == np.float64
    assert frame["age"].isna().tolist() == [False, True, False, True, False]
    assert frame["age"].iloc[2] == 41
    assert frame["income"].dtype == np.float64
    assert frame["income"].isna().sum() == 3
    assert frame["city"].tolist()[0] == "Paris"
    assert frame["city"].tolist()[2] == "Rome"  # surrounding whitespace stripped
    assert frame["city"].isna().tolist() == [False, True, False, True, True]
    assert frame["flag"].isna().tolist() == [True, False, True, False, True]


def test_all_na_row_is_dropped(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "a,b\n1,x\n,\n?,NA\n2,y\n"), "gaps.csv")
    assert frame["a"].tolist() == [1, 2]


def test_dates_and_booleans_stay_strings(tmp_path: Path) -> None:
    text = "when,at,ok\n2024-01-05,2024-01-05 10:00,true\n2024-02-06,2024-02-06 11:30,false\n"
    frame = read_table(write(tmp_path, text), "d.csv")
    assert frame["when"].tolist() == ["2024-01-05", "2024-02-06"]
    assert frame["at"].tolist() == ["2024-01-05 10:00", "2024-02-06 11:30"]
    assert frame["ok"].tolist() == ["true", "false"]
    assert all(is_str_column(frame[c]) for c in frame.columns)


def test_header_cleanup(tmp_path: Path) -> None:
    text = " a ,,a,b,a, \n1,2,3,4,5,6\n"
    frame = read_table(write(tmp_path, text), "h.csv")
    assert list(frame.columns) == ["a", "column_2", "a_2", "b", "a_3", "column_6"]


def test_unnamed_empty_column_from_trailing_separator_is_dropped(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "a,b,\n1,2,\n3,4,\n"), "t.csv")
    assert list(frame.columns) == ["a", "b"]


def test_booleans_the_parser_guesses_come_back_as_written(tmp_path: Path) -> None:
    # pandas' C parser turns true/TRUE/True into booleans; the text is what a person wrote.
    text = "ok,flag,n\ntrue,TRUE,1\nFALSE,,2\nTrue, false ,3\n"
    frame = read_table(write(tmp_path, text), "b.csv")
    assert frame["ok"].tolist() == ["true", "FALSE", "True"]
    assert frame["flag"].tolist()[::2] == ["TRUE", "false"]
    assert frame["flag"].isna().tolist() == [False, True, False]
    assert is_str_column(frame["ok"]) and is_str_column(frame["flag"])


def test_huge_integers_become_floats(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "big,n\n18446744073709551615,1\n5,2\n"), "h.csv")
    assert frame["big"].dtype == np.float64
    assert frame["n"].dtype == np.int64


def test_every_format_cleans_alike(
    tmp_path: Path, write_parquet: Callable[[pd.DataFrame, Path], None]
) -> None:
    rows = [
        ["1", " 2.5 ", "cat", "2024-01-01"],
        ["2", "?", "  dog ", "2024-01-02"],
        ["3", "NA", "a, b", ""],
        ["4", "nan", "-", "2024-01-04"],
        ["5", "7", "null", "N/A"],
    ]
    names = ["id", "x", "label", "when"]
    csv_text = ",".join(names) + "\n" + "".join(",".join(f'"{v}"' for v in r) + "\n" for r in rows)
    from_csv = read_table(write(tmp_path, csv_text, "c"), "e.csv")
    from_xlsx = read_table(write(tmp_path, xlsx_bytes([names, *rows]), "x"), "e.xlsx")
    write_parquet(pd.DataFrame(rows, columns=names), tmp_path / "p")
    from_parquet = read_table(tmp_path / "p", "e.parquet")
    for other in (from_xlsx, from_parquet):
        pd.testing.assert_frame_equal(from_csv, other)
    assert from_csv["id"].dtype == np.int64
    assert from_csv["x"].dtype == np.float64
    assert from_csv["label"].isna().tolist() == [False, False, False, True, True]


# ---- Excel and Parquet ---------------------------------------------------------------------


def xlsx_bytes(rows: list[list[object]], second_sheet: bool = False) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    if second_sheet:
        book.create_sheet("other").append(["not", "this"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_detected_by_content(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        [" id ", "score", None, "score"],
        [1, 0.5, "x", "?"],
        [2, "?", "y", 3],
        [3, 1.25, "  z ", 4],
    ]
    path = write(tmp_path, xlsx_bytes(rows, second_sheet=True))  # no .xlsx suffix on disk
    frame = read_table(path, "book.xlsx")
    assert list(frame.columns) == ["id", "score", "column_3", "score_2"]
    assert frame["id"].dtype == np.int64
    assert frame["score"].dtype == np.float64
    assert frame["score"].isna().tolist() == [False, True, False]
    assert frame["score_2"].dtype == np.float64
    assert frame["column_3"].tolist() == ["x", "y", "z"]


def test_xlsx_found_even_with_a_csv_name(tmp_path: Path) -> None:
    path = write(tmp_path, xlsx_bytes([["a", "b"], [1, "x"]]))
    assert read_table(path, "really.csv").shape == (1, 2)


def test_parquet_detected_by_content(
    tmp_path: Path, write_parquet: Callable[[pd.DataFrame, Path], None]
) -> None:
    source = pd.DataFrame({"n": [1, 2, 3], "s": [" a", "?", "c "], "q": ["1", "NA", "3"]})
    path = tmp_path / "blob"
    write_parquet(source, path)
    frame = read_table(path, "data.parquet")
    assert list(frame.columns) == ["n", "s", "q"]
    assert frame["n"].tolist() == [1, 2, 3]
    assert frame["s"].tolist()[::2] == ["a", "c"]
    assert frame["s"].isna().tolist() == [False, True, False]
    assert frame["q"].dtype == np.float64


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n\n  \t\n", b"id,name,score\n", b"id,name,score\n\n\n", b"a,b\n,\n?,NA\n"],
    ids=["zero-bytes", "whitespace", "header-only", "header-blank-lines", "only-missing"],
)
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    expect_error(write(tmp_path, data), "empty_file")


def test_empty_xlsx_and_header_only_xlsx(tmp_path: Path) -> None:
    expect_error(write(tmp_path, xlsx_bytes([]), "a"), "empty_file", "a.xlsx")
    expect_error(write(tmp_path, xlsx_bytes([["a", "b"]]), "b"), "empty_file", "b.xlsx")


def test_file_too_large_is_checked_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, SIMPLE * 100)
    text = expect_error(path, "file_too_large", max_file_mb=0.001)
    assert "MB" in text


def test_too_many_columns(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(30))
    path = write(tmp_path, header + "\n" + ",".join(["1"] * 30) + "\n")
    expect_error(path, "too_many_columns", max_columns=10)
    assert read_table(path, "ok.csv", max_columns=30).shape == (1, 30)


def test_too_many_columns_in_parquet_and_xlsx(
    tmp_path: Path, write_parquet: Callable[[pd.DataFrame, Path], None]
) -> None:
    wide = pd.DataFrame({f"c{i}": [i] for i in range(12)})
    write_parquet(wide, tmp_path / "p")
    expect_error(tmp_path / "p", "too_many_columns", "w.parquet", max_columns=10)
    path = write(tmp_path, xlsx_bytes([list(wide.columns), list(range(12))]), "x")
    expect_error(path, "too_many_columns", "w.xlsx", max_columns=10)


SLACK_LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>Slack</title></head>
<body><div id="signin">Sign in to your workspace</div></body></html>
"""


def test_html_login_page_mentions_files_read_scope(tmp_path: Path) -> None:
    text = expect_error(write(tmp_path, SLACK_LOGIN_PAGE), "not_a_table")
    assert "files:read" in text


@pytest.mark.parametrize(
    "data",
    [
        b'{"rows": [{"a": 1, "b": 2}]}',
        b'[{"a": 1, "b": 2}, {"a": 3, "b": 4}]',
        b'{"a": 1}\n{"a": 2}\n',
        b"  [1, 2, 3]",
    ],
    ids=["object", "array", "json-lines", "number-array"],
)
def test_json_is_refused(tmp_path: Path, data: bytes) -> None:
    assert "JSON" in expect_error(write(tmp_path, data), "not_a_table")


def test_sql_server_bracket_header_is_not_json(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "[id],[name]\n1,a\n"), "sql.csv")
    assert list(frame.columns) == ["[id]", "[name]"]


@pytest.mark.parametrize(
    ("data", "word"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "PNG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), ".xls"),
        (bytes(range(256)) * 8, "binary"),
        (b"<?xml version='1.0'?><rows><r a='1'/></rows>", "XML"),
    ],
    ids=["png", "pdf", "xls", "binary", "xml"],
)
def test_not_a_table(tmp_path: Path, data: bytes, word: str) -> None:
    assert word in expect_error(write(tmp_path, data), "not_a_table")


def test_prose_is_not_a_one_column_table(tmp_path: Path) -> None:
    prose = (
        "Dear team I am writing to let you know that the quarterly numbers are attached\n"
        "Please have a look before the meeting on Thursday and let me know your thoughts\n"
        "Best regards and thanks again for all the hard work that went into this release\n"
    )
    expect_error(write(tmp_path, prose), "not_a_table", "letter.txt")


@pytest.mark.usefixtures("write_parquet")  # reading Parquet needs fastparquet too
def test_corrupt_parquet(tmp_path: Path) -> None:
    expect_error(write(tmp_path, b"PAR1" + b"garbage" * 20), "unreadable_file", "d.parquet")


def test_truncated_parquet(
    tmp_path: Path, write_parquet: Callable[[pd.DataFrame, Path], None]
) -> None:
    write_parquet(pd.DataFrame({"a": range(100)}), tmp_path / "full")
    data = (tmp_path / "full").read_bytes()
    expect_error(write(tmp_path, data[: len(data) // 2]), "unreadable_file", "d.parquet")


def test_corrupt_xlsx(tmp_path: Path) -> None:
    expect_error(write(tmp_path, b"PK\x03\x04" + b"junk" * 50), "unreadable_file", "d.xlsx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not really a workbook")
    expect_error(write(tmp_path, buffer.getvalue()), "unreadable_file", "d.xlsx")


def test_row_with_too_many_values(tmp_path: Path) -> None:
    text = expect_error(write(tmp_path, "a,b\n1,2\n3,4,5\n6,7\n"), "unreadable_file")
    assert "line 3" in text


def test_first_row_wider_than_the_header(tmp_path: Path) -> None:
    # pandas would quietly cut the extra value off (or make it the index): refuse instead.
    text = expect_error(write(tmp_path, "a;b\n1;2;3\n4;5\n6;7\n"), "unreadable_file")
    assert "more values than the header" in text


def test_whole_numbers_stay_int_when_only_empty_rows_had_gaps(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "a,b\n1,x\n,\n2,y\n"), "gaps.csv")
    assert frame["a"].dtype == np.int64
    sheet = read_table(write(tmp_path, xlsx_bytes([["a", "b"], [1, "x"], [None, None], [2, "y"]])))
    assert sheet["a"].dtype == np.int64


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope", "unreadable_file")


def test_name_defaults_to_path_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="dataset"):
        read_table(write(tmp_path, b""))


# ---- content first, name second ------------------------------------------------------------


def test_csv_starting_with_pk_is_not_a_zip(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, "PK,name\n1,a\n2,b\n"), "keys.csv")
    assert list(frame.columns) == ["PK", "name"]


def test_tsv_name_breaks_a_delimiter_tie(tmp_path: Path) -> None:
    # Every row splits into two fields on both the comma and the tab.
    text = "a,b\tc\n1,2\t3\n"
    assert list(read_table(write(tmp_path, text), "x.tsv").columns) == ["a,b", "c"]
    assert list(read_table(write(tmp_path, text), "x.csv").columns) == ["a", "b\tc"]


def test_html_under_an_xlsx_name_still_explains_the_scope(tmp_path: Path) -> None:
    text = expect_error(write(tmp_path, SLACK_LOGIN_PAGE), "not_a_table", "report.xlsx")
    assert "files:read" in text


def test_binary_under_an_xlsx_name_is_damaged(tmp_path: Path) -> None:
    expect_error(write(tmp_path, bytes(range(256)) * 4), "unreadable_file", "report.xlsx")


def test_xlsx_formatting_does_not_add_columns(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["a", "empty"], [1, None], [2, None]):
        sheet.append(row)
    sheet.cell(row=1, column=40).font = openpyxl.styles.Font(bold=True)
    sheet.cell(row=30, column=1).font = openpyxl.styles.Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    frame = read_table(write(tmp_path, buffer.getvalue()), "f.xlsx", max_columns=5)
    assert list(frame.columns) == ["a", "empty"]
    assert frame["a"].tolist() == [1, 2]
    assert frame["empty"].dtype == np.float64


def test_broken_utf16_text(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + "a,b\n1,2\n".encode("utf-16-le") + b"\x00\xd8"
    expect_error(write(tmp_path, data), "unreadable_file")


# ---- gzip and zip --------------------------------------------------------------------------

MB = 1024 * 1024


def zip_bytes(files: dict[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zeros_gzip(megabytes: int) -> bytes:
    """A gzip bomb: `megabytes` MB of zeros in one stream, about a thousandth of that packed."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    chunk = bytes(MB)
    return b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()


def refused_quickly(path: Path, code: str, file_name: str, max_file_mb: float) -> str:
    """Expect `code` within seconds, and without holding the unpacked data in memory."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        text = expect_error(path, code, file_name, max_file_mb=max_file_mb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 10
    assert peak < 20 * MB, f"peak {peak / MB:.0f} MB"
    return text


def no_scratch_left(tmp_path: Path, *keep: str) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


def test_gzip_csv_is_read_by_content(tmp_path: Path) -> None:
    plain = read_table(write(tmp_path, SIMPLE, "plain"), "people.csv")
    for name in ("people.csv.gz", "people.csv"):  # a gzip under a plain name is found too
        frame = read_table(write(tmp_path, gzip.compress(SIMPLE.encode()), "packed"), name)
        pd.testing.assert_frame_equal(frame, plain)
    no_scratch_left(tmp_path, "plain", "packed")


def test_gzip_tsv_name_still_breaks_a_delimiter_tie(tmp_path: Path) -> None:
    path = write(tmp_path, gzip.compress(b"a,b\tc\n1,2\t3\n"))
    assert list(read_table(path, "x.tsv.gz").columns) == ["a,b", "c"]


@pytest.mark.slow
def test_gzip_bomb_is_refused_at_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, zeros_gzip(200))  # 200 MB unpacked, about 200 KB packed
    assert path.stat().st_size < MB
    text = refused_quickly(path, "file_too_large", "data.csv.gz", max_file_mb=1)
    assert "uncompressed" in text
    no_scratch_left(tmp_path, "dataset")


@pytest.mark.slow
def test_gzip_limit_counts_the_uncompressed_size(tmp_path: Path) -> None:
    rows = "".join(f"{i},row {i % 10},{i % 7}.5\n" for i in range(120_000))  # about 2.5 MB
    path = write(tmp_path, gzip.compress(("id,label,x\n" + rows).encode()))
    assert path.stat().st_size < MB
    expect_error(path, "file_too_large", "big.csv.gz", max_file_mb=1)
    assert read_table(path, "big.csv.gz", max_file_mb=3).shape == (120_000, 3)


@pytest.mark.parametrize(
    "data",
    [b"\x1f\x8b\x08\x00" + bytes(32), gzip.compress(SIMPLE.encode() * 50)[:-12]],
    ids=["garbage", "cut-off"],
)
def test_damaged_gzip(tmp_path: Path, data: bytes) -> None:
    assert "gzip" in expect_error(write(tmp_path, data), "unreadable_file", "d.csv.gz")


def test_zip_with_one_csv_is_read(tmp_path: Path) -> None:
    data = zip_bytes(
        {"inside/": "", "inside/data.csv": SIMPLE, "__MACOSX/inside/._data.csv": "junk"}
    )
    frame = read_table(write(tmp_path, data), "data.zip")
    pd.testing.assert_frame_equal(frame, read_table(write(tmp_path, SIMPLE, "plain")))
    no_scratch_left(tmp_path, "dataset", "plain")


def test_zip_with_one_xlsx_or_unnamed_file_is_read(tmp_path: Path) -> None:
    book = xlsx_bytes([["a", "b"], [1, "x"], [2, "y"]])
    frame = read_table(write(tmp_path, zip_bytes({"book.xlsx": book}), "z1"), "book.zip")
    assert frame.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}
    frame = read_table(write(tmp_path, zip_bytes({"export": SIMPLE}), "z2"), "export.zip")
    assert list(frame.columns) == ["id", "name", "score"]


def test_zip_with_two_tables_is_refused(tmp_path: Path) -> None:
    data = zip_bytes({"train.csv": SIMPLE, "test.csv": SIMPLE, "README.md": "notes"})
    text = expect_error(write(tmp_path, data), "not_a_table", "both.zip")
    assert "`train.csv`" in text and "`test.csv`" in text and "one table" in text


@pytest.mark.parametrize(
    ("files", "word"),
    [({"notes.pdf": b"%PDF-1.7", "photo.png": b"png"}, "`notes.pdf`"), ({}, "empty")],
    ids=["no-table", "empty"],
)
def test_zip_without_a_table_is_refused(
    tmp_path: Path, files: dict[str, bytes | str], word: str
) -> None:
    text = expect_error(write(tmp_path, zip_bytes(files)), "not_a_table", "stuff.zip")
    assert word in text


@pytest.mark.slow
def test_zip_bomb_is_refused_by_its_declared_size(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("data.csv", "w", force_zip64=True) as entry,
    ):
        for _ in range(300):
            entry.write(bytes(MB))
    path = write(tmp_path, buffer.getvalue())
    text = refused_quickly(path, "file_too_large", "bomb.zip", max_file_mb=1)
    assert "300 MB" in text and "uncompressed" in text
    no_scratch_left(tmp_path, "dataset")


def test_zip_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    rows = b"id,x\n" + b"1,0\n" * 1_000_000  # 4 MB, a few KB packed
    data = bytearray(zip_bytes({"data.csv": rows}))
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)  # its directory now says 1,000 bytes
    path = write(tmp_path, bytes(data))
    # Python's zipfile stops at the declared size, and the checksum of the cut-off content
    # then fails; whatever comes out is counted against the limit as well.
    text = refused_quickly(path, "unreadable_file", "liar.zip", max_file_mb=1)
    assert "damaged zip" in text
    no_scratch_left(tmp_path, "dataset")


@pytest.mark.parametrize(
    "entry", ["../evil.csv", "/etc/evil.csv", "C:/evil.csv", "a/../../evil.csv"]
)
def test_zip_with_an_unsafe_path_is_refused(tmp_path: Path, entry: str) -> None:
    data = zip_bytes({zipfile.ZipInfo(entry).filename: SIMPLE})
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == [entry]
    text = expect_error(write(tmp_path, data), "not_a_table", "evil.zip")
    assert "unsafe path" in text


def test_encrypted_zip_is_refused(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"data.csv": SIMPLE}))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        struct.pack_into("<H", data, data.index(signature) + flags_at, 0x1)  # "encrypted"
    text = expect_error(write(tmp_path, bytes(data)), "unreadable_file", "secret.zip")
    assert "password" in text


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "file_name"),
    [
        (zip_bytes({"inner.zip": zip_bytes({"data.csv": SIMPLE})}), "outer.zip"),
        (zip_bytes({"data.csv": gzip.compress(SIMPLE.encode())}), "outer.zip"),
        (gzip.compress(gzip.compress(SIMPLE.encode())), "data.csv.gz.gz"),
        (gzip.compress(zip_bytes({"data.csv": SIMPLE})), "data.zip.gz"),
        (tar_gz({"data.csv": SIMPLE.encode()}), "data.tar.gz"),
    ],
    ids=["zip-in-zip", "gzip-in-zip", "gzip-in-gzip", "zip-in-gzip", "tar-gz"],
)
def test_archive_inside_an_archive_is_refused(tmp_path: Path, data: bytes, file_name: str) -> None:
    text = expect_error(write(tmp_path, data), "not_a_table", file_name)
    assert "archive inside an archive" in text
    no_scratch_left(tmp_path, "dataset")


def test_office_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    data = zip_bytes({"word/document.xml": "<w/>", "[Content_Types].xml": "<t/>"})
    assert "Word document" in expect_error(write(tmp_path, data), "not_a_table", "notes.docx")


def test_a_file_of_one_endless_line_is_not_a_table_of_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "oneline.csv"
    path.write_bytes(b"label," + b"x" * (6 * 1024 * 1024))  # no line break past the sample
    text = expect_error(path, "not_a_table", "oneline.csv")
    assert "no line break" in text and "blank" not in text


def test_a_header_longer_than_the_sample_counts_columns_as_a_lower_bound(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    columns = 700_000  # a header of about 5.4 MB: it goes on past the sample
    path.write_text(",".join(f"c{i}" for i in range(columns)) + ",label\n" + "1," * columns + "0\n")
    text = expect_error(path, "too_many_columns", "wide.csv")
    assert "more than" in text
