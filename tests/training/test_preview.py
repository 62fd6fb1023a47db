"""`preview_table` and `python -m training preview`: what a person sees before training."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract import exit_codes
from contract.jobs import DatasetPreview
from tests.training import tables
from training.errors import InputError
from training.pipeline.features import PLAN_SAMPLE_ROWS
from training.preview import label_rank, preview_table

REPO = Path(__file__).resolve().parents[2]


def messy_churn(path: Path, rows: int = 200) -> Path:
    """Ids, a date, money strings, `?` cells, free text, a constant, and a label column."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C-{i:05d}" for i in range(rows)],
            "signup_date": pd.date_range("2022-01-01", periods=rows).strftime("%d/%m/%Y"),
            "plan": rng.choice(["basic", "pro", "?"], rows),
            "monthly_fee": [f"${v:,.2f}" for v in rng.uniform(10, 2000, rows)],
            "notes": [f"the customer called about invoice {i}" for i in range(rows)],
            "country": "NL",
            "row": range(1, rows + 1),
            "tenure": rng.integers(1, 60, rows),
            "is_churned": rng.choice(["yes", "no"], rows),
            "score": rng.normal(size=rows).round(3),
        }
    )
    frame.loc[:11, "is_churned"] = "?"
    frame.to_csv(path, index=False)
    return path


def kinds(preview: DatasetPreview) -> dict[str, str]:
    return {c.name: c.kind for c in preview.columns}


def test_messy_csv(tmp_path: Path) -> None:
    preview = preview_table(messy_churn(tmp_path / "churn.csv"), "churn (Q3).csv")

    assert preview.file_name == "churn (Q3).csv"
    assert preview.format == "csv"
    assert preview.rows == 200
    assert kinds(preview) == {
        "customer_id": "identifier",
        "signup_date": "date",
        "plan": "category",
        "monthly_fee": "number",
        "notes": "text",
        "country": "constant",
        "row": "identifier",
        "tenure": "number",
        "is_churned": "boolean",
        "score": "number",
    }
    # The label-like name wins over the last column.
    assert preview.suggested_target == "is_churned"
    assert preview.suggested_task == "classification"

    by_name = {c.name: c for c in preview.columns}
    plan = by_name["plan"]
    assert plan.missing > 0  # "?" cells are missing, as training reads them
    assert plan.distinct == 2
    assert set(plan.examples) <= {"basic", "pro"}
    assert by_name["is_churned"].missing == 12
    assert by_name["country"].examples == ["NL"]
    assert by_name["monthly_fee"].examples[0].startswith("$")
    for column in preview.columns:
        assert len(column.examples) <= 3
        assert all(len(e) <= 40 for e in column.examples)

    notes = "\n".join(preview.notes)
    assert "12 rows have no value in “is_churned”" in notes
    assert "“customer_id” (identifier)" in notes
    assert "“country” (same value in every row)" in notes
    assert "“notes” (free text)" in notes
    assert "“monthly_fee” holds numbers written as text" in notes
    assert "“plan” in" in notes


def test_without_a_label_name_the_last_usable_column_is_suggested(tmp_path: Path) -> None:
    preview = preview_table(tables.diabetes(tmp_path / "d.csv"), "d.csv")
    assert preview.suggested_target == "progression"
    assert preview.suggested_task == "regression"

    frame = pd.read_csv(tmp_path / "d.csv")
    frame["ticket"] = [f"T{i}" for i in range(len(frame))]  # an id after the target
    frame.to_csv(tmp_path / "d2.csv", index=False)
    preview = preview_table(tmp_path / "d2.csv", "d2.csv")
    assert kinds(preview)["ticket"] == "identifier"
    assert preview.suggested_target == "progression"


def test_a_label_column_that_training_would_refuse_is_not_suggested(tmp_path: Path) -> None:
    rows = 100
    frame = pd.DataFrame(
        {
            "label": [f"name {i % 60}" for i in range(rows)],  # 60 classes in 100 rows
            "x": np.arange(rows) % 7,
            "outcome_kind": np.where(np.arange(rows) % 3 == 0, "a", "b"),
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    preview = preview_table(tmp_path / "t.csv", "t.csv")
    assert preview.suggested_target == "outcome_kind"
    assert preview.suggested_task == "classification"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("target", (0, 0)),
        ("Class", (0, 0)),
        ("y", (0, 0)),
        ("Survived", (0, 1)),
        ("churn", (0, 1)),
        ("is_churned", (1, 1)),
        ("SalePrice", (0, 1)),  # camel case joined: "saleprice"
        ("house_price", (1, 1)),
        ("customer label", (1, 0)),
        ("pos_y", None),
        ("Pclass", None),
        ("churn_date", None),
        ("", None),
    ],
)
def test_label_names(name: str, expected: tuple[int, int] | None) -> None:
    assert label_rank(name) == expected


def test_xlsx(tmp_path: Path) -> None:
    rows = 40
    frame = pd.DataFrame(
        {
            "Order Id": range(1000, 1000 + rows),
            "Ordered": pd.date_range("2024-01-05", periods=rows, freq="D"),
            "Amount": np.linspace(10, 400, rows).round(2),
            "Region": ["north", "south"] * (rows // 2),
            "Fraud": [True, False, False, False] * (rows // 4),
        }
    )
    path = tmp_path / "orders.xlsx"
    frame.to_excel(path, index=False)
    preview = preview_table(path, "orders.xlsx")

    assert preview.format == "xlsx"
    assert preview.rows == rows
    assert kinds(preview) == {
        "Order Id": "identifier",
        "Ordered": "date",
        "Amount": "number",
        "Region": "category",
        "Fraud": "boolean",
    }
    by_name = {c.name: c for c in preview.columns}
    assert by_name["Ordered"].examples[0] == "2024-01-05"
    assert by_name["Order Id"].examples == ["1000", "1001", "1002"]
    assert preview.suggested_target == "Fraud"
    assert preview.suggested_task == "classification"


def test_tsv_and_parquet_formats(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": np.arange(30) % 5, "price": np.linspace(1, 99, 30)})
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    fastparquet = pytest.importorskip("fastparquet")
    fastparquet.write(str(tmp_path / "t.parquet"), frame)
    tsv = preview_table(tmp_path / "t.tsv", "t.tsv")
    parquet = preview_table(tmp_path / "t.parquet", "t.parquet")
    assert (tsv.format, parquet.format) == ("tsv", "parquet")
    assert tsv.suggested_target == parquet.suggested_target == "price"
    assert tsv.suggested_task == "regression"


def test_small_table_still_gets_a_suggestion_and_a_warning(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("size,kind,label\n1,a,x\n2,b,y\n3,a,x\n4,b,y\n")
    preview = preview_table(tmp_path / "s.csv", "s.csv")
    assert preview.suggested_target == "label"
    assert preview.suggested_task == "classification"
    assert any("Only 4 rows" in n for n in preview.notes)


def test_nothing_to_predict(tmp_path: Path) -> None:
    rows = 30
    frame = pd.DataFrame(
        {"id": range(rows), "email": [f"p{i}@example.com" for i in range(rows)], "k": "same"}
    )
    frame.to_csv(tmp_path / "people.csv", index=False)
    preview = preview_table(tmp_path / "people.csv", "people.csv")
    assert preview.suggested_target is None
    assert preview.suggested_task is None
    assert any("pick the target yourself" in n for n in preview.notes)


def test_large_tables_are_judged_on_a_sample(tmp_path: Path) -> None:
    rows = PLAN_SAMPLE_ROWS + 5_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"x": rng.normal(size=rows).round(3), "group": rng.choice(["a", "b", "c"], rows)}
    )
    frame.loc[rows - 1, "group"] = "z"  # a rare value the sample may miss still counts
    frame.to_csv(tmp_path / "big.csv", index=False)
    preview = preview_table(tmp_path / "big.csv", "big.csv")
    assert preview.rows == rows
    assert {c.name: c.distinct for c in preview.columns}["group"] == 4
    assert any(f"sample of {PLAN_SAMPLE_ROWS:,}" in n for n in preview.notes)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not_a_table"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "not_a_table"),
        (b"", "empty_file"),
    ],
)
def test_not_a_table(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        preview_table(path, "data.csv")
    assert caught.value.code == code
    assert caught.value.hint


@pytest.mark.slow
def test_cli(tmp_path: Path) -> None:
    def preview(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "training", "preview", str(path), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=REPO,
            timeout=120,
            check=False,
        )

    good = preview(messy_churn(tmp_path / "upload.bin"), "--name", "clients “Q3”.csv")
    assert good.returncode == exit_codes.SUCCEEDED, good.stderr
    parsed = DatasetPreview.model_validate_json(good.stdout)
    assert parsed.file_name == "clients “Q3”.csv"
    assert parsed.suggested_target == "is_churned"

    bad_path = tmp_path / "photo.csv"
    bad_path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    bad = preview(bad_path)
    assert bad.returncode == exit_codes.BAD_INPUT
    error = json.loads(bad.stdout)["error"]
    assert error["code"] == "not_a_table"
    assert "photo.csv" in error["message"]
    assert error["hint"]
    assert "Traceback" not in bad.stderr
