"""`automl train` and `automl predict` as a person runs them: exit codes and messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.training import tables
from training import exit_codes


def automl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_train_then_predict(tmp_path: Path) -> None:
    data = tables.iris(tmp_path / "iris.csv")
    run_dir = tmp_path / "run"
    trained = automl(
        "train", str(data), "--target", "species", "--time-budget", "8s", "--out", str(run_dir),
        "--no-report", cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == exit_codes.SUCCEEDED, trained.stderr
    assert "validation log loss" in trained.stdout  # the leaderboard table
    assert f"{run_dir}/model.joblib" in trained.stdout
    assert "Traceback" not in trained.stderr

    new = tmp_path / "new.csv"
    pd.read_csv(data).drop(columns=["species"]).head(10).to_csv(new, index=False)
    out = tmp_path / "preds.csv"
    predicted = automl("predict", str(run_dir), str(new), "-o", str(out), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    table = pd.read_csv(out)
    assert len(table) == 10
    assert {"predicted_species", "probability_setosa"} <= set(table.columns)

    wrong = tmp_path / "wrong.csv"
    pd.read_csv(new).drop(columns=["petal length (cm)"]).to_csv(wrong, index=False)
    refused = automl("predict", str(run_dir), str(wrong), cwd=tmp_path)
    assert refused.returncode == exit_codes.BAD_INPUT
    assert "petal length (cm)" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_bad_input_exits_2_with_the_message(tmp_path: Path) -> None:
    data = tables.iris(tmp_path / "iris.csv")
    result = automl(
        "train", str(data), "--target", "colour", "--out", str(tmp_path / "r"), cwd=tmp_path
    )
    assert result.returncode == exit_codes.BAD_INPUT
    assert "There is no column named “colour”" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_and_bad_duration(tmp_path: Path) -> None:
    missing = automl("train", "nope.csv", "--target", "y", cwd=tmp_path)
    assert missing.returncode == exit_codes.BAD_INPUT
    assert "no file at nope.csv" in missing.stderr
    bad = automl("train", "nope.csv", "--target", "y", "--time-budget", "soon", cwd=tmp_path)
    assert bad.returncode == 2
    assert "not a duration" in bad.stderr


def test_predict_without_a_model(tmp_path: Path) -> None:
    data = tables.iris(tmp_path / "iris.csv")
    result = automl("predict", str(tmp_path), str(data), cwd=tmp_path)
    assert result.returncode == exit_codes.BAD_INPUT
    assert "no model" in result.stderr
