"""SIGTERM mid-search (a Spot reclaim): the best model so far is saved, status interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from contract import exit_codes
from contract.jobs import JobResult, parse_event
from contract.run_folder import MODEL_FILE
from tests.builders import make_spec
from tests.training import tables
from tests.training.processes import wait_for_trials
from training.pipeline.model import TrainedModel
from training.run import INTERRUPT_GRACE_S


def _start(tmp_path: Path, budget: int) -> tuple[subprocess.Popen, Path]:
    run_dir = tmp_path / "run"
    spec = make_spec(
        job_id="sigterm",
        dataset_uri=str(tables.wide_binary(tmp_path / "wide.csv")),
        file_name="wide.csv",
        target="label",
        time_budget_s=budget,
        output_uri=str(run_dir),
    )
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(spec.model_dump_json())
    process = subprocess.Popen(
        [sys.executable, "-m", "training", "run", str(spec_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, run_dir


@pytest.mark.slow
def test_sigterm_mid_search_keeps_the_best_model(tmp_path: Path) -> None:
    process, run_dir = _start(tmp_path, budget=120)
    try:
        wait_for_trials(process, minimum=2)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=60)
        stopped_after = time.monotonic() - signalled
    finally:
        process.kill()

    assert process.returncode == exit_codes.INTERRUPTED, errors
    # Fargate Spot gives 30 s between SIGTERM and SIGKILL.
    assert stopped_after < 30
    result = JobResult.model_validate_json((run_dir / "result.json").read_text())
    assert result.status == "interrupted"
    assert result.trials >= 2
    assert result.holdout_metrics["roc_auc"] > 0.7
    assert any("SIGTERM" in note and "before its budget" in note for note in result.notes)
    finished = json.loads(rest.strip().splitlines()[-1])
    assert finished["type"] == "finished" and finished["status"] == "interrupted"

    model = TrainedModel.load(run_dir / MODEL_FILE, sha256=result.artifacts.model_sha256)
    sample = pd.read_csv(tmp_path / "wide.csv", nrows=50).drop(columns=["label"])
    assert set(model.predict(sample)) <= {"up", "down"}
    assert INTERRUPT_GRACE_S < 30


@pytest.mark.slow
def test_sigterm_before_the_search_still_answers(tmp_path: Path) -> None:
    process, run_dir = _start(tmp_path, budget=60)
    try:
        assert process.stdout is not None
        first = parse_event(process.stdout.readline())
        assert first.type == "started"
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        process.kill()
    result = JobResult.model_validate_json((run_dir / "result.json").read_text())
    assert result.status == "interrupted"
    assert process.returncode == exit_codes.INTERRUPTED


def test_a_signal_once_the_budget_has_passed_is_the_time_limit(tmp_path: Path, make_spec) -> None:
    """The launcher's (or Batch's) time limit, not a person's cancel or a Spot reclaim."""
    from training.run import RunOptions, _Run

    data = tmp_path / "t.csv"
    data.write_text("a,b\n1,2\n")
    spec = make_spec(data, "b", time_budget_s=5)
    early = _Run(spec, RunOptions(handle_signals=False))
    early._on_signal(signal.SIGTERM, None)
    assert not early.signalled_after_budget
    late = _Run(spec, RunOptions(handle_signals=False))
    late.t0 -= 6
    late._on_signal(signal.SIGTERM, None)
    assert late.signalled_after_budget
