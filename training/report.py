"""The Sweetviz EDA report, made in its own process while the model search runs.

Sweetviz is slow (seconds to minutes) and has failure modes of its own, so it never runs in
the job's process: `start_report` samples the data, hands it to `python -m
training.report_worker` through a pickle file and returns at once; `ReportJob.wait` collects
the result at the end of the run, killing the child if it is late. Nothing here raises into
the run: every failure becomes `ReportOutcome.note`.

Call `start_report` from a long-lived thread (the main one): the child asks the kernel to kill
it when the thread that started it ends (PR_SET_PDEATHSIG follows the thread, not the process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# Measured on 2 (busy) cores, 20 columns: 1,000 rows 6 s, 10,000 rows 7-8 s, 50,000 rows 11 s,
# 100,000 rows 16 s. Sweetviz's time is mostly per column (~0.3-0.5 s each), so the row cap
# only keeps the rows' share small.
DEFAULT_MAX_ROWS = 5_000
LOG_TAIL_LINES = 5
FAILURE_PREFIX = "The EDA report could not be made: "
ERROR_PREFIX = "REPORT-ERROR: "  # the worker's last stderr line on a failure it understood
PARENT_PID_ENV = "AUTOML_REPORT_PARENT_PID"


@dataclass
class ReportOutcome:
    path: Path | None
    note: str | None
    seconds: float
    rows_sampled: int


@dataclass
class TargetPlan:
    """How the target column is shown to Sweetviz, which only takes numeric or boolean targets."""

    values: pd.Series
    keep_rows: pd.Series  # rows with a usable target value
    use_as_target: bool
    title: str  # the report's dataset name: says what True or the column means
    note: str | None = None  # for a person, when the report cannot use the target as one


def plan_target(column: pd.Series, task: str, positive: str | None = None) -> TargetPlan:
    name = str(column.name)
    keep = column.notna()
    if task == "regression":
        numbers = pd.to_numeric(column, errors="coerce")
        return TargetPlan(numbers[numbers.notna()], numbers.notna(), True, f"Target: {name}")
    present = column[keep]
    classes = _sorted_classes(present)
    if len(classes) == 2:
        chosen = positive if positive in classes else classes[1]
        values = present.astype(str) == chosen
        return TargetPlan(values, keep, True, f"Target: {name} (True means {name} = {chosen})")
    note = (
        f"The EDA report shows '{name}' ({len(classes)} classes) as an ordinary column, "
        "not as its target: Sweetviz can only relate features to a numeric or yes/no target."
    )
    return TargetPlan(present.astype(str), keep, False, f"Data (target {name})", note)


def _sorted_classes(values: pd.Series) -> list[str]:
    # Sort the original values (so 2 < 10 for numbers), then compare as strings like the run does.
    unique = pd.unique(values)
    try:
        ordered = sorted(unique)
    except TypeError:
        ordered = sorted(unique, key=str)
    return [str(v) for v in ordered]


class ReportJob:
    """A report being made in a child process."""

    def __init__(
        self,
        *,
        out_path: Path,
        rows_sampled: int,
        process: subprocess.Popen[bytes] | None = None,
        input_path: Path | None = None,
        log_path: Path | None = None,
        note: str | None = None,
        failure: str | None = None,
    ) -> None:
        self._out_path = out_path
        self._rows = rows_sampled
        self._process = process
        self._input = input_path
        self._log = log_path
        self._note = note  # said even on success (e.g. the target could not be used as one)
        self._started = time.monotonic()
        self._outcome: ReportOutcome | None = None
        if failure is not None:
            self._outcome = self._failed(failure)

    def wait(self, timeout_s: float) -> ReportOutcome:
        """The outcome, waiting at most `timeout_s` more seconds; kills the child when late."""
        if self._outcome is not None:
            return self._outcome
        assert self._process is not None
        try:
            code = self._process.wait(timeout=max(0.0, timeout_s))
        except subprocess.TimeoutExpired:
            self._kill()
            waited = time.monotonic() - self._started
            return self._finish(self._failed(f"it took longer than {waited:.0f} s and was stopped"))
        return self._finish(self._collect(code))

    def cancel(self) -> None:
        """Stop the child (if still running) and clean up; `wait` then reports a cancellation."""
        if self._outcome is not None:
            return
        self._kill()
        self._finish(self._failed("it was cancelled"))

    def _collect(self, code: int) -> ReportOutcome:
        if code == 0 and self._out_path.is_file():
            if self._log is not None:
                self._log.unlink(missing_ok=True)  # progress bars only; nothing to keep
            return ReportOutcome(self._out_path, self._note, self._elapsed(), self._rows)
        return self._failed(self._reason(code))

    def _reason(self, code: int) -> str:
        lines = _tail(self._log, LOG_TAIL_LINES)
        for line in reversed(lines):
            if line.startswith(ERROR_PREFIX):
                return line[len(ERROR_PREFIX) :]
        if code < 0:
            return f"the report process was killed by signal {signal.Signals(-code).name}"
        last = lines[-1] if lines else "no output"
        return f"the report process ended with status {code} ({last[:300]})"

    def _failed(self, reason: str) -> ReportOutcome:
        where = f" (log: {self._log.name})" if self._log is not None and self._log.exists() else ""
        return ReportOutcome(None, FAILURE_PREFIX + reason + where, self._elapsed(), self._rows)

    def _finish(self, outcome: ReportOutcome) -> ReportOutcome:
        self._outcome = outcome
        if self._input is not None:
            self._input.unlink(missing_ok=True)
        self._out_path.with_name(self._out_path.name + ".partial").unlink(missing_ok=True)
        return outcome

    def _kill(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: take any helpers too
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait()  # reap it: no zombie

    def _elapsed(self) -> float:
        return round(time.monotonic() - self._started, 3)


def start_report(
    data: pd.DataFrame,
    target: str,
    task: str,
    out_path: Path,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = 0,
    positive_class: str | None = None,
) -> ReportJob:
    """Start making the report at `out_path`; returns at once and never raises."""
    out_path = Path(out_path)
    sample = data
    try:
        sample = _sample(data, max_rows, seed)
        note = _target_note(sample, target, task)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        input_path = _write_input(sample, out_path)
    except Exception as exc:
        return ReportJob(out_path=out_path, rows_sampled=len(sample), failure=_short(exc))
    log_path = out_path.with_suffix(".log")
    try:
        process = _spawn(
            input_path,
            out_path,
            target=target,
            task=task,
            positive=positive_class,
            log_path=log_path,
        )
    except Exception as exc:
        input_path.unlink(missing_ok=True)
        return ReportJob(out_path=out_path, rows_sampled=len(sample), failure=_short(exc))
    return ReportJob(
        out_path=out_path,
        rows_sampled=len(sample),
        process=process,
        input_path=input_path,
        log_path=log_path,
        note=_sampling_note(note, len(sample), len(data)),
    )


def _sample(data: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    if len(data) <= max_rows:
        return data
    return data.sample(n=max_rows, random_state=seed)


def _target_note(sample: pd.DataFrame, target: str, task: str) -> str | None:
    if target not in sample.columns:
        return None  # the worker reports this as its failure
    return plan_target(sample[target], task).note


def _sampling_note(note: str | None, rows: int, total: int) -> str | None:
    if rows >= total:
        return note
    sampled = f"The EDA report describes a random sample of {rows:,} of the {total:,} rows."
    return f"{sampled} {note}" if note else sampled


def _write_input(sample: pd.DataFrame, out_path: Path) -> Path:
    # A pickle: the child is this same interpreter, reads the file at once and deletes it, and
    # every dtype survives without a Parquet library. mkstemp makes it readable by us alone.
    fd, name = tempfile.mkstemp(
        prefix=f".{out_path.stem}-input-", suffix=".pkl", dir=out_path.parent
    )
    os.close(fd)
    path = Path(name)
    try:
        _as_text_where_mixed(sample).to_pickle(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _as_text_where_mixed(frame: pd.DataFrame) -> pd.DataFrame:
    # Sweetviz refuses object columns that mix types (numbers and text); as text they describe well.
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(lambda v: v if pd.isna(v) else str(v))
    return frame


def _spawn(
    input_path: Path,
    out_path: Path,
    *,
    target: str,
    task: str,
    positive: str | None,
    log_path: Path,
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "training.report_worker", str(input_path), str(out_path)]
    args += [target, task] + ([positive] if positive is not None else [])
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",  # before matplotlib is imported anywhere in the child
        PARENT_PID_ENV: str(os.getpid()),
        "PYTHONPATH": _pythonpath(),
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=out_path.parent,
            start_new_session=True,  # a process group we can kill whole
        )


def _pythonpath() -> str:
    # The child must import this package even when the job was started from another folder.
    root = str(Path(__file__).resolve().parent.parent)
    rest = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{rest}" if rest else root


def _tail(path: Path | None, count: int) -> list[str]:
    if path is None or not path.is_file():
        return []
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 16_384))
        text = handle.read().decode("utf-8", "replace")
    # tqdm redraws with carriage returns: keep the last state of each line.
    lines = [line.split("\r")[-1].strip() for line in text.splitlines()]
    return [line for line in lines if line][-count:]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
