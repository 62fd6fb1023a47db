"""The child process that builds the Sweetviz EDA report; started by `training.report`.

    python -m training.report_worker IN.pkl OUT.html TARGET TASK [POSITIVE_CLASS]

IN.pkl is a pickled DataFrame written by `training.report` (this same interpreter) just before.

Exit status 0 when OUT.html was written. On failure the last stderr line is
`REPORT-ERROR: <reason for a person>` and the status is 2.

The process lowers its own priority and asks the kernel to kill it when its parent dies, both
before importing anything heavy. It does this itself rather than in a `preexec_fn`, because
`preexec_fn` is unsafe in a parent that runs threads (the chart renderer's, FLAML's).
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
# Pairwise associations cost ~40% more time at 31 columns, and grow with columns squared.
PAIRWISE_MAX_COLUMNS = 30


def _detach_from_cpu_and_parent() -> None:
    with contextlib.suppress(OSError):
        os.nice(NICENESS)  # the model search in the parent keeps the cores
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # best effort: the parent still kills us on timeout and cancel
    # The parent may have died before prctl took effect: then nobody wants the report.
    expected = os.environ.get(PARENT_PID_ENV)
    if expected and os.getppid() != int(expected):
        sys.exit(3)


_detach_from_cpu_and_parent()

import logging  # noqa: E402  (after the priority drop, before the heavy imports)
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402

from training.report import TargetPlan, plan_target  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        return _fail("usage: python -m training.report_worker IN.pkl OUT.html TARGET TASK")
    in_path, out_path, target, task = Path(argv[0]), Path(argv[1]), argv[2], argv[3]
    positive = argv[4] if len(argv) == 5 else None
    try:
        frame = pd.read_pickle(in_path)  # safe: our parent wrote it a moment ago
        in_path.unlink(missing_ok=True)  # the parent may die without cleaning up: do it now
        build_report(frame, target, task, out_path, positive)
    except ReportError as exc:
        return _fail(str(exc))
    except Exception as exc:
        logging.getLogger(__name__).exception("the EDA report failed")
        return _fail(f"{type(exc).__name__}: {str(exc).strip()[:300]}")
    return 0


class ReportError(Exception):
    """A failure with a message fit for a person."""


def build_report(
    frame: pd.DataFrame, target: str, task: str, out_path: Path, positive: str | None = None
) -> None:
    if target not in frame.columns:
        raise ReportError(f"the target column '{target}' is not in the data")
    plan = plan_target(frame[target], task, positive)
    frame = frame.loc[plan.keep_rows].copy()
    frame[target] = plan.values
    if frame.empty:
        raise ReportError(f"no rows have a value in the target column '{target}'")
    started = time.perf_counter()
    report = _analyze(frame, target, plan)
    partial = out_path.with_name(out_path.name + ".partial")
    # A killed child must not leave a half-written report behind under the real name.
    report.show_html(str(partial), open_browser=False, layout="vertical")
    os.replace(partial, out_path)
    print(f"report written in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _analyze(frame: pd.DataFrame, target: str, plan: TargetPlan) -> Any:
    _quiet_matplotlib()
    import sweetviz as sv

    # Pairwise associations grow with the square of the column count: skip them when wide.
    pairwise = "auto" if frame.shape[1] <= PAIRWISE_MAX_COLUMNS else "off"
    source = (frame, plan.title)
    if plan.use_as_target:
        return sv.analyze(source, target_feat=target, pairwise_analysis=pairwise)
    return sv.analyze(source, pairwise_analysis=pairwise)


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
