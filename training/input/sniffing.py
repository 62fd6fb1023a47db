"""How a delimited text file is laid out, decided on its first bytes: the encoding, the
delimiter and quote character that split it into the most regular rows, and whether it is a
table at all (not HTML, JSON, prose or binary)."""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from training.input.formats import binary_file, format_name, read_head
from training.input.limits import check_columns
from training.input.problems import bad_encoding, empty_file, formats_hint_export, not_a_table
from training.input.text_encoding import decode_sample, sniff_codec

# A header wider than the first sniff (thousands of columns) gets a longer look, up to this.
MAX_SNIFF_BYTES = 4 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
QUOTE_CHARS = ('"', "'")
# A one-column "table" whose typical line is longer than this is prose, not data.
MAX_ONE_COLUMN_CELL = 50
# More control characters than this share of the sample means binary, not text.
MAX_CONTROL_SHARE = 0.01
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_TAB_SUFFIXES = (".tsv", ".tab")


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    quotechar: str


@dataclass(frozen=True)
class TextPlan:
    """What sniffing learned about a text file: how to read all of it."""

    encodings: tuple[tuple[str, str], ...]  # (codec, errors) to try in order
    dialect: Dialect


def sniff_text(path: Path, head: bytes, size: int, name: str, max_columns: int) -> TextPlan:
    """Decide encoding, delimiter and quote character from the first bytes of the file."""
    codec = sniff_codec(head, name)
    head, whole = _widen_head(path, head, size, name)
    try:
        sample, encodings = decode_sample(head, codec, whole=whole)
    except UnicodeDecodeError as exc:  # only a codec proven by a BOM can fail here
        raise bad_encoding(name) from exc
    _refuse_non_tables(sample, name)
    if not whole and "\n" not in sample and "\r" not in sample:
        _refuse_endless_first_line(sample, name, max_columns)
    dialect, rows = _sniff_dialect(sample, _delimiters_for(name), whole=whole)
    if not rows:
        raise empty_file(name, "it holds only blank lines")
    # No separator splits any row: fine for a list of ids or labels, not for prose.
    if max(len(row) for row in rows) == 1 and not _looks_like_one_column(rows):
        raise not_a_table(
            name,
            "I found no columns in it (no commas, semicolons, tabs or pipes between values)",
            "Share the data as CSV with a header row, Excel (.xlsx) or Parquet.",
        )
    check_columns(len(rows[0]), name, max_columns)
    return TextPlan(encodings=encodings, dialect=dialect)


def _refuse_endless_first_line(sample: str, name: str, max_columns: int) -> None:
    """Not even the header ends within the sample: too many columns, or no rows at all."""
    separators = max(sample.count(d) for d in _delimiters_for(name))
    check_columns(separators + 1, name, max_columns, at_least=True)
    raise not_a_table(
        name,
        f"its first {len(sample):,} characters hold no line break, so it has no rows",
        "Share the data as CSV with a header row and one row per line, Excel (.xlsx) or Parquet.",
    )


def _widen_head(path: Path, head: bytes, size: int, name: str) -> tuple[bytes, bool]:
    """Make sure the sample holds the header and a few rows, even for very wide files."""
    n_bytes = len(head)
    # Byte 0x0A is a newline in every codec sniffed here (UTF-16 pads it with a NUL).
    while head.count(b"\n") < 3 and n_bytes < min(size, MAX_SNIFF_BYTES):
        n_bytes *= 4
        head = read_head(path, n_bytes, name)
    return head, len(head) >= size


def _refuse_non_tables(sample: str, name: str) -> None:
    """Refuse HTML, XML, JSON, blank and binary files before looking for columns."""
    text = sample.lstrip()
    if not text:
        raise empty_file(name, "it holds only whitespace")
    start = text[:4096].lower()
    if start.startswith("<") and any(
        tag in start for tag in ("<html", "<!doctype html", "<head", "<body", "<script")
    ):
        raise not_a_table(
            name,
            "it is a web page (HTML), not a data file",
            "If you shared a CSV and still see this, Slack sent me its login page instead of "
            "the file: the bot is missing the `files:read` permission. Ask whoever runs the bot "
            "to add the `files:read` scope to the Slack app and reinstall it.",
        )
    if start.startswith("<"):
        raise not_a_table(name, "it is an XML/markup document", formats_hint_export())
    if _looks_like_json(text):
        raise not_a_table(
            name,
            "it is JSON, not a table",
            "Convert it to CSV (one row per record, one column per field) and share that.",
        )
    if len(_CONTROL_CHARS.findall(sample)) > MAX_CONTROL_SHARE * len(sample):
        raise binary_file(name)


def _looks_like_json(text: str) -> bool:
    if text.startswith("{"):
        return True
    # "[id],[name]" is a CSV header some databases write; "[{", "[1," or "[]" is JSON.
    after = text[1:].lstrip()[:1]
    return text.startswith("[") and (after in ("{", "[", '"', "]", "-", "") or after.isdigit())


def _delimiters_for(name: str) -> tuple[str, ...]:
    """The candidates in order of preference; the name only breaks ties."""
    if format_name(name).endswith(_TAB_SUFFIXES):
        return ("\t", *(d for d in DELIMITERS if d != "\t"))
    return DELIMITERS


def _sniff_dialect(
    sample: str, delimiters: tuple[str, ...], *, whole: bool
) -> tuple[Dialect, list[list[str]]]:
    """Pick the delimiter and quote that split the sample into the most regular rows."""
    best: tuple[tuple[int, float, int, int], Dialect, list[list[str]]] | None = None
    for quote_rank, quotechar in enumerate(QUOTE_CHARS):
        for delim_rank, delimiter in enumerate(delimiters):
            dialect = Dialect(delimiter, quotechar)
            rows = _split_rows(sample, dialect, whole=whole)
            score = (*_regularity(rows), -(quote_rank * len(DELIMITERS) + delim_rank))
            if best is None or score > best[0]:
                best = (score, dialect, rows)
    assert best is not None
    return best[1], best[2]


def _split_rows(sample: str, dialect: Dialect, *, whole: bool) -> list[list[str]]:
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
