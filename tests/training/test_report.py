"""The Sweetviz report in its own process: real reports on small frames, timeouts, failures."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from training.report import FAILURE_PREFIX, ReportJob, plan_target, start_report

pytestmark = pytest.mark.slow


def _frame(loader, labels: list[str] | None = None, columns: int = 5) -> pd.DataFrame:
    bunch = loader(as_frame=True)
    frame = bunch.data.iloc[:, :columns].copy()
    frame["label"] = np.asarray(labels)[bunch.target] if labels else bunch.target
    return frame


def _html(outcome_path: Path | None) -> str:
    assert outcome_path is not None
    return outcome_path.read_text(encoding="utf-8", errors="replace")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in {".pkl", ".partial"})


def test_binary_string_target(tmp_path: Path) -> None:
    frame = _frame(load_breast_cancer, ["malignant", "benign"])
    outcome = start_report(frame, "label", "classification", tmp_path / "report.html").wait(90)
    assert outcome.note is None, outcome.note
    assert outcome.path == tmp_path / "report.html"
    html = _html(outcome.path)
    assert "label" in html and "malignant" in html  # the title says what True means
    assert outcome.rows_sampled == len(frame)
    assert _leftovers(tmp_path) == [] and not (tmp_path / "report.log").exists()


def test_mixed_type_column_goes_through_the_pickle(tmp_path: Path) -> None:
    # Sweetviz refuses a column of numbers mixed with text: the sample goes as text instead.
    frame = _frame(load_iris, ["setosa", "versicolor", "virginica"], columns=2)
    frame["mixed"] = [1, "two", 3.5, None, True] * (len(frame) // 5)
    outcome = start_report(frame, "label", "classification", tmp_path / "report.html").wait(90)
    assert outcome.path is not None, outcome.note
    assert "mixed" in _html(outcome.path)
    assert _leftovers(tmp_path) == []


def test_regression_target_with_sampling(tmp_path: Path) -> None:
    frame = _frame(load_diabetes, columns=4)
    job = start_report(frame, "label", "regression", tmp_path / "report.html", max_rows=200)
    outcome = job.wait(90)
    assert outcome.path is not None, outcome.note
    assert outcome.rows_sampled == 200
    assert outcome.note is not None and "200 of the 442 rows" in outcome.note
    assert "label" in _html(outcome.path)


def test_multiclass_string_target_is_shown_as_a_column(tmp_path: Path) -> None:
    frame = _frame(load_iris, ["setosa", "versicolor", "virginica"], columns=3)
    outcome = start_report(frame, "label", "classification", tmp_path / "report.html").wait(90)
    assert outcome.path is not None, outcome.note
    assert outcome.note is not None and "3 classes" in outcome.note
    assert "virginica" in _html(outcome.path)


def test_timeout_kills_the_child(tmp_path: Path) -> None:
    frame = _frame(load_breast_cancer, ["malignant", "benign"])
    job = start_report(frame, "label", "classification", tmp_path / "report.html")
    process = job._process
    assert process is not None
    outcome = job.wait(0.2)
    assert outcome.path is None
    assert outcome.note is not None and outcome.note.startswith(FAILURE_PREFIX)
    assert "stopped" in outcome.note
    assert process.returncode is not None  # reaped: no zombie left
    assert not Path(f"/proc/{process.pid}").exists()
    assert _leftovers(tmp_path) == []
    assert job.wait(10) is outcome  # asking again gives the same answer


def test_cancel_stops_the_child(tmp_path: Path) -> None:
    job = start_report(_frame(load_iris), "label", "classification", tmp_path / "r.html")
    job.cancel()
    outcome = job.wait(1)
    assert outcome.path is None and outcome.note is not None and "cancelled" in outcome.note
    assert _leftovers(tmp_path) == []


def test_worker_failure_becomes_a_note(tmp_path: Path) -> None:
    frame = _frame(load_iris)
    outcome = start_report(frame, "no_such_column", "classification", tmp_path / "r.html").wait(60)
    assert outcome.path is None
    assert outcome.note == (
        FAILURE_PREFIX + "the target column 'no_such_column' is not in the data (log: r.log)"
    )


def test_unwritable_folder_becomes_a_note(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    job = start_report(_frame(load_iris), "label", "classification", blocker / "r.html")
    assert isinstance(job, ReportJob)
    outcome = job.wait(1)
    assert outcome.path is None and outcome.note is not None
    assert outcome.note.startswith(FAILURE_PREFIX)


def test_plan_target_binary_numbers_sort_numerically() -> None:
    plan = plan_target(pd.Series([2, 10, 10, None], name="y"), "classification")
    assert plan.use_as_target
    assert plan.values.tolist() == [False, True, True]
    assert "y = 10" in plan.title


def test_plan_target_positive_class_as_given() -> None:
    plan = plan_target(pd.Series(["a", "b", "a"], name="y"), "classification", positive="a")
    assert plan.values.tolist() == [True, False, True]


def test_child_is_niced(tmp_path: Path) -> None:
    job = start_report(_frame(load_iris), "label", "classification", tmp_path / "r.html")
    try:
        assert job._process is not None
        pid = job._process.pid
        deadline = time.monotonic() + 5
        while _niceness(pid) < os.nice(0) + 10 and time.monotonic() < deadline:
            time.sleep(0.05)  # the child lowers its own priority first thing
        assert _niceness(pid) >= os.nice(0) + 10
    finally:
        job.cancel()


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
