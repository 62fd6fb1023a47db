"""What a file expands to is limited before it is read: rows x columns from the Parquet footer,
the xlsx zip directory and as CSV rows come in; a MemoryError becomes a sentence."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import fastparquet
import pandas as pd
import pytest

from tests.training.test_reading import MB, refused_quickly, write, xlsx_bytes
from training.errors import InputError
from training.input.reading import read_table


def refused(path: Path, name: str, **limits: float) -> str:
    with pytest.raises(InputError) as caught:
        read_table(path, name, **limits)  # type: ignore[arg-type]
    assert caught.value.code == "file_too_large"
    return f"{caught.value.message} {caught.value.hint}"


def test_parquet_rows_from_the_footer(tmp_path: Path) -> None:
    path = tmp_path / "dataset"
    fastparquet.write(str(path), pd.DataFrame({"a": [1] * 200_000, "b": ["x"] * 200_000}))
    text = refused(path, "tall.parquet", max_cells=100_000)
    assert "200,000 rows of 2 columns" in text and "100,000 values" in text
    assert "AUTOML_MAX_CELLS" in text
    assert len(read_table(path, "tall.parquet", max_cells=400_000)) == 200_000


def test_parquet_uncompressed_size_from_the_footer(tmp_path: Path) -> None:
    path = tmp_path / "dataset"
    fastparquet.write(str(path), pd.DataFrame({"a": range(300_000)}), compression="GZIP")
    text = refused(path, "big.parquet", max_unpacked_mb=1)
    assert "once uncompressed" in text and "AUTOML_MAX_UNPACKED_MB" in text


def test_csv_rows_past_the_limit_are_not_read(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c\n" + "1,2,3\n" * 1000)
    text = refused(path, "wide.csv", max_cells=2_999)
    assert "the limit is 2,999 values" in text
    assert len(read_table(path, "wide.csv", max_cells=3_000)) == 1000


def test_xlsx_rows_past_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, xlsx_bytes([["a", "b"], *[[i, i] for i in range(50)]]))
    text = refused(path, "t.xlsx", max_cells=99)
    assert "more than 49 rows of 2 columns; the limit is 99 values" in text
    assert len(read_table(path, "t.xlsx", max_cells=100)) == 50


def test_xlsx_declared_sizes_are_checked_before_inflating(tmp_path: Path) -> None:
    data = io.BytesIO(xlsx_bytes([["a", "b"], [1, 2]]))
    with (
        zipfile.ZipFile(data, "a", compression=zipfile.ZIP_DEFLATED) as book,
        book.open("xl/media/filler.bin", "w", force_zip64=True) as entry,
    ):
        for _ in range(30):
            entry.write(bytes(MB))  # 30 MB of zeros: a few KB packed
    path = write(tmp_path, data.getvalue())
    assert "expands to 30 MB once uncompressed" in refused(path, "bomb.xlsx", max_unpacked_mb=20)
    # Within the size limit, the packing ratio alone gives it away.
    with pytest.raises(InputError) as caught:
        read_table(path, "bomb.xlsx")
    assert "packed" in caught.value.message and "to 1" in caught.value.message


@pytest.mark.slow
def test_gzip_bomb_stays_flat_with_the_new_limits(tmp_path: Path) -> None:
    # The unpacked-bytes limit of gzip (test_reading) holds whatever the cell limit says.
    from tests.training.test_reading import zeros_gzip

    path = write(tmp_path, zeros_gzip(50))
    refused_quickly(path, "file_too_large", "bomb.csv.gz", max_file_mb=5)
