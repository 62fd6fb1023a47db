"""The Sweetviz EDA report, made in its own process while the model search runs.

Sweetviz is slow (seconds to minutes) and has failure modes of its own, so it never runs in
the job's process. `start_report` decides what the report covers (`plan_scope`), starts a child
process for it and returns at once; `ReportJob.wait` collects the result at the end of the run,
killing the child if it is late. Nothing here raises into the run: every failure becomes
`ReportOutcome.note`.

Tables up to `COMPLETE_LIMITS` always get a complete report (every row and column). When the
time model says it cannot be ready by the end of the budget, it is a follow-up
(`ReportScope.may_follow`): the job posts its results without it, waits for it at most
`ReportScope.follow_up_s` more (`ReportJob.finish_by`), then says where it is. Larger tables get
what fits: a sample of the rows and the columns most related to the target, and a note.

The child is forked from the job when the job runs no other thread (the usual case: the search
has not started yet), so it starts in milliseconds with pandas, sweetviz and matplotlib already
imported; otherwise it is a fresh `python -m training.outputs.report_worker` that reads a pickle.
Either way it is niced, dies with the job, and logs to a file next to the report.

Call `start_report` from a long-lived thread (the main one): the child asks the kernel to kill
it when the thread that started it ends (PR_SET_PDEATHSIG follows the thread, not the process).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from common.files import partial_path
from contract.jobs import REPORT_FOLLOW_UP_MAX_S

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class CompleteLimits:
    """Tables up to this size (rows; columns besides the target) always get a complete report,
    made after the results when it does not fit the budget."""

    rows: int = 10_000
    columns: int = 100


COMPLETE_LIMITS = CompleteLimits()
DEFAULT_MAX_ROWS = COMPLETE_LIMITS.rows  # larger tables: a random sample of this many rows
LOG_TAIL_LINES = 5
FINISH_POLL_S = 0.05
FAILURE_PREFIX = "The EDA report could not be made: "
ERROR_PREFIX = "REPORT-ERROR: "  # the worker's last stderr line on a failure it understood
PARENT_PID_ENV = "AUTOML_REPORT_PARENT_PID"

# -- the time model ------------------------------------------------------------------------------
# CPU seconds the report process needs, fitted to runs of the patched Sweetviz
# (training/outputs/report_speed.py) on 2 busy cores, 150-10,000 rows, 5-100 columns:
# `estimate_cpu_s`.
START_CPU_S = 0.3  # the first graph (fonts), the summary, the legend, writing the HTML
IMPORT_CPU_S = 1.5  # sweetviz and matplotlib, in a child forked before they were imported
SPAWN_CPU_S = 1.0  # a fresh interpreter and pandas, in a child that is not forked
# Per number column: all four detail histograms, or "Auto" only; 1.6 times that with a number
# target (each graph plots the target's mean per bin on a second axis).
NUMBER_CPU_S = {"all": 0.30, "auto": 0.105}
NUMBER_TARGET_FACTOR = 1.6
OTHER_CPU_S = 0.11  # per category, yes/no or text column
ROW_CPU_S = 1e-6  # per row and column
PAIRWISE_CPU_S = 0.5  # pairwise associations: their graph ...
NUMBER_PAIR_CPU_S = 1.5e-3  # ... and per pair of number columns (a correlation)
OTHER_PAIR_CPU_S = 1e-3  # ... and per other pair (Theil's U, correlation ratio) ...
OTHER_PAIR_ROW_CPU_S = 7e-7  # ... and row
PAIRWISE_MAX_COLUMNS = 30  # the associations graph is unreadable beyond this anyway
# The report process is niced below the search. Measured on 2 busy cores it got 40-45 % of one
# core over its life (the search, the charts, then the wait); the plan counts on less.
CPU_SHARE = 0.3
EXTRA_WAIT_SHARE = 0.10  # the job waits for a late report at most this share of its budget
EXTRA_WAIT_MAX_S = 60.0
# What a follow-up report gets of a core once the search is over: it is niced, and a machine
# shared with other jobs gave it 40-50 % (measured on 2 busy cores).
FOLLOW_UP_CPU_SHARE = 0.5
# All histograms and the pairwise associations only when the follow-up is still expected this
# soon after the results; otherwise "Auto" histograms, which cost a third: the report a person
# gets soon is worth more than its extra graphs.
FOLLOW_UP_TARGET_S = 5.0
# The job waits for a follow-up this many times what the time model expects, within bounds.
FOLLOW_UP_SAFETY = 2.0
FOLLOW_UP_MIN_S = 30.0
MIN_COLUMNS = 5  # the report shows at least the target and this many columns, whatever it costs
RANK_SAMPLE_ROWS = 2_000
RANK_GROUPS = 16

HISTOGRAMS_ALL = (0, 5, 15, 30)  # Sweetviz's: "Auto", then 5, 15 and 30 bins
HISTOGRAMS_AUTO = (0,)


@dataclass
class ReportOutcome:
    path: Path | None
    note: str | None
    seconds: float
    rows_sampled: int


@dataclass(frozen=True)
class ReportScope:
    """What the report covers: a sample of the rows, and the columns besides the target."""

    rows: int
    total_rows: int
    columns: tuple[str, ...]  # in the table's order
    total_columns: int
    pairwise: bool
    histograms: tuple[int, ...]  # the bin counts of each number column's detail histograms
    cpu_s: float  # what the time model expects it to cost
    cpu_available_s: float  # and what it expects the report to get
    may_follow: bool = False  # complete however late: finished after the results if need be

    @property
    def follow_up_s(self) -> float:
        """How long past the results the job waits for this report (when `may_follow`)."""
        expected = self.cpu_s / FOLLOW_UP_CPU_SHARE * FOLLOW_UP_SAFETY
        return min(float(REPORT_FOLLOW_UP_MAX_S), max(FOLLOW_UP_MIN_S, expected))

    @property
    def complete(self) -> bool:
        return len(self.columns) == self.total_columns and self.rows == self.total_rows

    @property
    def fits(self) -> bool:
        return self.cpu_s <= self.cpu_available_s

    @property
    def note(self) -> str | None:
        """What a person should know about the sample, or None when the report is complete."""
        parts = []
        if len(self.columns) < self.total_columns:
            parts.append(
                f"{len(self.columns):,} of {self.total_columns:,} columns "
                "(those most related to the target)"
            )
        if self.rows < self.total_rows:
            parts.append(f"a random sample of {self.rows:,} of the {self.total_rows:,} rows")
        if not parts:
            return None
        return f"The EDA report covers {' and '.join(parts)}."


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


# -- what the report covers ----------------------------------------------------------------------


def extra_wait_s(budget_s: float) -> float:
    """How long past its deadline a job waits for a late report."""
    return min(EXTRA_WAIT_MAX_S, EXTRA_WAIT_SHARE * budget_s)


def cpu_available_s(seconds: float) -> float:
    """CPU seconds the niced report process can count on in `seconds` of wall time."""
    return CPU_SHARE * max(0.0, seconds)


def estimate_cpu_s(
    kinds: Sequence[str],
    rows: int,
    *,
    pairwise: bool,
    histograms: tuple[int, ...] = HISTOGRAMS_ALL,
    number_target: bool = False,
    start_s: float = 0.0,
) -> float:
    """The time model: CPU seconds for a report on `rows` rows of columns of these `kinds`
    ("number" or "other"), the target included, plus `start_s` for imports."""
    per_number = NUMBER_CPU_S["all" if len(histograms) > 1 else "auto"]
    per_number *= NUMBER_TARGET_FACTOR if number_target else 1.0
    columns = len(kinds)
    numbers = sum(kind == "number" for kind in kinds)
    cost = START_CPU_S + start_s + numbers * per_number + (columns - numbers) * OTHER_CPU_S
    cost += ROW_CPU_S * rows * columns
    if pairwise:
        number_pairs = numbers * (numbers - 1) / 2
        other_pairs = columns * (columns - 1) / 2 - number_pairs
        cost += PAIRWISE_CPU_S + NUMBER_PAIR_CPU_S * number_pairs
        cost += other_pairs * (OTHER_PAIR_CPU_S + OTHER_PAIR_ROW_CPU_S * rows)
    return cost


def plan_scope(
    data: pd.DataFrame,
    target: str,
    task: str,
    *,
    seconds: float | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_columns: int | None = None,
    start_s: float = 0.0,
    seed: int = 0,
    complete_up_to: CompleteLimits | None = COMPLETE_LIMITS,
) -> ReportScope:
    """The most complete report the time model expects to finish in `seconds` of wall time
    (None: no limit), `start_s` of CPU going to imports first. Gives up, in this order:
    histograms with 5, 15 and 30 bins; pairwise associations; columns (keeping those most
    related to the target, at least `MIN_COLUMNS`). A table within `complete_up_to` keeps
    every row and column instead: a follow-up (`may_follow`), with the extras it can afford."""
    features = [str(c) for c in data.columns if str(c) != target]
    rows = min(len(data), max_rows)
    limit = math.inf if seconds is None else cpu_available_s(seconds)
    whole = (
        complete_up_to is not None
        and len(data) <= min(complete_up_to.rows, max_rows)
        and len(features) <= complete_up_to.columns
        and (max_columns is None or len(features) <= max_columns)
    )
    head = data.iloc[: min(len(data), RANK_SAMPLE_ROWS)]
    kinds = {str(name): _kind(head[name]) for name in data.columns}
    ranked: list[str] | None = None
    candidates = features
    if max_columns is not None and len(features) > max_columns:
        ranked = _most_related(data, target, task, seed)
        candidates = ranked[:max_columns]

    def cost(columns: Sequence[str], pairwise: bool, histograms: tuple[int, ...]) -> float:
        chosen = [kinds[c] for c in columns] + ([kinds[target]] if target in kinds else [])
        return estimate_cpu_s(
            chosen,
            rows,
            pairwise=pairwise,
            histograms=histograms,
            number_target=task == "regression",
            start_s=start_s,
        )

    def scope(columns: Sequence[str], pairwise: bool, histograms: tuple[int, ...]) -> ReportScope:
        keep = set(columns)
        ordered = tuple(c for c in features if c in keep)
        return ReportScope(
            rows=rows,
            total_rows=len(data),
            columns=ordered,
            total_columns=len(features),
            pairwise=pairwise,
            histograms=histograms,
            cpu_s=round(cost(ordered, pairwise, histograms), 2),
            cpu_available_s=round(limit, 2),
            may_follow=whole,
        )

    extras = [
        (pairwise, histograms)
        for pairwise, histograms in (
            (True, HISTOGRAMS_ALL),
            (True, HISTOGRAMS_AUTO),
            (False, HISTOGRAMS_ALL),
            (False, HISTOGRAMS_AUTO),
        )
        if not (pairwise and len(candidates) + 1 > PAIRWISE_MAX_COLUMNS)
    ]
    for pairwise, histograms in extras:
        if cost(candidates, pairwise, histograms) <= limit:
            return scope(candidates, pairwise, histograms)
    if whole:
        affordable = limit + FOLLOW_UP_CPU_SHARE * FOLLOW_UP_TARGET_S
        for pairwise, histograms in extras:
            if cost(candidates, pairwise, histograms) <= affordable:
                return scope(candidates, pairwise, histograms)
        return scope(candidates, False, HISTOGRAMS_AUTO)
    if ranked is None:
        ranked = _most_related(data, target, task, seed)
    allowed = set(candidates)
    chosen: list[str] = []
    for name in (c for c in ranked if c in allowed):
        if len(chosen) >= MIN_COLUMNS and cost([*chosen, name], False, HISTOGRAMS_AUTO) > limit:
            break
        chosen.append(name)
    return scope(chosen, False, HISTOGRAMS_AUTO)


def _kind(values: pd.Series) -> str:
    """What Sweetviz will make of a column, as far as its cost goes: a number column draws
    five graphs, the others two or none."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "other"
    return "number" if values.nunique() > 10 else "other"  # Sweetviz: 10 values are categories


def _most_related(data: pd.DataFrame, target: str, task: str, seed: int) -> list[str]:
    """The columns besides the target, most related to it first: by the share of the target's
    variance (of each class's indicator, for classes) explained by the column's groups, its
    quantile bins for numbers and its most frequent values for the rest (η², correlation
    ratio), on a sample of rows. Cheap: one pass over a few thousand rows per column."""
    import numpy as np

    features = [c for c in data.columns if str(c) != target]
    if target not in data.columns or not features:
        return [str(c) for c in features]
    sample = (
        data if len(data) <= RANK_SAMPLE_ROWS else data.sample(RANK_SAMPLE_ROWS, random_state=seed)
    )
    y = sample[target]
    known = y.notna().to_numpy()
    if task == "regression":
        numbers = pd.to_numeric(y, errors="coerce")
        known = known & numbers.notna().to_numpy()
        values = numbers.to_numpy(float)[known][:, None]
    else:
        codes = pd.factorize(y.astype(str))[0][known]
        values = np.eye(max(1, int(codes.max(initial=0)) + 1))[codes]
    if len(values) < 2:
        return [str(c) for c in features]
    centred = values - values.mean(axis=0)
    total = float((centred**2).sum()) or 1.0
    scores = {}
    for name in features:
        groups = _groups(sample[name])[known]
        count = np.bincount(groups).astype(float)
        sums = np.stack(
            [np.bincount(groups, weights=centred[:, k]) for k in range(values.shape[1])]
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            between = np.nansum(sums**2 / count)
        scores[str(name)] = float(between) / total
    order = sorted(range(len(features)), key=lambda i: -scores[str(features[i])])
    return [str(features[i]) for i in order]


def _groups(values: pd.Series) -> np.ndarray:
    import numpy as np

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").replace([np.inf, -np.inf], np.nan)
        if numbers.nunique() > RANK_GROUPS:
            ranks = numbers.rank(method="first", pct=True)
            codes = np.floor(ranks.to_numpy() * RANK_GROUPS).clip(0, RANK_GROUPS - 1)
            return np.where(np.isnan(codes), RANK_GROUPS, codes).astype(np.int64)
    text = values.astype("string")
    top = text.value_counts().index[:RANK_GROUPS]
    text = text.where(text.isin(top) | text.isna(), "(other)")
    return np.asarray(pd.factorize(text.fillna("(missing)"))[0], dtype=np.int64)


# -- the child process ---------------------------------------------------------------------------


class ReportJob:
    """A report being made in a child process."""

    def __init__(
        self,
        *,
        out_path: Path,
        rows_sampled: int,
        process: subprocess.Popen[bytes] | _Forked | None = None,
        input_path: Path | None = None,
        log_path: Path | None = None,
        note: str | None = None,
        failure: str | None = None,
        scope: ReportScope | None = None,
        seconds: float | None = None,
    ) -> None:
        self._out_path = out_path
        self._rows = rows_sampled
        self._process = process
        self._input = input_path
        self._log = log_path
        self._note = note  # said even on success (e.g. the target could not be used as one)
        self._started = time.monotonic()
        self.scope = scope
        # When the job stops waiting for it: the time it was given (training.run passes it).
        self.deadline = self._started + seconds if seconds is not None else None
        self._outcome: ReportOutcome | None = None
        if failure is not None:
            self._outcome = self._failed(failure)

    @property
    def forked(self) -> bool:
        return isinstance(self._process, _Forked)

    @property
    def may_follow(self) -> bool:
        """Whether the job should finish this report after its results rather than cut it."""
        return self.scope is not None and self.scope.may_follow and self._outcome is None

    def finish_by(
        self, until: float, *, give_up: Callable[[], bool] | None = None
    ) -> ReportOutcome | None:
        """The outcome once the child ends, waiting until `until` (monotonic) at most, or
        until `give_up()` says to stop waiting; None while it is still being made. Never kills:
        `wait` or `cancel` does that."""
        if self._outcome is not None:
            return self._outcome
        assert self._process is not None
        while (code := self._process.poll()) is None:
            left = until - time.monotonic()
            if left <= 0 or (give_up is not None and give_up()):
                return None
            time.sleep(min(FINISH_POLL_S, left))
        return self._finish(self._collect(code))

    def late_for(self, until: float) -> bool:
        """Whether the time model expects the child to be still at work at `until` (monotonic),
        from the CPU time it has used, counting on a full core's share from now on."""
        if self.scope is None or self._process is None:
            return False
        used = _cpu_seconds(self._process.pid)
        if used is None:
            return False
        left_s = max(0.0, self.scope.cpu_s - used) / FOLLOW_UP_CPU_SHARE
        return time.monotonic() + left_s > until

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
        partial_path(self._out_path).unlink(missing_ok=True)  # a killed child's half report
        return outcome

    def _kill(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: take any helpers too
        except (ProcessLookupError, PermissionError):
            process.kill()  # not in its own session yet
        process.wait()  # reap it: no zombie

    def _elapsed(self) -> float:
        return round(time.monotonic() - self._started, 3)


def _cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system) process `pid` has used, from /proc; None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, from field 3
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class _Forked:
    """The part of `subprocess.Popen` that `ReportJob` uses, for a child made by `os.fork`."""

    POLL_S = 0.02

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else (SIGCHLD ignored): status unknown
                self.returncode = 0
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            left = math.inf if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(f"report process {self.pid}", timeout or 0.0)
            time.sleep(min(self.POLL_S, left))
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def start_report(
    data: pd.DataFrame,
    target: str,
    task: str,
    out_path: Path,
    *,
    seconds: float | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_columns: int | None = None,
    seed: int = 0,
    positive_class: str | None = None,
    fork: bool | None = None,
    complete_up_to: CompleteLimits | None = COMPLETE_LIMITS,
) -> ReportJob:
    """Start making the report at `out_path`; returns at once and never raises.

    `seconds`: the wall time the report may take (the job stops waiting for it then: see
    `ReportJob.deadline`); what it covers is chosen to fit (`plan_scope`). `fork`: None forks
    the child from this process when that is safe, False always starts a fresh interpreter.
    """
    out_path = Path(out_path)
    rows = min(len(data), max_rows)
    try:
        fork = can_fork() if fork is None else fork
        plan = functools.partial(
            plan_scope,
            data,
            target,
            task,
            seconds=seconds,
            max_rows=max_rows,
            max_columns=max_columns,
            seed=seed,
            complete_up_to=complete_up_to,
        )
        scope, fork = _plan(plan, fork=fork)
        sample = _sample(data, target, scope, seed)
        rows = len(sample)
        note = _join(scope.note, _target_note(sample, target, task))
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except Exception as exc:
        return ReportJob(out_path=out_path, rows_sampled=rows, failure=_short(exc))
    log_path = out_path.with_suffix(".log")

    def job(**kwargs: Any) -> ReportJob:
        return ReportJob(
            out_path=out_path, rows_sampled=rows, note=note, scope=scope, seconds=seconds, **kwargs
        )

    try:
        if fork:
            process = _fork(
                sample,
                target,
                task,
                positive=positive_class,
                scope=scope,
                out_path=out_path,
                log_path=log_path,
            )
            return job(process=process, log_path=log_path)
        input_path = _write_input(sample, out_path)
    except Exception as exc:
        return job(failure=_short(exc))
    try:
        spawned = _spawn(
            input_path,
            out_path,
            target=target,
            task=task,
            positive=positive_class,
            pairwise=scope.pairwise,
            histograms=scope.histograms,
            log_path=log_path,
        )
    except Exception as exc:
        input_path.unlink(missing_ok=True)
        return job(failure=_short(exc))
    return job(process=spawned, input_path=input_path, log_path=log_path)


def _plan(plan: Callable[..., ReportScope], *, fork: bool) -> tuple[ReportScope, bool]:
    """The scope (`plan(start_s=...)`: `plan_scope` for this report), and whether to fork.
    A forked child imports sweetviz itself unless this process has, and this process imports
    it before the fork only when the report would not be complete otherwise: ~1.5 s of the
    search's time, against several seconds niced. A follow-up is complete either way: its child
    imports it."""
    imported = "sweetviz" in sys.modules
    if not fork:
        return plan(start_s=SPAWN_CPU_S + IMPORT_CPU_S), False
    scope = plan(start_s=0.0 if imported else IMPORT_CPU_S)
    if imported or scope.may_follow or (scope.complete and scope.fits) or not _import_sweetviz():
        return scope, True
    return plan(start_s=0.0), True


def can_fork() -> bool:
    """Whether the report's child may be forked from this process: Linux, and no thread but
    this one (the main one) runs Python. Threads started by native libraries are no obstacle
    when they are idle and never needed in the child: OpenBLAS's stop around a fork; OpenMP's
    (LightGBM's, from an earlier job in the same process) are never used by the report."""
    return (
        sys.platform.startswith("linux")
        and threading.current_thread() is threading.main_thread()
        and threading.active_count() == 1
    )


def _import_sweetviz() -> bool:
    """Import sweetviz (and matplotlib) here, before forking: nothing of theirs starts a thread
    or draws. False when it fails: the child tries again and says what failed."""
    try:
        import sweetviz  # noqa: F401
    except Exception:
        return False
    return True


def _sample(data: pd.DataFrame, target: str, scope: ReportScope, seed: int) -> pd.DataFrame:
    columns = [c for c in data.columns if str(c) in set(scope.columns) or str(c) == target]
    frame = data[columns] if len(columns) < data.shape[1] else data
    if len(frame) > scope.rows:
        frame = frame.sample(n=scope.rows, random_state=seed)
    return _as_text_where_mixed(frame)


def _target_note(sample: pd.DataFrame, target: str, task: str) -> str | None:
    if target not in sample.columns:
        return None  # the worker reports this as its failure
    return plan_target(sample[target], task).note


def _join(*notes: str | None) -> str | None:
    said = [note for note in notes if note]
    return " ".join(said) if said else None


def _fork(
    sample: pd.DataFrame,
    target: str,
    task: str,
    *,
    positive: str | None,
    scope: ReportScope,
    out_path: Path,
    log_path: Path,
) -> _Forked:
    from training.outputs import report_worker

    parent = os.getpid()
    for stream in (sys.stdout, sys.stderr):  # nothing buffered here may be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        report_worker.run_forked(
            sample,
            target,
            task,
            out_path,
            positive,
            pairwise=scope.pairwise,
            histograms=scope.histograms,
            log_path=log_path,
            parent_pid=parent,
        )
    return _Forked(pid)


def _write_input(sample: pd.DataFrame, out_path: Path) -> Path:
    # A pickle: the child is this same interpreter, reads the file at once and deletes it, and
    # every dtype survives without a Parquet library. mkstemp makes it readable by us alone.
    fd, name = tempfile.mkstemp(
        prefix=f".{out_path.stem}-input-", suffix=".pkl", dir=out_path.parent
    )
    os.close(fd)
    path = Path(name)
    try:
        sample.to_pickle(path)
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
    pairwise: bool,
    histograms: tuple[int, ...],
    log_path: Path,
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "training.outputs.report_worker", str(input_path), str(out_path)]
    args += [target, task, "on" if pairwise else "off", ",".join(map(str, histograms))]
    args += [positive] if positive is not None else []
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
    root = str(Path(__file__).resolve().parents[2])  # training/outputs/report.py
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
