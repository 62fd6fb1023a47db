"""Unpacking a gzip file or a zip holding one table, into a temporary file beside the dataset.

Bytes are counted as they come out: the size limit applies to what is inside, and a small
archive that would unpack to gigabytes stops at the limit. Archives inside archives are refused.
"""

from __future__ import annotations

import gzip
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from training.errors import InputError
from training.input.formats import ZIP_ERRORS
from training.input.limits import BYTES_PER_MB, check_unpacked, too_large_unpacked
from training.input.problems import FORMATS_HINT, nested_archive, not_a_table, unreadable

UNPACK_CHUNK = 1024 * 1024  # bytes inflated at a time: memory stays flat, whatever the ratio
# Spreadsheet XML packs 5-20 to 1; a large entry packed past this is a zip bomb.
BOMB_RATIO = 200
BOMB_MIN_BYTES = 10 * 1024 * 1024
_TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
_ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".zst")
# What zip tools add next to the files a person chose.
_ZIP_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_DRIVE = re.compile(r"^[A-Za-z]:")


@contextmanager
def unpacked_gzip(path: Path, name: str, max_file_mb: float) -> Iterator[Path]:
    with _scratch_file_beside(path) as scratch:
        try:
            with gzip.open(path, "rb") as packed, scratch.open("wb") as out:
                _copy_within_limit(packed, out, name, max_file_mb)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise unreadable(name, "it is a damaged or cut-off gzip file") from exc
        yield scratch


@contextmanager
def unpacked_zip(path: Path, name: str, max_file_mb: float) -> Iterator[tuple[Path, str]]:
    """The one table in a zip, unpacked; its name for messages is `archive.zip/table.csv`."""
    with _scratch_file_beside(path) as scratch:
        try:
            with zipfile.ZipFile(path) as archive:
                entry = _the_table_in(archive, name, max_file_mb)
                with archive.open(entry) as packed, scratch.open("wb") as out:
                    _copy_within_limit(packed, out, name, max_file_mb)
        except ZIP_ERRORS as exc:
            raise unreadable(name, "it is a damaged zip archive") from exc
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


def check_zip_directory(path: Path, name: str, max_unpacked_mb: float) -> None:
    """Refuse a zip (an Excel workbook) whose directory says it inflates past the limit, or
    whose entries are packed like a bomb, before a byte is inflated. Python's zipfile never
    yields more than an entry's declared size, so the directory bounds what a reader gets."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except ZIP_ERRORS as exc:
        raise unreadable(name, "it is a damaged zip or Excel file") from exc
    check_unpacked(sum(e.file_size for e in entries), name, max_unpacked_mb)
    for entry in entries:
        if entry.file_size > BOMB_MIN_BYTES and entry.file_size > BOMB_RATIO * entry.compress_size:
            ratio = entry.file_size // max(entry.compress_size, 1)
            raise unreadable(
                name,
                f"`{entry.filename}` in it is packed {ratio:,} to 1, as only a crafted file is",
            )


def _copy_within_limit(source: Any, out: Any, name: str, max_file_mb: float) -> None:
    """Copy chunk by chunk and stop as soon as more than the limit came out.

    Counting what comes out is the only size an archive cannot lie about.
    """
    limit = max_file_mb * BYTES_PER_MB
    total = 0
    while chunk := source.read(UNPACK_CHUNK):
        total += len(chunk)
        if total > limit:
            raise too_large_unpacked(name, max_file_mb)
        out.write(chunk)


def _the_table_in(archive: zipfile.ZipFile, name: str, max_file_mb: float) -> zipfile.ZipInfo:
    """The zip's one table, once its path, password and declared size are checked."""
    entries = [e for e in archive.infolist() if not e.is_dir() and not _is_zip_junk(e.filename)]
    unsafe = [e.filename for e in entries if _is_unsafe_path(e.filename)]
    if unsafe:  # no tool a person uses writes these; a crafted archive does
        raise not_a_table(
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
        raise too_large_unpacked(name, max_file_mb, entry.file_size)
    return entry


def _only_table(entries: list[zipfile.ZipInfo], name: str) -> zipfile.ZipInfo:
    candidates = [e for e in entries if e.filename.lower().endswith(_TABLE_SUFFIXES)]
    archives = [e for e in entries if e.filename.lower().endswith(_ARCHIVE_SUFFIXES)]
    if not candidates and not archives and len(entries) == 1:
        return entries[0]  # one file without a telling name: its bytes will tell
    if len(candidates) == 1 and not archives:
        return candidates[0]
    if not candidates and len(archives) == 1:
        raise nested_archive(f"{name}/{archives[0].filename}")
    if not candidates and not archives:
        found = f" (it holds {_listed(entries)})" if entries else " (it is empty)"
        raise not_a_table(
            name,
            f"I found no CSV, TSV, Excel or Parquet file in the zip{found}",
            f"{FORMATS_HINT} Zip the table you want to train on and share that.",
        )
    several = [*candidates, *archives]
    raise not_a_table(
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
