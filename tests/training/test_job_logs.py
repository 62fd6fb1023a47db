"""The training job's stderr: JSON lines with its job id on AWS Batch (CloudWatch keeps them),
warnings only and in text elsewhere; its run.log stays human text either way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract import environment as env
from contract.jobs import JobSpec
from contract.run_folder import RUN_LOG_FILE
from tests.conftest import REPO

pytestmark = pytest.mark.slow

JOB = "3fa9c1b2"


def _run_job(tmp_path: Path, **variables: str) -> tuple[str, str]:
    """(stderr, run.log) of a job whose file is missing: it fails fast, logging why."""
    out = tmp_path / "run"
    spec = JobSpec(
        job_id=JOB,
        dataset_uri=str(tmp_path / "missing.csv"),
        file_name="missing.csv",
        target="y",
        time_budget_s=30,
        output_uri=str(out),
    )
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(spec.model_dump_json(), encoding="utf-8")
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("AUTOML_LOG_", "AWS_BATCH"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "training", "run", str(spec_path)],
        cwd=REPO,
        env={**environment, **variables},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,  # the job fails on purpose (exit 2)
    )
    return done.stderr, (out / RUN_LOG_FILE).read_text(encoding="utf-8")


def test_on_batch_the_job_writes_json_lines_with_its_id(tmp_path: Path) -> None:
    stderr, run_log = _run_job(tmp_path, **{env.BATCH_JOB_ID: "4c7599ae-0a82"})
    lines = [json.loads(line) for line in stderr.splitlines()]
    (line,) = [line for line in lines if "missing.csv" in line["message"]]
    assert line["job_id"] == JOB and line["logger"] == "training.run"
    assert all(line["job_id"] == JOB for line in lines)
    assert "missing.csv" in run_log and not run_log.lstrip().startswith("{")


def test_elsewhere_stderr_keeps_text_warnings_whatever_the_bots_log_is(tmp_path: Path) -> None:
    # The local launcher shows stderr's last lines to the person: the bot's JSON at INFO
    # (inherited through the environment) must not turn them into JSON or add INFO lines.
    stderr, run_log = _run_job(tmp_path, **{env.LOG_FORMAT: "json", env.LOG_LEVEL: "INFO"})
    assert "{" not in stderr and "missing.csv" not in stderr  # its INFO line: run.log only
    assert "missing.csv" in run_log
