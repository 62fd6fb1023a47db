"""One training job from spec to result.json: the stages, the deadline and the interruption.

Every run ends with a result.json and a `finished` event, whatever happens: bad input gives
status `failed` with an error a person can act on; SIGTERM or SIGINT gives `interrupted` with
the best model found so far; a bug gives `failed` with `internal_error` (the traceback goes to
the run's log, never to the person).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.contracts import (
    FinishedEvent,
    JobResult,
    JobSpec,
    LeaderboardRow,
    ProgressEvent,
    StartedEvent,
    utc_now,
)
from training.errors import InputError, internal_error
from training.events import EVENTS_FILE, EventEmitter, EventSink, JsonLinesSink
from training.staging import Staging

if TYPE_CHECKING:
    import pandas as pd

    from training.search import ConvergencePolicy, Search, SearchOutcome, SearchSnapshot

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
SPEC_FILE = "spec.json"
LOG_FILE = "run.log"
SEARCH_LOG_FILE = "search_log.jsonl"
LEADERBOARD_FILE = "leaderboard.csv"
REPORT_FILE = "report.html"
PROGRESS_EVERY_S = 5.0  # the contract promises at least one progress event every 10 s
# After SIGTERM, Fargate Spot kills the task 30 s later: cut the search off well before.
INTERRUPT_GRACE_S = 8.0
MIN_SEARCH_S = 2.0


@dataclass
class RunOptions:
    """What a caller may change beyond the spec (tests and benchmarks mostly)."""

    sinks: list[EventSink] = field(default_factory=list)
    charts: bool = True
    report: bool = True
    convergence: ConvergencePolicy | None = None
    handle_signals: bool = True


def run_job(spec: JobSpec, options: RunOptions | None = None) -> JobResult:
    return _Run(spec, options or RunOptions()).execute()


def min_search_s(rows: int, columns: int) -> float:
    """The least search time that can give a model: FLAML prepares all rows before its first
    trial. Below this a job would end with nothing, which is worse than running over."""
    return MIN_SEARCH_S + 2.5e-7 * rows * max(columns, 1)


def post_search_reserve_s(rows: int, columns: int) -> float:
    """Time kept back from the search for evaluation, charts, saving and collecting the report.

    Fitted to benchmarks/speed.py and benchmarks/warm_start.py: 1.3-1.9 s were needed at a
    few hundred rows (charts 1.3-1.5 s), 1.4-3.8 s at 10,000 to 1,000,000 rows.
    """
    return 1.6 + 7e-8 * rows * max(columns, 1)


class _Run:
    def __init__(self, spec: JobSpec, options: RunOptions) -> None:
        self.spec = spec
        self.options = options
        # s3:// URIs: the dataset is downloaded and the run folder uploaded at the end.
        self.staging = Staging(spec)
        self.run_dir = self.staging.run_dir
        self.t0 = time.monotonic()
        self.deadline = self.t0 + spec.time_budget_s
        self.result = JobResult(
            job_id=spec.job_id,
            status="failed",
            file_name=spec.file_name,
            target=spec.target,
            time_budget_s=spec.time_budget_s,
            started_at=utc_now(),
        )
        self.interrupted_by: str | None = None
        self.search: Search | None = None
        self.last_progress = 0.0
        self.emitter = EventEmitter([])

    # -- the whole run ----------------------------------------------------------------------

    def execute(self) -> JobResult:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / SPEC_FILE).write_text(self.spec.model_dump_json(indent=2))
        self.emitter = EventEmitter(
            [JsonLinesSink.to_file(self.run_dir / EVENTS_FILE), *self.options.sinks]
        )
        self.result.artifacts.events_log = EVENTS_FILE
        log_handler = _attach_log_file(self.run_dir / LOG_FILE)
        previous = self._install_signal_handlers()
        self.emitter.emit(
            StartedEvent(
                job_id=self.spec.job_id,
                time_budget_s=self.spec.time_budget_s,
                file_name=self.spec.file_name,
            )
        )
        try:
            self._stages()
        except InputError as error:
            log.info("bad input: %s (%s)", error.message, error.code)
            self.result.status = "failed"
            self.result.error = error.info()
        except Exception:
            log.exception("the run failed")
            self.result.status = "failed"
            self.result.error = internal_error(self.spec.job_id)
        finally:
            # The finished event goes out before the upload, so the uploaded events.jsonl
            # holds it too; on AWS the end of a job is Batch's state change, after the upload.
            # The signal handlers stay until the upload is done: a SIGTERM now must not kill
            # the process halfway through it.
            try:
                self._finish()
                self._publish()
            finally:
                self.staging.close()
                self._restore_signal_handlers(previous)
                logging.getLogger().removeHandler(log_handler)
                log_handler.close()
        return self.result

    def _stages(self) -> None:
        from training.reading import read_table

        limits = self.spec.limits
        with self._stage("load"):
            frame = read_table(
                self.staging.dataset_path(),
                self.spec.file_name,
                max_file_mb=limits.max_file_mb,
                max_columns=limits.max_columns,
            )
        self.result.rows_total = len(frame)
        from training.preload import wait_for_imports

        wait_for_imports()  # before anything forks (the report) or needs the libraries
        with self._stage("prepare"):
            data = _prepare(frame, self.spec)
        self.result.task = data.target.task
        self.result.target = data.target.name
        self.result.metric = data.metric
        self.result.classes = list(data.target.classes)
        self.result.rows_dropped_missing_target = data.target.rows_dropped_missing
        self.result.rows_used = len(data.train_index) + len(data.test_index)
        self.result.holdout_rows = len(data.test_index)
        self.result.columns_used = data.plan.input_columns
        self.result.dropped_columns = data.plan.dropped + data.excluded
        self.result.notes += data.notes
        self.result.suspected_leaks = data.suspected_leaks

        report_job = self._start_report(frame, data)
        try:
            self._search_and_finish(data, report_job)
        finally:
            if report_job is not None:
                report_job.cancel()

    def _search_and_finish(self, data: _Prepared, report_job: Any) -> None:
        outcome = self._search(data)
        if not outcome.has_model:
            if self.interrupted_by:
                self.result.status = "interrupted"
                self.result.notes.append("The job was stopped before any model was trained.")
                return
            raise InputError(
                "no_model",
                "The search did not finish training a single model in the time budget.",
                "Give it more time (for example time=5m), or use fewer rows or columns.",
            )
        with self._stage("evaluate"):
            model, holdout = self._evaluate(outcome, data)
        with self._stage("save"):
            self._save(model, outcome)
        if self.options.charts:
            with self._stage("charts"):
                self._charts(outcome, model, holdout, data)
        if report_job is not None:
            with self._stage("report"):
                self._collect_report(report_job)
        self.result.status = "interrupted" if self.interrupted_by else "succeeded"
        if self.interrupted_by:
            self.result.notes.append(
                f"The job was stopped ({self.interrupted_by}) before its budget ran out; "
                "these are the best results found until then."
            )

    # -- stages -------------------------------------------------------------------------------

    def _search(self, data: _Prepared) -> SearchOutcome:
        from training.resources import available_cpus
        from training.search import ConvergencePolicy, Search

        rows, cols = data.X_train.shape
        budget = self.deadline - time.monotonic() - post_search_reserve_s(rows, cols)
        budget = max(budget, min_search_s(rows, cols))
        self.search = Search(
            task=data.target.task,
            metric=data.metric,
            budget_s=budget,
            n_jobs=available_cpus(),
            seed=self.spec.seed,
            log_path=self.run_dir / SEARCH_LOG_FILE,
            policy=self.options.convergence or ConvergencePolicy(),
            on_progress=self._on_search_progress,
            rows_to_predict=len(data.test_index),
        )
        if self.interrupted_by:
            self.search.request_stop("interrupted")
        self._warm_up_charts()
        with self._stage("search"):
            outcome = self.search.run(data.X_train, data.y_train)
        self.result.artifacts.search_log = SEARCH_LOG_FILE
        self.result.trials = outcome.trials
        self.result.stopped_early = outcome.stop_reason == "converged"
        self.result.best_estimator = outcome.best_estimator
        self.result.leaderboard = _leaderboard(outcome, data.metric)
        return outcome

    def _evaluate(self, outcome: SearchOutcome, data: _Prepared) -> tuple[Any, Any]:
        from training.evaluation import class_metrics, evaluate
        from training.model import TrainedModel
        from training.threshold import choose_threshold

        assert outcome.predictor is not None
        threshold = None
        if (
            data.target.task == "classification"
            and outcome.oof_y is not None
            and outcome.oof_predictions is not None
        ):
            threshold = choose_threshold(
                data.metric, outcome.classes, outcome.oof_y, outcome.oof_predictions
            )
        model = TrainedModel(
            task=data.target.task,
            target=data.target.name,
            estimator_name=outcome.best_estimator or "",
            plan=data.plan,
            predictor=outcome.predictor,
            classes=outcome.classes,
            threshold=threshold,
            versions=_versions(),
        )
        holdout = evaluate(model, data.test_frame, data.y_test)
        self.result.holdout_metrics = holdout.scores
        self.result.decision_threshold = threshold
        if data.target.task == "classification":
            self.result.class_metrics = class_metrics(holdout.y_true, holdout.y_pred, model.classes)
        self.result.versions = model.versions
        return model, holdout

    def _save(self, model: Any, outcome: SearchOutcome) -> None:
        from training.model import MODEL_FILE

        model.save(self.run_dir / MODEL_FILE)
        self.result.artifacts.model = MODEL_FILE
        _write_leaderboard_csv(self.run_dir / LEADERBOARD_FILE, self.result.leaderboard)
        self.result.artifacts.leaderboard_csv = LEADERBOARD_FILE

    def _charts(self, outcome: SearchOutcome, model: Any, holdout: Any, data: _Prepared) -> None:
        from training.charts import ChartInputs, plan_charts, render_charts

        inputs = ChartInputs(
            task=data.target.task,
            metric=data.metric,
            leaderboard=[(r.estimator, r.validation_score) for r in self.result.leaderboard],
            score_history=outcome.score_history,
            feature_importance=self._importance(model, data),
            y_true=list(holdout.y_true),
            y_pred=list(holdout.y_pred),
            proba=holdout.proba,
            classes=model.classes,
        )
        charts, notes = render_charts(plan_charts(inputs), self.run_dir / "charts")
        self.result.artifacts.charts = charts
        self.result.notes += notes

    def _importance(self, model: Any, data: _Prepared) -> list[tuple[str, float]]:
        """Feature importance for its chart; a failure costs the chart, never the job."""
        from training.evaluation import feature_importance

        try:
            return feature_importance(model, data.test_frame, data.y_test)
        except Exception:
            log.warning("could not measure feature importance", exc_info=True)
            return []

    def _warm_up_charts(self) -> None:
        if not self.options.charts:
            return
        try:
            from training.charts import warm_up_renderer

            warm_up_renderer()
        except Exception:
            log.info("could not warm up the chart renderer", exc_info=True)

    def _start_report(self, frame: pd.DataFrame, data: _Prepared) -> Any:
        if not self.options.report or self.interrupted_by:
            return None
        columns = [*data.plan.input_columns, data.target.name]
        rows = frame.loc[data.target.values.index, columns].copy()
        rows[data.target.name] = data.target.values
        try:
            from training.report import extra_wait_s, start_report

            # It may take until the deadline and a little past it: what it covers is chosen to fit.
            seconds = self.deadline + extra_wait_s(self.spec.time_budget_s) - time.monotonic()
            return start_report(
                rows,
                data.target.name,
                data.target.task,
                self.run_dir / REPORT_FILE,
                seconds=seconds,
                seed=self.spec.seed,
            )
        except Exception:
            log.warning("could not start the EDA report", exc_info=True)
            self.result.notes.append("The EDA report could not be started.")
            return None

    def _collect_report(self, report_job: Any) -> None:
        if self.interrupted_by:
            report_job.cancel()
            self.result.notes.append("The EDA report was skipped: the job was stopped.")
            return
        deadline = report_job.deadline if report_job.deadline is not None else self.deadline
        outcome = report_job.wait(timeout_s=max(1.0, deadline - time.monotonic()))
        if outcome.path is not None:
            self.result.artifacts.report = outcome.path.name
        if outcome.note:
            self.result.notes.append(outcome.note)

    # -- progress, signals, bookkeeping -------------------------------------------------------

    def _on_search_progress(self, snapshot: SearchSnapshot) -> None:
        now = time.monotonic()
        if now - self.last_progress < PROGRESS_EVERY_S:
            return
        self.last_progress = now
        self._emit_progress("search", snapshot.trials, snapshot.best_estimator, snapshot.best_score)

    def _emit_progress(
        self,
        stage: str,
        trials: int = 0,
        best_estimator: str | None = None,
        best_score: float | None = None,
    ) -> None:
        self.emitter.emit(
            ProgressEvent(
                job_id=self.spec.job_id,
                stage=stage,
                elapsed_s=round(time.monotonic() - self.t0, 2),
                budget_s=self.spec.time_budget_s,
                trials=trials or self.result.trials,
                best_estimator=best_estimator or self.result.best_estimator,
                best_score=best_score,
                metric=self.result.metric,
            )
        )

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        if name != "search":
            self._emit_progress(name)
        started = time.monotonic()
        try:
            yield
        finally:
            self.result.timings_s[name] = round(time.monotonic() - started, 3)

    def _install_signal_handlers(self) -> dict[int, Any]:
        if (
            not self.options.handle_signals
            or threading.current_thread() is not threading.main_thread()
        ):
            return {}
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _restore_signal_handlers(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        log.warning("received %s: stopping the search and saving what was found", name)
        first = self.interrupted_by is None
        self.interrupted_by = name
        if self.search is not None and first:
            self.search.request_stop("interrupted")
            self.search.abort_after(INTERRUPT_GRACE_S)
        # The rest of the run must fit in the grace period too.
        self.deadline = min(self.deadline, time.monotonic() + INTERRUPT_GRACE_S)

    def _finish(self) -> None:
        self.result.finished_at = utc_now()
        self.result.timings_s["total"] = round(time.monotonic() - self.t0, 3)
        result_path = self.run_dir / RESULT_FILE
        temporary = result_path.with_suffix(".tmp")
        temporary.write_text(self.result.model_dump_json(indent=2))
        temporary.replace(result_path)  # readers never see half a file
        self.emitter.emit(
            FinishedEvent(
                job_id=self.spec.job_id,
                status=self.result.status,
                result_path=self.staging.location(RESULT_FILE),
                error_code=self.result.error.code if self.result.error else None,
            )
        )

    def _publish(self) -> None:
        """Upload the run folder when the output is in S3; a failed upload fails the job."""
        try:
            self.staging.publish(last=RESULT_FILE)
        except Exception:
            # Without result.json in S3 the bot learns the end from Batch and the job's log.
            log.exception("could not upload the run folder to %s", self.spec.output_uri)
            self.result.status = "failed"
            self.result.error = internal_error(self.spec.job_id)


# -- data preparation ----------------------------------------------------------------------------


@dataclass
class _Prepared:
    target: Any
    metric: str
    plan: Any
    excluded: list[Any]
    train_index: Any
    test_index: Any
    X_train: pd.DataFrame
    y_train: pd.Series
    test_frame: pd.DataFrame
    y_test: pd.Series
    notes: list[str]
    suspected_leaks: list[Any]


def _prepare(frame: pd.DataFrame, spec: JobSpec) -> _Prepared:
    from training.column_signal import suspected_leaks
    from training.contracts import DroppedColumn
    from training.evaluation import split_holdout
    from training.features import plan_features
    from training.metrics import choose_metric
    from training.numbers import count_non_finite, non_finite_note
    from training.target import prepare_target, resolve_column

    columns = [str(c) for c in frame.columns]
    target_name = resolve_column(columns, spec.target)
    excluded = []
    for name in spec.exclude_columns:
        column = resolve_column(columns, name, what="column to exclude")
        if column == target_name:
            raise InputError(
                "target_excluded",
                f"“{column}” is the target, so it cannot be excluded too.",
                "Remove it from exclude=.",
            )
        excluded.append(column)
    kept = {resolve_column(columns, name, what="column to keep") for name in spec.keep_columns}
    if kept & set(excluded):
        both = ", ".join(f"“{c}”" for c in sorted(kept & set(excluded)))
        raise InputError(
            "keep_and_exclude",
            f"{both} is asked to be both kept and excluded.",
            "Name each column in keep= or in exclude=, not both.",
        )
    target = prepare_target(frame, target_name, spec.task)
    metric = choose_metric(spec.metric, target.task, len(target.classes))
    features = frame.loc[target.values.index].drop(columns=[target_name, *excluded])
    train_index, test_index = split_holdout(
        target.values, stratify=target.task == "classification", seed=spec.seed
    )
    training_rows = features.loc[train_index]  # taken once: a copy on a million rows
    plan = plan_features(training_rows, target, keep=kept)
    if not plan.input_columns:
        reasons = "; ".join(f"“{d.name}”: {d.reason}" for d in plan.dropped[:5]) or "none left"
        raise InputError(
            "no_usable_features",
            f"No column is left to learn “{target_name}” from ({reasons}).",
            "Add columns that describe each row, or exclude fewer columns.",
        )
    notes = []
    note = non_finite_note(count_non_finite(features))
    if note is not None:
        notes.append(note)
    notes += plan.kept_identifiers.values()
    leaks = suspected_leaks(training_rows[plan.input_columns], target, kept)
    if target.rows_dropped_missing:
        notes.append(f"{target.rows_dropped_missing} rows without a “{target_name}” were left out.")
    if target.rare_classes_dropped:
        shown = ", ".join(f"“{c}”" for c in target.rare_classes_dropped[:5])
        notes.append(
            f"{len(target.rare_classes_dropped)} class(es) with a single row were left out "
            f"({shown}): one row cannot be both learned and tested."
        )
    return _Prepared(
        target=target,
        metric=metric,
        plan=plan,
        excluded=[DroppedColumn(name=c, reason="excluded on request") for c in excluded],
        train_index=train_index,
        test_index=test_index,
        X_train=plan.transform(training_rows),
        y_train=target.values.loc[train_index],
        test_frame=features.loc[test_index],
        y_test=target.values.loc[test_index],
        notes=notes,
        suspected_leaks=leaks,
    )


# -- small helpers -------------------------------------------------------------------------------


def _leaderboard(outcome: SearchOutcome, metric: str) -> list[LeaderboardRow]:
    from training.metrics import HIGHER_IS_BETTER

    tried = [e for e in outcome.estimators if e.validation_score is not None]
    higher = metric in HIGHER_IS_BETTER
    tried.sort(key=lambda e: -(e.validation_score or 0) if higher else (e.validation_score or 0))
    untried = [e for e in outcome.estimators if e.validation_score is None]
    rows = []
    for rank, e in enumerate([*tried, *untried], start=1):
        rows.append(
            LeaderboardRow(
                rank=rank,
                estimator=e.estimator,
                validation_score=e.validation_score,
                train_time_s=round(e.train_time_s, 3),
                trials=e.trials,
                config=_jsonable(e.config),
                weights=e.weights,
            )
        )
    return rows


def _jsonable(config: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> plain numbers, so the config survives JSON."""
    return json.loads(
        json.dumps(config, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


def _write_leaderboard_csv(path: Path, rows: list[LeaderboardRow]) -> None:
    import csv

    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["rank", "estimator", "validation_score", "train_time_s", "trials", "config"]
        )
        for row in rows:
            writer.writerow(
                [
                    row.rank,
                    row.estimator,
                    row.validation_score,
                    row.train_time_s,
                    row.trials,
                    json.dumps(row.config),
                ]
            )


def _versions() -> dict[str, str]:
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("flaml", "lightgbm", "xgboost-cpu", "scikit-learn", "pandas", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _attach_log_file(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler
