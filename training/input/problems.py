"""Why a shared file cannot be read, said so a person can act on it: each an `InputError`
whose code is one of `empty_file`, `not_a_table`, `unreadable_file`."""

from __future__ import annotations

from training.errors import InputError

FORMATS_HINT = (
    "I can read CSV/TSV text, Excel (.xlsx) and Parquet files, also gzip-compressed or zipped."
)


def empty_file(name: str, why: str) -> InputError:
    return InputError(
        "empty_file",
        f"`{name}` has no data: {why}.",
        "Share a file with a header row and at least one row of data below it.",
    )


def not_a_table(name: str, why: str, hint: str) -> InputError:
    return InputError("not_a_table", f"`{name}` is not a table I can read: {why}.", hint)


def unreadable(name: str, why: str) -> InputError:
    return InputError(
        "unreadable_file",
        f"I couldn't read `{name}`: {why}.",
        "Open it on your computer to check it, save it again (CSV, Excel .xlsx or Parquet) "
        "and share the new copy.",
    )


def nested_archive(name: str) -> InputError:
    return not_a_table(
        name,
        "it is an archive inside an archive, and I unpack only one level",
        "Unpack it until you reach the CSV, Excel or Parquet file, and share that file "
        "(zipped or gzipped once, if you like).",
    )


def bad_encoding(name: str) -> InputError:
    return InputError(
        "unreadable_file",
        f"I couldn't read `{name}`: its text is damaged (bytes that are not valid characters).",
        "Open it in a spreadsheet app, save it again as CSV (UTF-8) and share the new copy.",
    )


def formats_hint_export() -> str:
    return f"{FORMATS_HINT} Export your data to one of those and share it."
