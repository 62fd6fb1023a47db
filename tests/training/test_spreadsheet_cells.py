"""CSVs written for people (`automl predict`, leaderboard.csv) carry no runnable formulas:
text cells starting with =, +, -, @, a tab or a carriage return get an apostrophe."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract import exit_codes
from contract.jobs import LeaderboardRow
from training.outputs.leaderboard import write_leaderboard_csv
from training.outputs.spreadsheet import safe_frame

FORMULA = '=HYPERLINK("https://evil.example","x")'


def test_safe_frame_neutralises_text_and_headers_only() -> None:
    frame = pd.DataFrame(
        {
            "note": [FORMULA, "@SUM(1)", "fine", None],
            "amount": [-5, -0.5, 2, np.nan],
            "mixed": ["-3", -3, "+x", "y"],
            "kind": pd.Categorical(["+a", "b", "+a", "b"]),
            "=header": [1, 2, 3, 4],
        }
    )
    safe = safe_frame(frame)
    assert safe["note"].tolist()[:3] == ["'" + FORMULA, "'@SUM(1)", "fine"]
    assert safe["note"].isna().tolist()[3]
    assert safe["amount"].dtype == frame["amount"].dtype  # numbers stay numbers
    assert safe["amount"].tolist()[:3] == [-5, -0.5, 2]
    assert safe["mixed"].tolist() == ["'-3", -3, "'+x", "y"]
    assert safe["kind"].tolist() == ["'+a", "b", "'+a", "b"]
    assert list(safe.columns) == ["note", "amount", "mixed", "kind", "'=header"]
    assert frame["note"].tolist()[0] == FORMULA  # the caller's frame is left as it was


def test_safe_frame_with_repeated_column_names() -> None:
    frame = pd.DataFrame([["=1", 2, "-x"]], columns=["a", "b", "a"])
    assert safe_frame(frame).values.tolist() == [["'=1", 2, "'-x"]]


def test_leaderboard_csv_cells_are_inert(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.csv"
    rows = [
        LeaderboardRow(
            rank=1, estimator="-lgbm", validation_score=-0.25, train_time_s=1.5, trials=3
        ),
        LeaderboardRow(rank=2, estimator="=rf", validation_score=None, train_time_s=None, trials=0),
    ]
    write_leaderboard_csv(path, rows)
    with path.open(newline="") as handle:
        read = list(csv.reader(handle))
    assert read[1][:4] == ["1", "'-lgbm", "-0.25", "1.5"]  # a negative score stays a number
    assert read[2][1] == "'=rf"
    assert read[1][5] == "{}"


@pytest.mark.slow
def test_predict_writes_no_formulas(tmp_path: Path) -> None:
    from tests.training.test_cli import automl

    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    train = pd.DataFrame(
        {
            "x": x,
            "delta": -np.abs(rng.normal(size=n)),  # negative numbers, not formulas
            "label": np.where(x > 0, "+up", "-down"),
        }
    )
    data = tmp_path / "train.csv"
    train.to_csv(data, index=False)
    run_dir = tmp_path / "run"
    trained = automl(
        "train", str(data), "--target", "label", "--time-budget", "5s", "--out", str(run_dir),
        "--no-report", cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == exit_codes.SUCCEEDED, trained.stderr

    new = tmp_path / "new.csv"
    fresh = train.drop(columns=["label"]).head(5).assign(note=[FORMULA, "@x", "-y", "+z", "ok"])
    fresh.to_csv(new, index=False)
    out = tmp_path / "predictions.csv"
    predicted = automl("predict", str(run_dir), str(new), "-o", str(out), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["note"] for r in rows] == ["'" + FORMULA, "'@x", "'-y", "'+z", "ok"]
    assert {r["predicted_label"] for r in rows} <= {"'+up", "'-down"}
    assert all(float(r["delta"]) < 0 for r in rows)  # still plain numbers
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for k, cell in r.items()
                   if k not in {"x", "delta"} and not k.startswith("probability_"))  # fmt: skip
