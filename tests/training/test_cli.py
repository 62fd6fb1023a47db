"""`automl train` and `automl predict` as a person runs them: exit codes and messages."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from bot import cli
from contract import exit_codes
from contract.jobs import JobResult, JobSpec
from tests.training import tables


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

    # `train` signed the model with this user's key; a changed file is refused.
    with (run_dir / "model.joblib").open("ab") as model:
        model.write(b"\0")
    tampered = automl("predict", str(run_dir), str(new), cwd=tmp_path)
    assert tampered.returncode == exit_codes.BAD_INPUT
    assert "has changed since its run signed it" in tampered.stderr


@pytest.mark.slow
def test_bad_input_exits_2_with_the_message(tmp_path: Path) -> None:
    data = tables.iris(tmp_path / "iris.csv")
    result = automl(
        "train", str(data), "--target", "colour", "--out", str(tmp_path / "r"), cwd=tmp_path
    )
    assert result.returncode == exit_codes.BAD_INPUT
    assert "There is no column named “colour”" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_missing_file_and_bad_duration(tmp_path: Path) -> None:
    missing = automl("train", "nope.csv", "--target", "y", cwd=tmp_path)
    assert missing.returncode == exit_codes.BAD_INPUT
    assert "no file at nope.csv" in missing.stderr
    bad = automl("train", "nope.csv", "--target", "y", "--time-budget", "soon", cwd=tmp_path)
    assert bad.returncode == 2
    assert "not a duration" in bad.stderr


@pytest.mark.slow
def test_predict_without_a_model(tmp_path: Path) -> None:
    data = tables.iris(tmp_path / "iris.csv")
    result = automl("predict", str(tmp_path), str(data), cwd=tmp_path)
    assert result.returncode == exit_codes.BAD_INPUT
    assert "no model" in result.stderr


@pytest.mark.slow
def test_predict_with_a_model_it_cannot_rebuild(tmp_path: Path) -> None:
    """A pickle naming a module this version lacks (an older layout), or a damaged file."""
    import pickle

    data = tables.iris(tmp_path / "iris.csv")
    for name, payload in {
        "old": b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x0etraining.model"
        b"\x94\x8c\x0cTrainedModel\x94\x93\x94.",
        "damaged": pickle.dumps({"a": 1})[:5],
    }.items():
        run = tmp_path / name
        run.mkdir()
        (run / "model.joblib").write_bytes(payload)
        result = automl("predict", str(run), str(data), "--trust-unsigned", cwd=tmp_path)
        assert result.returncode == exit_codes.BAD_INPUT, result.stderr
        assert "could not be loaded" in result.stderr
        assert "Traceback" not in result.stderr


def train_in_process(
    *args: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[JobSpec]]:
    """`automl train` with the engine replaced: what spec it would run, and the exit code."""
    specs: list[JobSpec] = []

    def run_job(spec: JobSpec, options: object) -> JobResult:
        specs.append(spec)
        return JobResult(job_id=spec.job_id, status="succeeded", target=spec.target)

    engine = types.ModuleType("training.run")
    engine.run_job = run_job  # type: ignore[attr-defined]
    engine.RunOptions = lambda **kwargs: kwargs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "training.run", engine)
    data = tmp_path / "t.csv"
    data.write_text("id,notes,y\n1,a,0\n")
    parsed = cli._parser().parse_args(["train", str(data), *args, "--out", str(tmp_path / "r")])
    return parsed.handler(parsed), specs


def test_keep_and_exclude_reach_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, specs = train_in_process(
        "--target", "y", "--keep", "id, refund amount,", "--exclude", "notes",
        tmp_path=tmp_path, monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == exit_codes.SUCCEEDED
    (spec,) = specs
    assert spec.keep_columns == ["id", "refund amount"]
    assert spec.exclude_columns == ["notes"]


def test_a_column_kept_and_excluded_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, specs = train_in_process(
        "--target", "y", "--keep", "id", "--exclude", "id,notes",
        tmp_path=tmp_path, monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == exit_codes.BAD_INPUT
    assert specs == []
    assert "“id” is in both keep and exclude" in capsys.readouterr().err
