"""The Sweetviz report in its own process: real reports on small frames, timeouts, failures,
what a short budget covers, and the speed-ups (training/outputs/report_speed.py).

The reports are real and made by niced children on a machine that may be busy: the tests wait
generously and never assert how long anything took.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from training.outputs import report_speed
from training.outputs.report import (
    CPU_SHARE,
    FAILURE_PREFIX,
    HISTOGRAMS_ALL,
    HISTOGRAMS_AUTO,
    MIN_COLUMNS,
    CompleteLimits,
    ReportJob,
    estimate_cpu_s,
    extra_wait_s,
    plan_scope,
    plan_target,
    start_report,
)

pytestmark = pytest.mark.slow
WAIT_S = 180.0  # a niced child on a busy machine: no test asserts a duration
ROOT = Path(__file__).resolve().parents[2]


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
    outcome = start_report(frame, "label", "classification", tmp_path / "report.html").wait(WAIT_S)
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
    outcome = start_report(frame, "label", "classification", tmp_path / "report.html").wait(WAIT_S)
    assert outcome.path is not None, outcome.note
    assert "mixed" in _html(outcome.path)
    assert _leftovers(tmp_path) == []


def test_regression_target_with_sampling(tmp_path: Path) -> None:
    frame = _frame(load_diabetes, columns=4)
    job = start_report(frame, "label", "regression", tmp_path / "report.html", max_rows=200)
    outcome = job.wait(WAIT_S)
    assert outcome.path is not None, outcome.note
    assert outcome.rows_sampled == 200
    assert outcome.note is not None and "200 of the 442 rows" in outcome.note
    assert "label" in _html(outcome.path)


def test_multiclass_string_target_is_shown_as_a_column(tmp_path: Path) -> None:
    frame = _frame(load_iris, ["setosa", "versicolor", "virginica"], columns=3)
    outcome = start_report(frame, "label", "classification", tmp_path / "report.html").wait(WAIT_S)
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
    outcome = start_report(frame, "no_such_column", "classification", tmp_path / "r.html").wait(
        WAIT_S
    )
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


# -- what a report covers ------------------------------------------------------------------------


def _wide(rows: int = 300, columns: int = 60, seed: int = 0) -> pd.DataFrame:
    """Noise columns, and two (`signal_a`, `signal_b`) the yes/no target `label` depends on."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        rng.normal(size=(rows, columns)), columns=[f"noise_{i}" for i in range(columns)]
    )
    frame["signal_a"] = rng.normal(size=rows)
    frame["signal_b"] = rng.choice(["red", "green", "blue"], size=rows)
    score = frame["signal_a"] + (frame["signal_b"] == "red") * 1.5 + rng.normal(0, 0.3, rows)
    frame["label"] = np.where(score > 0.5, "yes", "no")
    return frame


def test_small_table_short_budget_gets_a_complete_report(tmp_path: Path) -> None:
    # 150 rows and 5 columns in a 10 s job: what training.run gives it once the data is read.
    frame = _frame(load_breast_cancer, ["malignant", "benign"]).sample(150, random_state=0)
    seconds = 7.5 + extra_wait_s(10)
    # A job forks its report (threads other tests left in this process would rule it out).
    job = start_report(
        frame, "label", "classification", tmp_path / "report.html", seconds=seconds, fork=True
    )
    assert job.scope is not None and job.scope.complete and job.scope.fits
    assert job.deadline is not None
    outcome = job.wait(WAIT_S)
    assert outcome.path == tmp_path / "report.html", outcome.note
    assert outcome.note is None
    assert outcome.rows_sampled == 150
    assert all(name in _html(outcome.path) for name in frame.columns)


def test_wide_table_gets_the_columns_most_related_to_the_target(tmp_path: Path) -> None:
    frame = _wide()
    # Past the size that always gets a complete report (made small here: the test stays quick).
    job = start_report(
        frame,
        "label",
        "classification",
        tmp_path / "report.html",
        seconds=2.0,
        complete_up_to=CompleteLimits(rows=100, columns=10),
    )
    assert job.scope is not None and len(job.scope.columns) == MIN_COLUMNS
    assert {"signal_a", "signal_b"} <= set(job.scope.columns)
    outcome = job.wait(WAIT_S)
    assert outcome.path is not None, outcome.note
    assert outcome.note == (
        "The EDA report covers 5 of 62 columns (those most related to the target)."
    )
    html = _html(outcome.path)  # each column's tab is titled ">name<"
    assert all(f">{name}<" in html for name in job.scope.columns)
    left_out = [c for c in frame.columns if c not in job.scope.columns and c != "label"]
    assert len(left_out) == 57 and not any(f">{name}<" in html for name in left_out)


def test_rows_and_columns_sampled_say_both() -> None:
    frame = _wide(rows=3_000, columns=40)
    scope = plan_scope(frame, "label", "classification", seconds=1.0, max_rows=1_000)
    assert scope.rows == 1_000 and len(scope.columns) == MIN_COLUMNS
    assert scope.note == (
        "The EDA report covers 5 of 42 columns (those most related to the target) "
        "and a random sample of 1,000 of the 3,000 rows."
    )


def test_plan_gives_up_extras_before_columns() -> None:
    frame = _wide(rows=500, columns=20)  # 21 number columns, a text one and the target
    free = plan_scope(frame, "label", "classification")
    assert free.complete and free.pairwise and free.histograms == HISTOGRAMS_ALL
    assert free.note is None
    kinds = ["number"] * 21 + ["other"] * 2

    def plan(pairwise: bool, histograms: tuple[int, ...], share: float = 1.01) -> tuple:
        cpu = estimate_cpu_s(kinds, 500, pairwise=pairwise, histograms=histograms)
        seconds = cpu * share / CPU_SHARE
        scope = plan_scope(frame, "label", "classification", seconds=seconds, complete_up_to=None)
        return scope.pairwise, scope.histograms, len(scope.columns), scope.fits

    assert plan(True, HISTOGRAMS_ALL) == (True, HISTOGRAMS_ALL, 22, True)
    assert plan(True, HISTOGRAMS_AUTO) == (True, HISTOGRAMS_AUTO, 22, True)
    assert plan(False, HISTOGRAMS_AUTO) == (False, HISTOGRAMS_AUTO, 22, True)
    pairwise, histograms, columns, _ = plan(False, HISTOGRAMS_AUTO, share=0.5)
    assert (pairwise, histograms) == (False, HISTOGRAMS_AUTO) and MIN_COLUMNS < columns < 22


def test_most_related_columns_for_each_kind_of_target() -> None:
    frame = _wide(rows=2_000, columns=30)
    classes = plan_scope(frame, "label", "classification", seconds=0.0, complete_up_to=None)
    assert {"signal_a", "signal_b"} <= set(classes.columns)
    frame["amount"] = frame["signal_a"] * 3 + (frame["signal_b"] == "red") * 2
    frame = frame.drop(columns=["label"])
    numbers = plan_scope(frame, "amount", "regression", seconds=0.0, complete_up_to=None)
    assert {"signal_a", "signal_b"} <= set(numbers.columns)
    frame["colour"] = frame.pop("signal_b")  # a 3-class target: text, shown as a column
    three = plan_scope(frame, "colour", "classification", seconds=0.0, complete_up_to=None)
    assert "amount" in three.columns


def test_time_model_grows_with_what_is_drawn() -> None:
    numbers = ["number"] * 20
    full = estimate_cpu_s(numbers, 10_000, pairwise=True)
    assert estimate_cpu_s(numbers, 10_000, pairwise=False) < full
    assert estimate_cpu_s(numbers, 10_000, pairwise=True, histograms=HISTOGRAMS_AUTO) < full
    assert estimate_cpu_s(numbers, 10_000, pairwise=True, number_target=True) > full
    assert estimate_cpu_s(["other"] * 20, 10_000, pairwise=True) > 0


# -- the speed-ups -------------------------------------------------------------------------------


def test_speed_patch_fits_the_pinned_sweetviz() -> None:
    # Fails when Sweetviz changes a function the patches replace or rely on (name, parameters
    # or code): then re-check report_speed against the new code before updating PATCHED/USED.
    report_speed.check_sweetviz()
    import sweetviz.series_analyzer_numeric as numeric
    from sweetviz.graph import Graph

    for name in ("_get_extra_padding_for_text", "set_style", "apply_pixel_padding"):
        assert callable(getattr(Graph, name))
    assert "for num_bins in [0, 5, 15, 30]:" in _source(numeric.analyze)
    assert "if new_graph:" in _source(numeric.analyze)


def _source(function: object) -> str:
    import inspect

    return inspect.getsource(function)  # type: ignore[arg-type]


def test_speed_patch_draws_the_same_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib
    import tqdm.std

    matplotlib.use("Agg")
    import sweetviz as sv

    # Sweetviz's progress bars start tqdm's monitor thread, which would stop the later tests
    # here from forking (training.outputs.report forks only while no other thread runs).
    monkeypatch.setattr(tqdm.std.tqdm, "monitor_interval", 0)

    frame = _wide(rows=120, columns=2)
    frame["big"] = frame["noise_0"] * 1e9 + 12_345_678.9  # long tick labels
    frame["label"] = frame["label"] == "yes"
    assert not report_speed.applied()
    before = _graphs(sv.analyze(frame, target_feat="label", pairwise_analysis="off"))
    try:
        report_speed.apply()
        after = _graphs(sv.analyze(frame, target_feat="label", pairwise_analysis="off"))
        report_speed.apply(HISTOGRAMS_AUTO)
        fewer = _graphs(sv.analyze(frame, target_feat="label", pairwise_analysis="off"))
    finally:
        report_speed.undo()
    assert before.keys() == after.keys() and len(before) >= 15
    for key, png in before.items():
        assert np.array_equal(_pixels(png), _pixels(after[key])), key
    # "Auto" only: each number column keeps its summary and its first detail histogram.
    assert set(fewer) == {k for k in before if k[1] in ("mini", 0)}
    for key, png in fewer.items():
        assert np.array_equal(_pixels(png), _pixels(before[key])), key


def _graphs(report: object) -> dict[tuple[str, object], bytes]:
    features = dict(report._features)  # type: ignore[attr-defined]
    features["(target)"] = report._target  # type: ignore[attr-defined]
    found: dict[tuple[str, object], bytes] = {}
    for name, feature in features.items():
        found[(name, "mini")] = feature["minigraph"].graph_base64
        for index, graph in enumerate(feature.get("detail_graphs", [])):
            found[(name, index)] = graph.graph_base64
    return found


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(png))))


@pytest.mark.parametrize("threads", [False, True], ids=["forked", "fresh-interpreter"])
def test_report_process_runs_the_speed_patch(tmp_path: Path, threads: bool) -> None:
    # Another thread running: no fork, a fresh interpreter instead; both patch Sweetviz.
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    if threads:
        other.start()
    try:
        # Forked: said outright, since threads other tests left in this process would
        # otherwise rule the fork out; with the extra thread, the report decides for itself.
        fork = None if threads else True
        frame = _frame(load_iris)
        job = start_report(frame, "label", "classification", tmp_path / "r.html", fork=fork)
    finally:
        stop.set()
    assert job.forked is not threads
    assert job._process is not None
    assert job._process.wait(WAIT_S) == 0
    log = (tmp_path / "r.log").read_text()
    assert "Sweetviz speed-ups on" in log, log[-2000:]
    outcome = job.wait(1)
    assert outcome.path is not None, outcome.note
    assert _leftovers(tmp_path) == [] and not (tmp_path / "r.log").exists()


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Run `body` in a fresh interpreter, as a job would run start_report."""
    prelude = """\
        import os, sys, time
        from pathlib import Path
        from sklearn.datasets import load_iris
        from training.outputs.report import start_report
        frame = load_iris(as_frame=True).frame.rename(columns={"target": "label"})
        out = Path(sys.argv[1])
    """
    code = textwrap.dedent(prelude) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "r.html")],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        cwd=ROOT,
        check=True,
    )


def test_forked_child_writes_nothing_to_the_jobs_output(tmp_path: Path) -> None:
    # Buffered output of the job's must not be written again by the child, nor the child's
    # progress bars and errors reach the job's stdout or stderr.
    done = _script(
        tmp_path,
        """
        print("before", end="")  # buffered: stdout is a pipe
        sys.stderr.write("job's own stderr")
        job = start_report(frame, "no_such_column", "classification", out)
        assert job.forked
        outcome = job.wait(170)
        print(" after")
        print(outcome.note, file=sys.stderr)
        """,
    )
    assert done.stdout == "before after\n"
    assert done.stderr.startswith("job's own stderr") and "Traceback" not in done.stderr
    assert "not in the data" in done.stderr  # said as the job's note, from the child's log


def test_forked_child_dies_with_the_job(tmp_path: Path) -> None:
    done = _script(
        tmp_path,
        """
        job = start_report(frame, "label", "classification", out)
        assert job.forked
        print(job._process.pid, flush=True)
        os._exit(0)  # the job dies without cleaning up
        """,
    )
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
