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


def check_columns(n_columns: int, name: str, max_columns: int) -> None:
    if n_columns > max_columns:
        raise InputError(
            "too_many_columns",
            f"`{name}` has {n_columns:,} columns; the limit is {max_columns:,}.",
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
