"""The child process that builds the Sweetviz EDA report; started by `training.outputs.report`.

It starts in one of two ways, and does the same in both:

* forked from the job (`run_forked`), when the job runs no other thread: no interpreter to start
  and nothing to import again (pandas is there; sweetviz and matplotlib too when the job or the
  warm worker imported them before the fork);
* otherwise as
  `python -m training.outputs.report_worker IN.pkl OUT.html TARGET TASK PAIRWISE BINS [POS]`:
  IN.pkl a pickled DataFrame written by `training.outputs.report` (this same interpreter) just
  before, PAIRWISE `on` or `off`, BINS the detail histograms of number columns (`0,5,15,30`:
  "Auto" and three bin counts, Sweetviz's own; `0`: "Auto" only), POS the positive class.

Exit status 0 when OUT.html was written. On failure the last stderr line is
`REPORT-ERROR: <reason for a person>` and the status is 2; 3 when the job was gone already.

The process lowers its own priority and asks the kernel to kill it when the job dies, both before
anything heavy. It does this itself rather than in a `preexec_fn`, because `preexec_fn` is unsafe
in a parent that runs threads (the chart renderer's, FLAML's). Importing this module does neither:
only running it as `__main__` or calling `run_forked` does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

NICENESS = 10
PR_SET_PDEATHSIG = 1
ERROR_PREFIX = "REPORT-ERROR: "
PARENT_PID_ENV = "AUTOML_REPORT_PARENT_PID"
ORPHANED = 3  # the exit status when the job died before the child could ask to die with it


def detach_from_cpu_and_parent(parent_pid: int | None) -> bool:
    """Lower this process's priority and have the kernel kill it when its parent (the thread
    that started it) ends. False when the parent `parent_pid` is gone already."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)  # the model search in the parent keeps the cores
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # best effort: the parent still kills us on timeout and cancel
    # The parent may have died before prctl took effect: then nobody wants the report.
    return parent_pid is None or os.getppid() == parent_pid


if __name__ == "__main__":  # before the heavy imports below
    _expected = os.environ.get(PARENT_PID_ENV)
    if not detach_from_cpu_and_parent(int(_expected) if _expected else None):
        sys.exit(ORPHANED)

import dataclasses  # noqa: E402
import gc  # noqa: E402
import html  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, NoReturn  # noqa: E402

import pandas as pd  # noqa: E402

from common.files import replacing  # noqa: E402
from training.outputs import report_speed  # noqa: E402
from training.outputs.report import TargetPlan, plan_target  # noqa: E402

USAGE = (
    "usage: python -m training.outputs.report_worker IN.pkl OUT.html TARGET TASK on|off BINS [POS]"
)


def main(argv: list[str]) -> int:
    if len(argv) not in (6, 7) or argv[4] not in ("on", "off"):
        return _fail(USAGE)
    in_path, out_path, target, task = Path(argv[0]), Path(argv[1]), argv[2], argv[3]
    pairwise = argv[4] == "on"
    try:
        histograms = tuple(int(bins) for bins in argv[5].split(","))
    except ValueError:
        return _fail(USAGE)
    positive = argv[6] if len(argv) == 7 else None
    try:
        frame = pd.read_pickle(in_path)  # safe: our parent wrote it a moment ago
        in_path.unlink(missing_ok=True)  # the parent may die without cleaning up: do it now
    except Exception as exc:
        return _fail(f"{type(exc).__name__}: {str(exc).strip()[:300]}")
    return make_report(
        frame, target, task, out_path, positive, pairwise=pairwise, histograms=histograms
    )


def run_forked(
    frame: pd.DataFrame,
    target: str,
    task: str,
    out_path: Path,
    positive: str | None,
    *,
    pairwise: bool,
    histograms: tuple[int, ...],
    log_path: Path,
    parent_pid: int,
) -> NoReturn:
    """The body of a child forked from the job: make the report, then `os._exit`. Never returns,
    never runs the job's code (its signal handlers, atexit functions, buffered files)."""
    code = 2
    try:
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGALRM):
            signal.signal(signum, signal.SIG_DFL)  # not the job's interrupt handlers
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()  # its own process group, which the parent kills whole
        if not detach_from_cpu_and_parent(parent_pid):
            os._exit(ORPHANED)
        gc.freeze()  # the job's objects are never collected (and flushed, closed) here
        _write_streams_to(log_path)
        logging.getLogger().handlers.clear()  # the job's handlers write to the job's files
    except BaseException:
        os._exit(code)  # before the streams were the log's: nothing may reach the job's output
    try:
        code = make_report(
            frame, target, task, out_path, positive, pairwise=pairwise, histograms=histograms
        )
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
            _fail("the report process failed unexpectedly")
    _exit(code)


def _exit(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _write_streams_to(log_path: Path) -> None:
    """stdin from /dev/null; stdout and stderr, the descriptors and Python's streams, to the log
    (Python's may be another file's: a test runner's capture, say). Every other descriptor the
    job had open is closed: the child holds none of its pipes, sockets or files."""
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((0, null), (1, log), (2, log)):
        os.dup2(target, fd)
    os.closerange(3, _max_fd())
    _job_streams.extend((sys.stdin, sys.stdout, sys.stderr))  # never closed here: kept alive
    sys.stdin = open(0, closefd=False)  # noqa: SIM115  (lives as long as the process)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


_job_streams: list[Any] = []


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 65_536


def make_report(
    frame: pd.DataFrame,
    target: str,
    task: str,
    out_path: Path,
    positive: str | None = None,
    *,
    pairwise: bool,
    histograms: tuple[int, ...],
) -> int:
    """Write the report at `out_path`: 0, or 2 after saying why on stderr."""
    if target not in frame.columns:
        return _fail(f"the target column '{target}' is not in the data")
    try:
        plan = plan_target(frame[target], task, positive)
        frame = frame.loc[plan.keep_rows].copy()
        frame[target] = plan.values
        if frame.empty:
            return _fail(f"no rows have a value in the target column '{target}'")
        frame, target, plan = escape_for_html(frame, target, plan)
        started = time.perf_counter()
        report = _analyze(frame, target, plan, pairwise, histograms)
        # A killed child must not leave a half-written report behind under the real name
        # (the parent removes what one left at `partial_path`).
        with replacing(out_path) as partial:
            report.show_html(str(partial), open_browser=False, layout="vertical")
        speed = "on" if report_speed.applied() else "off"
        print(
            f"report written in {time.perf_counter() - started:.1f} s "
            f"({time.process_time():.1f} s CPU in all; Sweetviz speed-ups {speed})"
        )
    except Exception as exc:
        logging.getLogger(__name__).exception("the EDA report failed")
        return _fail(f"{type(exc).__name__}: {str(exc).strip()[:300]}")
    return 0


def escape_for_html(
    frame: pd.DataFrame, target: str, plan: TargetPlan
) -> tuple[pd.DataFrame, str, TargetPlan]:
    """The frame with HTML-escaped column names and text cells, and the target and title to
    match. Sweetviz's templates escape nothing (Jinja without autoescape), and every name or
    value lands in text, never in an attribute or script: escaping them all is exactly right."""
    frame = frame.rename(columns=lambda name: html.escape(str(name)))
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            frame[name] = column.map(lambda v: html.escape(v) if isinstance(v, str) else v)
    title = html.escape(plan.title)
    return frame, html.escape(target), dataclasses.replace(plan, title=title)


def _analyze(
    frame: pd.DataFrame,
    target: str,
    plan: TargetPlan,
    pairwise: bool,
    histograms: tuple[int, ...],
) -> Any:
    _quiet_matplotlib()
    import sweetviz as sv

    try:
        report_speed.apply(histograms)
    except report_speed.SweetvizChanged as exc:  # slower, still right
        print(f"Sweetviz runs without its speed-ups: {exc}", file=sys.stderr)
    source = (frame, plan.title)
    option = "on" if pairwise else "off"
    if plan.use_as_target:
        return sv.analyze(source, target_feat=target, pairwise_analysis=option)
    return sv.analyze(source, pairwise_analysis=option)


def _quiet_matplotlib() -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display in a job; never try one
    # Without this, font discovery prints hundreds of "findfont" lines into the log.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _fail(reason: str) -> int:
    print(ERROR_PREFIX + reason.replace("\n", " "), file=sys.stderr, flush=True)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
