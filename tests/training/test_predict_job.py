"""`python -m training predict SPEC`: a trained model scores a new file, with the checks and
reasons of training/pipeline, and says what it did in prediction.json and its events."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from contract import exit_codes
from contract.jobs import JobSpec, PredictionResult, PredictionSpec, parse_event
from tests.conftest import SAMPLE_CHURN
from training.prediction_summary import class_counts, quantiles
from training.run import RunOptions, run_job

REPO = Path(__file__).resolve().parents[2]
NEW_CUSTOMERS = SAMPLE_CHURN.parent / "new-customers.csv"


@pytest.fixture(scope="module")
def model_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A model trained on the sample (briefly); its run folder and SHA-256."""
    run = tmp_path_factory.mktemp("model")
    spec = JobSpec(
        job_id="m1",
        dataset_uri=str(SAMPLE_CHURN),
        file_name="churn.csv",
        target="churned",
        time_budget_s=6,
        output_uri=str(run),
    )
    result = run_job(spec, RunOptions(charts=False, report=False))
    assert result.status == "succeeded" and result.artifacts.model_sha256
    return run, result.artifacts.model_sha256


def predict(
    model_run: tuple[Path, str], data: Path, out: Path, *, sha256: str | None = None
) -> tuple[int, PredictionResult, list[str]]:
    """Run the job as the launchers do; its exit code, prediction.json and event types."""
    run, digest = model_run
    spec = PredictionSpec(
        job_id="p1",
        model_job_id="m1",
        model_uri=str(run / "model.joblib"),
        model_sha256=sha256 or digest,
        dataset_uri=str(data),
        file_name=data.name,
        output_uri=str(out),
    )
    spec_path = out.parent / f"{out.name}-spec.json"
    spec_path.write_text(spec.model_dump_json())
    done = subprocess.run(
        [sys.executable, "-m", "training", "predict", str(spec_path)],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = PredictionResult.model_validate_json((out / "prediction.json").read_bytes())
    events = [str(parse_event(line).type) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, result, events


@pytest.mark.slow
def test_every_row_is_scored_with_probabilities_reasons_and_warnings(
    model_run: tuple[Path, str], tmp_path: Path
) -> None:
    frame = pd.read_csv(NEW_CUSTOMERS)
    frame.loc[0, "plan"] = "Platinum"  # a category the model never saw
    frame.loc[1, "customer_id"] = '=HYPERLINK("http://x")'  # a formula cell
    data = tmp_path / "new.csv"
    frame.to_csv(data, index=False)

    code, result, events = predict(model_run, data, tmp_path / "out")

    assert code == exit_codes.SUCCEEDED
    assert events[0] == "started" and events[-1] == "finished" and "progress" in events
    assert result.status == "succeeded" and result.rows_scored == len(frame)
    assert result.target == "churned" and result.with_reasons
    assert sum(c.rows for c in result.class_counts) == len(frame)
    kinds = {w.kind: w for w in result.warnings}
    assert kinds["extra_columns"].columns == ["customer_id", "country"]
    assert kinds["unseen_categories"].columns == ["plan"]
    assert "“Platinum” (1)" in kinds["unseen_categories"].sentence
    with (tmp_path / "out" / "predictions.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(frame)
    assert list(rows[0])[-4:] == [
        "predicted_churned",
        "probability_no",
        "probability_yes",
        "reasons",
    ]
    assert rows[1]["customer_id"].startswith("'=")  # neutralised for spreadsheets
    assert all(
        abs(float(r["probability_no"]) + float(r["probability_yes"]) - 1) < 1e-6 for r in rows
    )
    assert all("churned=yes by" in r["reasons"] for r in rows)


@pytest.mark.slow
def test_a_file_without_the_columns_the_model_needs_is_refused_naming_them(
    model_run: tuple[Path, str], tmp_path: Path
) -> None:
    data = tmp_path / "partial.csv"
    pd.read_csv(NEW_CUSTOMERS).drop(columns=["tenure_months", "contract"]).to_csv(data, index=False)

    code, result, events = predict(model_run, data, tmp_path / "out")

    assert code == exit_codes.BAD_INPUT and events[-1] == "finished"
    assert result.status == "failed" and result.error is not None
    assert result.error.code == "missing_columns"
    assert "“contract”" in result.error.message and "“tenure_months”" in result.error.message
    assert not (tmp_path / "out" / "predictions.csv").exists()


@pytest.mark.slow
def test_a_model_whose_bytes_changed_is_not_loaded(
    model_run: tuple[Path, str], tmp_path: Path
) -> None:
    code, result, _ = predict(model_run, NEW_CUSTOMERS, tmp_path / "out", sha256="0" * 64)

    assert code == exit_codes.BAD_INPUT
    assert result.error is not None and result.error.code == "model_tampered"
    assert "job m1" in result.error.message and str(model_run[0]) not in result.error.message


def test_a_spec_that_is_not_a_prediction_spec_is_bad_input(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"job_id": "p1"}))
    done = subprocess.run(
        [sys.executable, "-m", "training", "predict", str(spec)],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exit_codes.BAD_INPUT
    assert "is not a valid job spec" in done.stderr and "Traceback" not in done.stderr


def test_the_spread_of_predictions() -> None:
    labels = pd.Series(["no", "yes", "no", "maybe", "yes", "no"])
    assert [(c.label, c.rows) for c in class_counts(labels)] == [
        ("no", 3),
        ("yes", 2),
        ("maybe", 1),
    ]
    values = pd.Series([float(v) for v in range(101)])
    assert quantiles(values) == {"min": 0.0, "p10": 10.0, "median": 50.0, "p90": 90.0, "max": 100.0}
    assert quantiles(pd.Series([], dtype=float)) == {}


@pytest.mark.slow
def test_the_warm_worker_forks_a_prediction(model_run: tuple[Path, str], tmp_path: Path) -> None:
    import os
    import time

    from training.warm_worker import WorkerRefused, request_start

    run, digest = model_run
    out = tmp_path / "out"
    out.mkdir()
    spec = out / "spec.json"
    spec.write_text(
        PredictionSpec(
            job_id="p2",
            model_job_id="m1",
            model_uri=str(run / "model.joblib"),
            model_sha256=digest,
            dataset_uri=str(NEW_CUSTOMERS),
            file_name=NEW_CUSTOMERS.name,
            output_uri=str(out),
        ).model_dump_json()
    )
    socket_path = tmp_path / "worker.sock"
    worker = subprocess.Popen(
        [sys.executable, "-m", "training.warm_worker", "--socket", str(socket_path)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AUTOML_LOG_PRELOADED": "1"},
    )
    try:
        deadline = time.monotonic() + 180
        while not socket_path.exists() and worker.poll() is None:
            assert time.monotonic() < deadline, "the warm worker did not start"
            time.sleep(0.1)
        with pytest.raises(WorkerRefused, match='"command" must be one of run, predict'):
            request_start(socket_path, spec, out / "job.log", command="rm")
        request_start(socket_path, spec, out / "job.log", command="predict")
        result_path = out / "prediction.json"
        while not result_path.exists():
            assert time.monotonic() < deadline + 120, "the prediction did not end"
            time.sleep(0.1)
        result = PredictionResult.model_validate_json(result_path.read_bytes())
        assert result.status == "succeeded" and result.rows_scored == 300
        assert "preloaded modules: pandas" in (out / "job.log").read_text()  # forked, warm
    finally:
        worker.terminate()
        worker.wait(timeout=30)
