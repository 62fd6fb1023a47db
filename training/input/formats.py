"""What kind of file this is, from its first bytes: Parquet, an Excel workbook, a gzip or zip
archive, a tar, a known non-table (an image, a PDF), or else text. The name only breaks ties."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from training.errors import InputError
from training.input.problems import FORMATS_HINT, nested_archive, not_a_table, unreadable

SNIFF_BYTES = 64 * 1024  # the first look: format, then encoding and delimiter for text
PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a file entry, or an empty archive
# A damaged or cut-off zip; NotImplementedError: a method Python cannot unpack (Deflate64).
ZIP_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError)
# Magic bytes of files people drop by mistake: (prefix, what it is, what to do instead).
_BINARY_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG", "a PNG image", "Share the data itself as CSV, Excel (.xlsx) or Parquet."),
    (b"\xff\xd8\xff", "a JPEG image", "Share the data itself as CSV, Excel (.xlsx) or Parquet."),
    (b"GIF8", "a GIF image", "Share the data itself as CSV, Excel (.xlsx) or Parquet."),
    (b"%PDF", "a PDF document", "Export the table to CSV or Excel (.xlsx) and share that."),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "Extract it and share the CSV inside."),
    (b"Rar!", "a RAR archive", "Extract it and share the CSV inside."),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", "Decompress it and share the CSV inside."),
    (
        b"\xd0\xcf\x11\xe0",
        "an old-style Excel .xls (or other Office 97) file",
        "Open it in Excel and save it as .xlsx or CSV, then share that.",
    ),
    (b"ARROW1", "an Arrow/Feather file", "Save it as Parquet or CSV instead."),
    (b"SQLite format 3\x00", "a SQLite database", "Export the table you need to CSV."),
    (b"{\\rtf", "a rich-text (RTF) document", "Save the table as CSV instead."),
    (b"\x7fELF", "a program", "Share the data as CSV, Excel (.xlsx) or Parquet."),
)
_BINARY_SUFFIXES = (".xlsx", ".xlsm", ".parquet", ".pq")


def read_head(path: Path, n_bytes: int, name: str) -> bytes:
    """The first `n_bytes` of the file (all of it when shorter)."""
    try:
        with path.open("rb") as handle:
            return handle.read(n_bytes)
    except OSError as exc:
        raise unreadable(name, "the file could not be opened") from exc


def is_tar(head: bytes) -> bool:
    # "ustar" at byte 257, after a file name padded with NULs (a .tar.gz unpacks to this).
    return head[257:262] == b"ustar" and b"\x00" in head[:257]


def refuse_known_binary(head: bytes, name: str) -> None:
    for magic, what, hint in _BINARY_MAGIC:
        if head.startswith(magic):
            raise not_a_table(name, f"it is {what}", hint)


def is_workbook(path: Path, name: str, *, nested: bool) -> bool:
    """True for an Excel workbook; refuses other Office files, and archives when `nested`."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:  # read its start only: any entry can be a bomb
                with archive.open("mimetype") as entry:
                    mimetype = entry.read(100)
    except (*ZIP_ERRORS, OSError, KeyError) as exc:
        raise unreadable(name, "it is a damaged zip or Excel file") from exc
    if "xl/workbook.xml" in names:
        return True
    document = _office_document(names, mimetype)
    if document is not None:
        raise not_a_table(
            name, f"it is {document}", "Save the table as Excel (.xlsx) or CSV and share that."
        )
    if nested:
        raise nested_archive(name)
    return False


def _office_document(names: set[str], mimetype: bytes) -> str | None:
    if "xl/workbook.bin" in names:
        return "a binary Excel workbook (.xlsb)"
    if b"opendocument.spreadsheet" in mimetype:
        return "an OpenDocument spreadsheet (.ods)"
    if "word/document.xml" in names:
        return "a Word document"
    if any(n.startswith("ppt/") for n in names):
        return "a PowerPoint presentation"
    return None


def format_name(name: str) -> str:
    """The name that hints at the format: `people.tsv.gz` is a TSV."""
    return name.lower().removesuffix(".gz")


def binary_file(name: str) -> InputError:
    """Binary bytes under an Excel or Parquet name are a damaged file, not a wrong choice."""
    if format_name(name).endswith(_BINARY_SUFFIXES):
        return unreadable(name, "its name says Excel or Parquet but the content is damaged")
    return not_a_table(name, "it is a binary file, not text", FORMATS_HINT)
