"""Read the file a person shared into a DataFrame, or explain in plain words why not.

`read_table` decides the format from the bytes first and the file name second: Parquet
(`PAR1`), Excel `.xlsx` (a zip holding `xl/workbook.xml`) or delimited text (CSV, TSV,
`;` or `|`). Text is sniffed on its first 64 KB for encoding, delimiter and quote character,
then read by pandas' C parser; Parquet by fastparquet, Excel by openpyxl. None needs pyarrow.

A gzip file (`.csv.gz`) or a zip holding one table is unpacked first, into a temporary file
beside the dataset, counting bytes as they come out: the size limit applies to what is
inside, and a small archive that would unpack to gigabytes stops at the limit. Archives
inside archives are refused.

Every reader's text columns go through one cleaning step (`_clean_column`): strip whitespace,
turn missing-value tokens into NaN, and make a column numeric when every remaining value is a
number. One step for every format means the NA handling cannot drift between them. Dates stay
as text here; a later stage turns date-like columns into parts.

Every problem raises `InputError` with one of these codes: `empty_file`, `file_too_large`,
`too_many_columns`, `not_a_table`, `unreadable_file`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
import statistics
import tempfile
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.errors import InputError

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

SNIFF_BYTES = 64 * 1024
# A header wider than the first sniff (thousands of columns) gets a longer look, up to this.
MAX_SNIFF_BYTES = 4 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
QUOTE_CHARS = ('"', "'")
BYTES_PER_MB = 1024 * 1024
UNPACK_CHUNK = 1024 * 1024  # bytes inflated at a time: memory stays flat, whatever the ratio

# A one-column "table" whose typical line is longer than this is prose, not data.
MAX_ONE_COLUMN_CELL = 50
# More control characters than this share of the sample means binary, not text.
MAX_CONTROL_SHARE = 0.01

_NA_VALUES = sorted(NA_TOKENS)  # a list: what pandas' na_values and isin take
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_LINE_NUMBER = re.compile(r"line (\d+)")
_SPACE = re.compile(r"\s")

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

_FORMATS_HINT = (
    "I can read CSV/TSV text, Excel (.xlsx) and Parquet files, also gzip-compressed or zipped."
)
_BINARY_SUFFIXES = (".xlsx", ".xlsm", ".parquet", ".pq")
_TAB_SUFFIXES = (".tsv", ".tab")

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a file entry, or an empty archive
_TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
_ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".zst")
# What zip tools add next to the files a person chose.
_ZIP_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_DRIVE = re.compile(r"^[A-Za-z]:")
# A damaged or cut-off zip; NotImplementedError: a method Python cannot unpack (Deflate64).
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError)


@dataclass(frozen=True)
class _Dialect:
    delimiter: str
    quotechar: str


@dataclass(frozen=True)
class _TextPlan:
    """What sniffing learned about a text file: how to read all of it."""

    encodings: tuple[tuple[str, str], ...]  # (codec, errors) to try in order
    dialect: _Dialect


# ---- the entry point ---------------------------------------------------------------------


def read_table(
    path: Path,
    file_name: str | None = None,
    *,
    max_file_mb: float = 500,
    max_columns: int = 2000,
) -> pd.DataFrame:
    """Read a CSV/TSV, Excel (.xlsx) or Parquet file into a clean DataFrame; also such a file
    gzip-compressed, or zipped on its own.

    `file_name` is the name the person gave the file; it is used in messages and as a hint
    for the format when the bytes do not settle it. Raises `InputError` for every problem.
    """
    path = Path(path)
    name = file_name or path.name
    size = _file_size(path, name)
    check_size(size, name, max_file_mb)
    head = _read_head(path, SNIFF_BYTES, name)

    if head.startswith(_GZIP_MAGIC):
        with _unpacked_gzip(path, name, max_file_mb) as inner:
            return _read_unpacked(inner, name, max_columns)
    if head.startswith(_ZIP_MAGIC) and not _is_workbook(path, name, nested=False):
        with _unpacked_zip(path, name, max_file_mb) as (inner, inner_name):
            return _read_unpacked(inner, inner_name, max_columns)
    return _read_file(path, name, head, size, max_columns)


def _read_unpacked(path: Path, name: str, max_columns: int) -> pd.DataFrame:
    """Read what came out of an archive: a table, never another archive."""
    size = _file_size(path, name)
    if size == 0:
        raise _empty(name, "the file inside the archive is 0 bytes")
    head = _read_head(path, SNIFF_BYTES, name)
    if head.startswith(_GZIP_MAGIC) or _is_tar(head):
        raise _nested_archive(name)
    if head.startswith(_ZIP_MAGIC):
        _is_workbook(path, name, nested=True)
    return _read_file(path, name, head, size, max_columns)


def _is_tar(head: bytes) -> bool:
    # "ustar" at byte 257, after a file name padded with NULs (a .tar.gz unpacks to this).
    return head[257:262] == b"ustar" and b"\x00" in head[:257]


def _read_file(path: Path, name: str, head: bytes, size: int, max_columns: int) -> pd.DataFrame:
    """Read a file that is not an archive (an Excel workbook is a zip, but not an archive)."""
    if head.startswith(b"PAR1"):
        header, table = _read_parquet(path, name, max_columns)
        decimal_comma = False
    elif head.startswith(_ZIP_MAGIC):  # a workbook, checked by the caller; "PK,name" is a CSV
        header, table = _read_xlsx(path, name, max_columns)
        decimal_comma = False
    else:
        _refuse_known_binary(head, name)
        plan = _sniff_text(path, head, size, name, max_columns)
        header, table = _read_delimited(path, plan, name)
        decimal_comma = plan.dialect.delimiter != ","
    return _finish(header, table, name, decimal_comma=decimal_comma, max_columns=max_columns)


# ---- size and first bytes ----------------------------------------------------------------


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


def check_size(size: int, name: str, max_file_mb: float) -> None:
    """Refuses an empty or too large file; also used before downloading one from S3."""
    if size == 0:
        raise _empty(name, "it is 0 bytes")
    if size > max_file_mb * BYTES_PER_MB:
        raise InputError(
            "file_too_large",
            f"`{name}` is {size / BYTES_PER_MB:,.0f} MB; the limit is {max_file_mb:g} MB.",
            "Share a smaller file: drop columns you don't need, take a sample of the rows, "
            "or save it as Parquet, which is usually much smaller than CSV.",
        )


def _read_head(path: Path, n_bytes: int, name: str) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(n_bytes)
    except OSError as exc:
        raise _unreadable(name, "the file could not be opened") from exc


def _refuse_known_binary(head: bytes, name: str) -> None:
    for magic, what, hint in _BINARY_MAGIC:
        if head.startswith(magic):
            raise _not_a_table(name, f"it is {what}", hint)


# ---- gzip and zip --------------------------------------------------------------------------


@contextmanager
def _unpacked_gzip(path: Path, name: str, max_file_mb: float) -> Iterator[Path]:
    with _scratch_file_beside(path) as scratch:
        try:
            with gzip.open(path, "rb") as packed, scratch.open("wb") as out:
                _copy_within_limit(packed, out, name, max_file_mb)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise _unreadable(name, "it is a damaged or cut-off gzip file") from exc
        yield scratch


@contextmanager
def _unpacked_zip(path: Path, name: str, max_file_mb: float) -> Iterator[tuple[Path, str]]:
    """The one table in a zip, unpacked; its name for messages is `archive.zip/table.csv`."""
    with _scratch_file_beside(path) as scratch:
        try:
            with zipfile.ZipFile(path) as archive:
                entry = _the_table_in(archive, name, max_file_mb)
                with archive.open(entry) as packed, scratch.open("wb") as out:
                    _copy_within_limit(packed, out, name, max_file_mb)
        except _ZIP_ERRORS as exc:
            raise _unreadable(name, "it is a damaged zip archive") from exc
        yield scratch, f"{name}/{entry.filename}"


@contextmanager
def _scratch_file_beside(path: Path) -> Iterator[Path]:
    """An empty temporary file beside the dataset (the job's own disk), removed afterwards."""
    try:
        handle, scratch = tempfile.mkstemp(prefix=".unpacked-", dir=path.parent)
    except OSError:  # a read-only folder: the system's temporary folder will do
        handle, scratch = tempfile.mkstemp(prefix=".unpacked-")
    os.close(handle)
    try:
        yield Path(scratch)
    finally:
        Path(scratch).unlink(missing_ok=True)


def _copy_within_limit(source: Any, out: Any, name: str, max_file_mb: float) -> None:
    """Copy chunk by chunk and stop as soon as more than the limit came out.

    Counting what comes out is the only size an archive cannot lie about.
    """
    limit = max_file_mb * BYTES_PER_MB
    total = 0
    while chunk := source.read(UNPACK_CHUNK):
        total += len(chunk)
        if total > limit:
            raise _too_large_unpacked(name, max_file_mb)
        out.write(chunk)


def _is_workbook(path: Path, name: str, *, nested: bool) -> bool:
    """True for an Excel workbook; refuses other Office files, and archives when `nested`."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:  # read its start only: any entry can be a bomb
                with archive.open("mimetype") as entry:
                    mimetype = entry.read(100)
    except (*_ZIP_ERRORS, OSError, KeyError) as exc:
        raise _unreadable(name, "it is a damaged zip or Excel file") from exc
    if "xl/workbook.xml" in names:
        return True
    document = _office_document(names, mimetype)
    if document is not None:
        raise _not_a_table(
            name, f"it is {document}", "Save the table as Excel (.xlsx) or CSV and share that."
        )
    if nested:
        raise _nested_archive(name)
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


def _the_table_in(archive: zipfile.ZipFile, name: str, max_file_mb: float) -> zipfile.ZipInfo:
    """The zip's one table, once its path, password and declared size are checked."""
    entries = [e for e in archive.infolist() if not e.is_dir() and not _is_zip_junk(e.filename)]
    unsafe = [e.filename for e in entries if _is_unsafe_path(e.filename)]
    if unsafe:  # no tool a person uses writes these; a crafted archive does
        raise _not_a_table(
            name,
            f"it holds a file with an unsafe path (`{unsafe[0]}`)",
            "Zip the data file on its own and share that.",
        )
    entry = _only_table(entries, name)
    if entry.flag_bits & 0x1:
        raise InputError(
            "unreadable_file",
            f"I couldn't read `{name}`: `{entry.filename}` in it is password-protected.",
            "Zip the file again without a password and share that.",
        )
    # The directory's sizes are cheap to check but can lie: the copy counts again.
    if entry.file_size > max_file_mb * BYTES_PER_MB:
        raise _too_large_unpacked(name, max_file_mb, entry.file_size)
    return entry


def _only_table(entries: list[zipfile.ZipInfo], name: str) -> zipfile.ZipInfo:
    candidates = [e for e in entries if e.filename.lower().endswith(_TABLE_SUFFIXES)]
    archives = [e for e in entries if e.filename.lower().endswith(_ARCHIVE_SUFFIXES)]
    if not candidates and not archives and len(entries) == 1:
        return entries[0]  # one file without a telling name: its bytes will tell
    if len(candidates) == 1 and not archives:
        return candidates[0]
    if not candidates and len(archives) == 1:
        raise _nested_archive(f"{name}/{archives[0].filename}")
    if not candidates and not archives:
        found = f" (it holds {_listed(entries)})" if entries else " (it is empty)"
        raise _not_a_table(
            name,
            f"I found no CSV, TSV, Excel or Parquet file in the zip{found}",
            f"{_FORMATS_HINT} Zip the table you want to train on and share that.",
        )
    several = [*candidates, *archives]
    raise _not_a_table(
        name,
        f"it holds {len(several)} files that could be tables ({_listed(several)}) and I read "
        "one table per job",
        "Share the one table to train on, on its own or in a zip of its own.",
    )


def _listed(entries: list[zipfile.ZipInfo], most: int = 5) -> str:
    shown = ", ".join(f"`{e.filename}`" for e in entries[:most])
    return shown + (f" and {len(entries) - most} more" if len(entries) > most else "")


def _is_zip_junk(filename: str) -> bool:
    base = filename.rsplit("/", 1)[-1]
    return filename.startswith("__MACOSX/") or base.startswith("._") or base in _ZIP_JUNK_NAMES


def _is_unsafe_path(filename: str) -> bool:
    parts = filename.replace("\\", "/").split("/")
    return filename.startswith(("/", "\\")) or ".." in parts or bool(_DRIVE.match(filename))


def _format_name(name: str) -> str:
    """The name that hints at the format: `people.tsv.gz` is a TSV."""
    return name.lower().removesuffix(".gz")


# ---- delimited text: sniffing ------------------------------------------------------------


def _sniff_text(path: Path, head: bytes, size: int, name: str, max_columns: int) -> _TextPlan:
    """Decide encoding, delimiter and quote character from the first bytes of the file."""
    codec = _sniff_codec(head, name)
    head, whole = _widen_head(path, head, size, name)
    try:
        sample, encodings = _decode_sample(head, codec, whole=whole)
    except UnicodeDecodeError as exc:  # only a codec proven by a BOM can fail here
        raise _bad_encoding(name) from exc
    _refuse_non_tables(sample, name)
    dialect, rows = _sniff_dialect(sample, _delimiters_for(name), whole=whole)
    if not rows:
        raise _empty(name, "it holds only blank lines")
    # No separator splits any row: fine for a list of ids or labels, not for prose.
    if max(len(row) for row in rows) == 1 and not _looks_like_one_column(rows):
        raise _not_a_table(
            name,
            "I found no columns in it (no commas, semicolons, tabs or pipes between values)",
            "Share the data as CSV with a header row, Excel (.xlsx) or Parquet.",
        )
    _check_columns(len(rows[0]), name, max_columns)
    return _TextPlan(encodings=encodings, dialect=dialect)


def _sniff_codec(head: bytes, name: str) -> str | None:
    """The codec a byte-order mark or NUL pattern proves, or None to guess from the bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" not in head:
        return None
    # UTF-16 without a BOM: ASCII text leaves a NUL in every other byte.
    pairs = len(head) // 2
    nul_odd = head[1::2].count(0) / max(pairs, 1)
    nul_even = head[0::2].count(0) / max(pairs, 1)
    if nul_odd > 0.4 and nul_even < 0.05:
        return "utf-16-le"
    if nul_even > 0.4 and nul_odd < 0.05:
        return "utf-16-be"
    raise _binary_file(name)


def _widen_head(path: Path, head: bytes, size: int, name: str) -> tuple[bytes, bool]:
    """Make sure the sample holds the header and a few rows, even for very wide files."""
    n_bytes = len(head)
    # Byte 0x0A is a newline in every codec sniffed here (UTF-16 pads it with a NUL).
    while head.count(b"\n") < 3 and n_bytes < min(size, MAX_SNIFF_BYTES):
        n_bytes *= 4
        head = _read_head(path, n_bytes, name)
    return head, len(head) >= size


def _decode_sample(
    head: bytes, codec: str | None, *, whole: bool
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Decode the sample; return it with the encodings to try on the whole file, in order."""
    if codec is not None:
        return _decode(head, codec, whole=whole), ((codec, "strict"),)
    try:
        sample = _decode(head, "utf-8", whole=whole)
    except UnicodeDecodeError:
        pass
    else:
        # Real UTF-8 text with one bad byte further down reads best as UTF-8 with a
        # replacement character; plain ASCII so far may be a cp1252 export.
        later = (("utf-8", "replace"),) if not sample.isascii() else (("cp1252", "strict"),)
        return sample, (("utf-8", "strict"), *later, ("latin-1", "strict"))
    try:
        return _decode(head, "cp1252", whole=whole), (("cp1252", "strict"), ("latin-1", "strict"))
    except UnicodeDecodeError:
        return _decode(head, "latin-1", whole=whole), (("latin-1", "strict"),)


def _decode(data: bytes, codec: str, *, whole: bool) -> str:
    # An incremental decoder leaves a multi-byte character cut at the sample's end alone.
    text = codecs.getincrementaldecoder(codec)("strict").decode(data, final=whole)
    return text.removeprefix("\ufeff")


def _refuse_non_tables(sample: str, name: str) -> None:
    """Refuse HTML, XML, JSON, blank and binary files before looking for columns."""
    text = sample.lstrip()
    if not text:
        raise _empty(name, "it holds only whitespace")
    start = text[:4096].lower()
    if start.startswith("<") and any(
        tag in start for tag in ("<html", "<!doctype html", "<head", "<body", "<script")
    ):
        raise _not_a_table(
            name,
            "it is a web page (HTML), not a data file",
            "If you shared a CSV and still see this, Slack sent me its login page instead of "
            "the file: the bot is missing the `files:read` permission. Ask whoever runs the bot "
            "to add the `files:read` scope to the Slack app and reinstall it.",
        )
    if start.startswith("<"):
        raise _not_a_table(name, "it is an XML/markup document", _formats_hint_export())
    if _looks_like_json(text):
        raise _not_a_table(
            name,
            "it is JSON, not a table",
            "Convert it to CSV (one row per record, one column per field) and share that.",
        )
    if len(_CONTROL_CHARS.findall(sample)) > MAX_CONTROL_SHARE * len(sample):
        raise _binary_file(name)


def _binary_file(name: str) -> InputError:
    """Binary bytes under an Excel or Parquet name are a damaged file, not a wrong choice."""
    if _format_name(name).endswith(_BINARY_SUFFIXES):
        return _unreadable(name, "its name says Excel or Parquet but the content is damaged")
    return _not_a_table(name, "it is a binary file, not text", _FORMATS_HINT)


def _looks_like_json(text: str) -> bool:
    if text.startswith("{"):
        return True
    # "[id],[name]" is a CSV header some databases write; "[{", "[1," or "[]" is JSON.
    after = text[1:].lstrip()[:1]
    return text.startswith("[") and (after in ("{", "[", '"', "]", "-", "") or after.isdigit())


def _delimiters_for(name: str) -> tuple[str, ...]:
    """The candidates in order of preference; the name only breaks ties."""
    if _format_name(name).endswith(_TAB_SUFFIXES):
        return ("\t", *(d for d in DELIMITERS if d != "\t"))
    return DELIMITERS


def _sniff_dialect(
    sample: str, delimiters: tuple[str, ...], *, whole: bool
) -> tuple[_Dialect, list[list[str]]]:
    """Pick the delimiter and quote that split the sample into the most regular rows."""
    best: tuple[tuple[int, float, int, int], _Dialect, list[list[str]]] | None = None
    for quote_rank, quotechar in enumerate(QUOTE_CHARS):
        for delim_rank, delimiter in enumerate(delimiters):
            dialect = _Dialect(delimiter, quotechar)
            rows = _split_rows(sample, dialect, whole=whole)
            score = (*_regularity(rows), -(quote_rank * len(DELIMITERS) + delim_rank))
            if best is None or score > best[0]:
                best = (score, dialect, rows)
    assert best is not None
    return best[1], best[2]


def _split_rows(sample: str, dialect: _Dialect, *, whole: bool) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(sample, newline=""),
        delimiter=dialect.delimiter,
        quotechar=dialect.quotechar,
        doublequote=True,
        strict=False,
    )
    try:
        rows = [row for row in reader if row]
    except csv.Error:
        return []
    # The sample usually ends inside a row: that row's field count says nothing.
    return rows if whole or len(rows) < 2 else rows[:-1]


def _regularity(rows: list[list[str]]) -> tuple[int, float, int]:
    """(header has the usual width, share of rows with that width, the width)."""
    if not rows:
        return (0, 0.0, 0)
    widths = Counter(len(row) for row in rows)
    width, count = widths.most_common(1)[0]
    if width < 2:
        return (0, 0.0, 1)
    return (int(len(rows[0]) == width), count / len(rows), width)


def _looks_like_one_column(rows: list[list[str]]) -> bool:
    """A column of short values (ids, labels) is a table; lines of prose are not."""
    cells = [row[0] for row in rows]
    return (
        statistics.median(len(cell) for cell in cells) <= MAX_ONE_COLUMN_CELL
        and max(len(cell) for cell in cells) <= MAX_ONE_COLUMN_CELL * 20
    )


# ---- delimited text: reading -------------------------------------------------------------


def _read_delimited(path: Path, plan: _TextPlan, name: str) -> tuple[list[Any], pd.DataFrame]:
    """Read the header row as text and the rows below it with pandas' C parser."""
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
            body = {**options, "header": 0, "names": list(range(len(header))), "index_col": False}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # handled just below
                # pandas' way of saying the first row of data is wider than the header.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                # The parser turns NA tokens into missing values and number columns into
                # numbers in C, far faster than cleaning them as text. Nullable types keep
                # whole numbers whole until empty rows are gone (see `_finish`).
                frame = pd.read_csv(
                    path, na_values=_NA_VALUES, dtype_backend="numpy_nullable", **body
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
            raise _empty(name, "it has no rows") from exc
        return header, frame
    raise _bad_encoding(name)


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


# ---- Parquet and Excel -------------------------------------------------------------------


def _read_parquet(path: Path, name: str, max_columns: int) -> tuple[list[Any], pd.DataFrame]:
    # fastparquet itself, not pd.read_parquet(engine="fastparquet"): pandas 3.1 deprecates that.
    import fastparquet  # only Parquet files pay for importing it

    try:
        parquet = fastparquet.ParquetFile(str(path))
        _check_columns(len(parquet.columns), name, max_columns)
        frame = parquet.to_pandas()
    except InputError:
        raise
    except Exception as exc:  # fastparquet raises many kinds of errors on broken files
        raise _unreadable(name, "it looks like a Parquet file but is damaged") from exc
    # pandas stores its index in the file: a named one is data, row numbers are not.
    frame = frame.reset_index(drop=all(level is None for level in frame.index.names))
    return list(frame.columns), frame


def _read_xlsx(path: Path, name: str, max_columns: int) -> tuple[list[Any], pd.DataFrame]:
    import openpyxl  # only Excel files pay for importing it

    try:
        with path.open("rb") as handle, warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; the data is fine.
            warnings.simplefilter("ignore")
            # A file object, not a path: openpyxl refuses paths without an .xlsx suffix.
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            try:
                rows = _sheet_rows(book.worksheets[0], name, max_columns) if book.worksheets else []
            finally:
                book.close()
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many kinds of errors on broken files
        raise _unreadable(name, "it looks like an Excel file but is damaged") from exc
    if not rows:
        raise _empty(name, "its first sheet is empty")
    # Formatting alone can stretch a sheet to thousands of empty columns: cut them off.
    width = max(_width(row) for row in rows)
    _check_columns(width, name, max_columns)
    header = [*rows[0][:width], *[None] * (width - len(rows[0]))]
    body = rows[1:]
    columns = [
        _excel_column([row[i] if i < len(row) else None for row in body]) for i in range(width)
    ]
    return header, pd.DataFrame(dict(enumerate(columns)))


def _sheet_rows(sheet: Any, name: str, max_columns: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for values in sheet.iter_rows(values_only=True):
        if not rows and all(_blank(v) for v in values):
            continue  # blank rows above the header
        if not rows:
            _check_columns(_width(values), name, max_columns)  # before reading every row
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
    return pd.Series(pd.array(values))  # nullable, like CSV columns (see `_finish`)


# ---- cleaning shared by every format -----------------------------------------------------


def _finish(
    header: list[Any], frame: pd.DataFrame, name: str, *, decimal_comma: bool, max_columns: int
) -> pd.DataFrame:
    """Name the columns, clean every one and drop empty rows."""
    if not header:
        raise _empty(name, "it has no rows")
    _check_columns(len(header), name, max_columns)
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
        raise _empty(name, "it has column names but no rows of data")
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
        text = text.mask(text.isin(_NA_VALUES))
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


# ---- limits and messages -----------------------------------------------------------------


def _check_columns(n_columns: int, name: str, max_columns: int) -> None:
    if n_columns > max_columns:
        raise InputError(
            "too_many_columns",
            f"`{name}` has {n_columns:,} columns; the limit is {max_columns:,}.",
            "Remove the columns you don't need for this model and share the file again.",
        )


def _empty(name: str, why: str) -> InputError:
    return InputError(
        "empty_file",
        f"`{name}` has no data: {why}.",
        "Share a file with a header row and at least one row of data below it.",
    )


def _not_a_table(name: str, why: str, hint: str) -> InputError:
    return InputError("not_a_table", f"`{name}` is not a table I can read: {why}.", hint)


def _unreadable(name: str, why: str) -> InputError:
    return InputError(
        "unreadable_file",
        f"I couldn't read `{name}`: {why}.",
        "Open it on your computer to check it, save it again (CSV, Excel .xlsx or Parquet) "
        "and share the new copy.",
    )


def _too_large_unpacked(name: str, max_file_mb: float, size: int | None = None) -> InputError:
    amount = f"{size / BYTES_PER_MB:,.0f} MB" if size else f"more than {max_file_mb:g} MB"
    return InputError(
        "file_too_large",
        f"`{name}` holds {amount} once uncompressed; the limit is {max_file_mb:g} MB "
        "of uncompressed data.",
        "Share a smaller table: drop columns you don't need or take a sample of the rows. "
        "Parquet stays small without compressing it.",
    )


def _nested_archive(name: str) -> InputError:
    return _not_a_table(
        name,
        "it is an archive inside an archive, and I unpack only one level",
        "Unpack it until you reach the CSV, Excel or Parquet file, and share that file "
        "(zipped or gzipped once, if you like).",
    )


def _bad_encoding(name: str) -> InputError:
    return InputError(
        "unreadable_file",
        f"I couldn't read `{name}`: its text is damaged (bytes that are not valid characters).",
        "Open it in a spreadsheet app, save it again as CSV (UTF-8) and share the new copy.",
    )


def _formats_hint_export() -> str:
    return f"{_FORMATS_HINT} Export your data to one of those and share it."
