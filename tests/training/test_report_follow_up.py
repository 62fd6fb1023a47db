"""The EDA report of a table up to `COMPLETE_LIMITS` is always complete: made within the budget
when it fits, otherwise finished after the results (a `report` event follows the `finished`
one). Larger tables get a sample of rows and columns, and a note saying so."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract.jobs import (
    REPORT_FOLLOW_UP_MAX_S,
    AnyEvent,
    FinishedEvent,
    JobResult,
    ReportEvent,
    parse_event,
)
from contract.run_folder import EVENTS_FILE, RESULT_FILE
from tests.builders import make_spec
from training.outputs.report import COMPLETE_LIMITS, plan_scope
from training.outputs.terminal import ResultsPrinter


def wide_numbers(rows: int, columns: int, seed: int = 0) -> pd.DataFrame:
    """`columns` number columns f0, f1, ... and a yes/no `label` that two of them explain."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, columns))
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(columns)])
    frame["label"] = np.where(values[:, 0] + values[:, 1] > 0, "yes", "no")
    return frame


# ---- what the report covers --------------------------------------------------------------------


def test_a_table_at_the_limits_gets_every_row_and_column_at_any_budget_and_no_larger() -> None:
    frame = wide_numbers(COMPLETE_LIMITS.rows, COMPLETE_LIMITS.columns)
    for seconds in (4.0, 10.0, 30.0):
        scope = plan_scope(frame, "label", "classification", seconds=seconds)
        assert scope.complete and scope.may_follow and scope.note is None, seconds
        assert len(scope.columns) == COMPLETE_LIMITS.columns
    assert not plan_scope(frame, "label", "classification", seconds=10.0).fits  # it follows
    # The follow-up is given time by the same model, within the bound the launchers allow.
    assert 0 < scope.follow_up_s <= REPORT_FOLLOW_UP_MAX_S
    # One row or one column more: a sample of the rows, or of the columns, and a note.
    tall = plan_scope(
        wide_numbers(COMPLETE_LIMITS.rows + 1, 5), "label", "classification", seconds=10.0
    )
    assert tall.rows == COMPLETE_LIMITS.rows and not tall.may_follow
    assert tall.note is not None and "random sample of 10,000 of the 10,001 rows" in tall.note
    wide = plan_scope(
        wide_numbers(300, COMPLETE_LIMITS.columns + 1), "label", "classification", seconds=10.0
    )
    assert len(wide.columns) < wide.total_columns and not wide.may_follow
    assert wide.note is not None and "(those most related to the target)" in wide.note


def test_a_report_that_fits_the_budget_is_made_within_it_with_what_fits() -> None:
    frame = wide_numbers(300, 20)
    roomy = plan_scope(frame, "label", "classification", seconds=30.0)
    assert roomy.complete and roomy.fits and roomy.pairwise and len(roomy.histograms) == 4
    assert roomy.may_follow  # a little late, it would still not be cut
    # Less time: fewer extras, still every column, still within the budget.
    short = plan_scope(frame, "label", "classification", seconds=10.0)
    assert short.complete and short.fits and short.histograms == (0,)


# ---- a job whose report follows its results ----------------------------------------------------


@pytest.mark.slow
def test_a_report_that_cannot_fit_follows_the_results(tmp_path: Path) -> None:
    from training.run import RunOptions, run_job

    data = tmp_path / "wide.csv"
    frame = wide_numbers(2_000, 60)
    frame.to_csv(data, index=False)
    run_dir = tmp_path / "run"
    spec = make_spec(
        dataset_uri=str(data),
        file_name="wide.csv",
        target="label",
        time_budget_s=5,
        output_uri=str(run_dir),
    )
    seen: list[AnyEvent] = []
    at_results: list[JobResult] = []

    def sink(event: AnyEvent) -> None:
        seen.append(event)
        if isinstance(event, FinishedEvent):  # what the bot reads when it posts the results
            at_results.append(JobResult.model_validate_json(Path(event.result_path).read_bytes()))

    terminal = io.StringIO()
    printer = ResultsPrinter(str(run_dir), stdout=terminal, stderr=terminal)
    result = run_job(spec, RunOptions(sinks=[sink, printer], handle_signals=False))

    kinds = [event.type for event in seen if event.type != "progress"]
    assert kinds == ["started", "finished", "report"]
    finished = next(e for e in seen if isinstance(e, FinishedEvent))
    assert finished.status == "succeeded" and finished.report_pending
    (posted,) = at_results
    assert posted.report_pending and posted.artifacts.report is None and posted.leaderboard
    report = next(e for e in seen if isinstance(e, ReportEvent))
    assert report.report == "report.html", report.note
    assert report.at >= finished.at

    # result.json now says where the report is; the report shows every column.
    final = JobResult.model_validate_json((run_dir / RESULT_FILE).read_bytes())
    assert not final.report_pending and final.artifacts.report == "report.html"
    assert final == result and "report_follow_up" in final.timings_s
    html = (run_dir / "report.html").read_text(encoding="utf-8", errors="replace")
    assert all(f">{name}<" in html for name in frame.columns)
    logged = (run_dir / EVENTS_FILE).read_text().splitlines()
    assert parse_event(logged[-1]) == report  # its events log ends with it too

    # The terminal showed the results first, then where the report is.
    shown = terminal.getvalue()
    assert "EDA report:  being made" in shown
    assert shown.rstrip().endswith(f"EDA report:  {run_dir}/report.html")
    assert shown.index("being made") < shown.index(f"{run_dir}/report.html")
