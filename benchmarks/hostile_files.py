"""Hostile files for the abuse benchmark, made at run time in a temporary folder (no blobs in git).

Each maker writes one file into `folder` and returns its path; the name it is shared under is
the file's name. Every table has a `label` column, so `/automl train target=label` gets past
the command and reaches the file's reading. Sizes are the point: each file is small on disk and
huge, wide or unreadable once opened.

    xlsx_bomb          an .xlsx whose sheet inflates to 1 GiB of rows
    parquet_rows       a Parquet file of 30 million rows (small: RLE-encoded constants)
    gzip_bomb          a .csv.gz inflating to 1 GiB
    zip_many           a .zip holding 100,000 entries
    zip_nested         a .zip holding a zip in a zip ... five deep, a gzip bomb at the bottom
    one_huge_line      a 90 MB CSV that is a single line
    million_columns    a CSV with 1,000,000 columns
    random_bytes       1 MB of random bytes named .csv
    utf16_no_bom       a CSV in UTF-16 without its byte-order mark
    mixed_encodings    UTF-8, Latin-1 and NUL bytes in one CSV
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

MB = 1024 * 1024
GIB = 1024 * MB
CHUNK = 4 * MB


def _repeat(unit: bytes, total: int) -> Iterator[bytes]:
    """`unit` repeated up to `total` bytes, in chunks of about CHUNK."""
    block = unit * max(1, CHUNK // len(unit))
    sent = 0
    while sent < total:
        piece = block[: total - sent]
        sent += len(piece)
        yield piece


def _small_xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["x", "label"])
    sheet.append([1, 0])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_bomb(folder: Path) -> Path:
    """A real workbook whose first sheet's XML is 1 GiB of identical rows (about 1 MB zipped)."""
    path = folder / "bomb.xlsx"
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row><c t="inlineStr"><is><t>x</t></is></c>'
        b'<c t="inlineStr"><is><t>label</t></is></c></row>'
    )
    row = b"<row><c><v>1</v></c><c><v>0</v></c></row>"
    tail = b"</sheetData></worksheet>"
    with (
        zipfile.ZipFile(io.BytesIO(_small_xlsx())) as source,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book,
    ):
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                book.writestr(info, source.read(info))
                continue
            with book.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head)
                for piece in _repeat(row, GIB):
                    sheet.write(piece)
                sheet.write(tail)
    return path


def parquet_rows(folder: Path) -> Path:
    """30 million rows of two constant columns: 60 million values, a few hundred KB."""
    import fastparquet
    import numpy as np
    import pandas as pd

    path = folder / "tall.parquet"
    rows = 30_000_000
    frame = pd.DataFrame({"x": np.ones(rows, dtype=np.int8), "label": np.zeros(rows, np.int8)})
    fastparquet.write(str(path), frame, compression="GZIP", row_group_offsets=5_000_000)
    return path


def _gzip(chunks: Iterator[bytes], head: bytes = b"") -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    out = [packer.compress(head)]
    out.extend(packer.compress(chunk) for chunk in chunks)
    out.append(packer.flush())
    return b"".join(out)


def _csv_bomb() -> bytes:
    return _gzip(_repeat(b"1,0\n", GIB), head=b"x,label\n")


def gzip_bomb(folder: Path) -> Path:
    path = folder / "bomb.csv.gz"
    path.write_bytes(_csv_bomb())
    return path


def zip_many(folder: Path) -> Path:
    path = folder / "many.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index in range(100_000):
            archive.writestr(f"part_{index:06d}.csv", "x,label\n1,0\n")
    return path


def zip_nested(folder: Path) -> Path:
    inner = _csv_bomb()
    name = "bomb.csv.gz"
    for depth in range(5):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, inner)
        inner, name = buffer.getvalue(), f"level{depth}.zip"
    path = folder / "nested.zip"
    path.write_bytes(inner)
    return path


def one_huge_line(folder: Path) -> Path:
    """90 MB without a line break: under the 100 MB file limit, one line all the same."""
    path = folder / "oneline.csv"
    with path.open("wb") as file:
        file.write(b"label,")
        for piece in _repeat(b"x", 90 * MB):
            file.write(piece)
    return path


def million_columns(folder: Path) -> Path:
    path = folder / "wide.csv"
    columns = 1_000_000
    header = ",".join(f"c{i}" for i in range(columns)) + ",label\n"
    row = "1," * columns + "0\n"
    path.write_text(header + row * 3)
    return path


def random_bytes(folder: Path) -> Path:
    path = folder / "noise.csv"
    path.write_bytes(os.urandom(MB))
    return path


def utf16_no_bom(folder: Path) -> Path:
    path = folder / "utf16.csv"
    text = "x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(2000))
    path.write_bytes(text.encode("utf-16-le"))
    return path


def mixed_encodings(folder: Path) -> Path:
    path = folder / "mixed.csv"
    rows = [b"name,x,label\n"]
    for i in range(3000):
        name = ("café".encode() if i % 3 == 0 else "café".encode("latin-1")) + b"\x00" * (i % 2)
        rows.append(name + f",{i},{i % 2}\n".encode())
    path.write_bytes(b"".join(rows))
    return path


MAKERS: list[Callable[[Path], Path]] = [
    xlsx_bomb,
    parquet_rows,
    gzip_bomb,
    zip_many,
    zip_nested,
    one_huge_line,
    million_columns,
    random_bytes,
    utf16_no_bom,
    mixed_encodings,
]
