"""One training job from spec to result.json: the stages, the deadline and the interruption.

Every run ends with a result.json and a `finished` event, whatever happens: bad input gives
status `failed` with an error a person can act on; SIGTERM or SIGINT gives `interrupted` with
the best model found so far; a bug gives `failed` with `internal_error` (the traceback goes to
the run's log, never to the person).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from common.files import write_atomically
from common.memory import memory_limit_mb
from contract.jobs import (
    FinishedEvent,
    JobResult,
    JobSpec,
    ProgressEvent,
    ReportEvent,
    StartedEvent,
    utc_now,
)
from contract.run_folder import (
    CHARTS_DIR,
    EVENTS_FILE,
    LEADERBOARD_FILE,
    MODEL_FILE,
    REPORT_FILE,
    RESULT_FILE,
    RUN_LOG_FILE,
    SEARCH_LOG_FILE,
    SPEC_FILE,
)
from training.errors import InputError, disk_full, internal_error, is_disk_full
from training.input.limits import out_of_memory
from training.input.staging import open_staging
from training.outputs.events import EventEmitter, EventSink, JsonLinesSink
from training.outputs.run_log import run_log

if TYPE_CHECKING:
    import pandas as pd

    from training.outputs.report import ReportJob, ReportOutcome
    from training.pipeline.evaluation import Holdout
    from training.pipeline.explained_sample import ExplainedSample
    from training.pipeline.model import TrainedModel
    from training.pipeline.prepare import PreparedData
    from training.pipeline.search import ConvergencePolicy, Search, SearchOutcome, SearchSnapshot

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 5.0  # the contract promises at least one progress event every 10 s
# After SIGTERM, Fargate Spot kills the task 30 s later: cut the search off well before.
INTERRUPT_GRACE_S = 8.0
MIN_SEARCH_S = 2.0
CHARTS_RESERVE_S = 1.5  # of the time left after the search, kept for the charts
# Charts not drawn by the deadline plus this share of the budget are left out (with a note).
CHARTS_OVERRUN_SHARE = 0.05


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

    Fitted to benchmarks/speed.py and benchmarks/warm_start.py: about 1 s was needed at a
    few hundred rows (eight charts 0.7-1.0 s), 1.4-3.8 s at 10,000 to 1,000,000 rows.
    """
    return 1.1 + 7e-8 * rows * max(columns, 1)


class _Run:
    def __init__(self, spec: JobSpec, options: RunOptions) -> None:
        self.spec = spec
        self.options = options
        # s3:// URIs: the dataset is downloaded and the run folder uploaded at the end.
        self.staging = open_staging(spec)
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
        self.signalled_after_budget = False  # the signal came once the budget had passed
        self.search: Search | None = None
        self.last_progress = 0.0
        self.emitter = EventEmitter([])
        self.pending_report: ReportJob | None = None  # finished after the results

    # -- the whole run ----------------------------------------------------------------------

    def execute(self) -> JobResult:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / SPEC_FILE).write_text(self.spec.model_dump_json(indent=2))
        self.emitter = EventEmitter(
            [JsonLinesSink.to_file(self.run_dir / EVENTS_FILE), *self.options.sinks]
        )
        self.result.artifacts.events_log = EVENTS_FILE
        with run_log(self.run_dir / RUN_LOG_FILE):
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
            except MemoryError:  # past the memory cap the local backend sets (RLIMIT_DATA)
                log.exception("out of memory")
                self.result.status = "failed"
                self.result.error = out_of_memory(self.spec.file_name, memory_limit_mb()).info()
            except Exception as error:
                log.exception("the run failed")
                self.result.status = "failed"
                # A full disk is no bug: say so, in words the person can pass on.
                full = is_disk_full(error)
                self.result.error = disk_full() if full else internal_error(self.spec.job_id)
            finally:
                self._end(previous)
        return self.result

    def _end(self, previous_handlers: dict[int, Any]) -> None:
        """result.json, the finished event and the upload, whatever happened before.

        The finished event goes out before the upload, so the uploaded events.jsonl holds it
        too; on AWS the end of a job is Batch's state change, after the upload. The signal
        handlers stay until the upload is done: a SIGTERM now must not kill the process
        halfway through it.
        """
        try:
            self._finish()
            self._publish()
            if self.pending_report is not None:
                self._follow_up_report(self.pending_report)
        finally:
            self.staging.close()
            self._restore_signal_handlers(previous_handlers)

    def _stages(self) -> None:
        from training.input.reading import read_table_within

        limits = self.spec.limits
        with self._stage("load"):
            frame = read_table_within(self.staging.dataset_path(), self.spec.file_name, limits)
        self.result.rows_total = len(frame)
        from training.preload import wait_for_imports

        wait_for_imports()  # before anything forks (the report) or needs the libraries
        from training.pipeline.prepare import prepare_data

        with self._stage("prepare"):
            data = prepare_data(frame, self.spec)
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
            if report_job is not None and report_job is not self.pending_report:
                report_job.cancel()

    def _search_and_finish(self, data: PreparedData, report_job: ReportJob | None) -> None:
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
            if self.spec.previous_model is not None:  # retraining: the old model, same rows
                from training.pipeline.previous_model import compare_with_previous

                self.result.comparison = compare_with_previous(
                    self.spec.previous_model,
                    task=data.target.task,
                    metric=data.metric,
                    new_scores=holdout.scores,
                    frame=data.test_frame,
                    y_true=data.y_test,
                )
        with self._stage("save"):
            self._save(model, outcome)
        with self._stage("explain"):
            explained = self._explain(model, data)
        if self.options.charts:
            with self._stage("charts"):
                self._charts(outcome, model, holdout, data, explained)
        if report_job is not None:
            with self._stage("report"):
                self._collect_report(report_job)
        self.result.status = "interrupted" if self.interrupted_by else "succeeded"
        if self.interrupted_by:
            when = (
                "at its time limit (the budget and a margin had passed)"
                if self.signalled_after_budget
                else "before its budget ran out"
            )
            self.result.notes.append(
                f"The job was stopped ({self.interrupted_by}) {when}; "
                "these are the best results found until then."
            )

    # -- stages -------------------------------------------------------------------------------

    def _search(self, data: PreparedData) -> SearchOutcome:
        from training.outputs.leaderboard import leaderboard_rows
        from training.pipeline.explanations import explanation_reserve_s
        from training.pipeline.search import ConvergencePolicy, Search
        from training.resources import available_cpus

        rows, cols = data.X_train.shape
        budget = self.deadline - time.monotonic() - post_search_reserve_s(rows, cols)
        budget -= explanation_reserve_s(self.spec.time_budget_s, len(data.test_index), cols)
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
        self.result.leaderboard = leaderboard_rows(outcome, data.metric)
        return outcome

    def _evaluate(self, outcome: SearchOutcome, data: PreparedData) -> tuple[TrainedModel, Holdout]:
        from training.pipeline.evaluation import class_metrics, evaluate
        from training.pipeline.model import TrainedModel, library_versions
        from training.pipeline.threshold import choose_threshold

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
            versions=library_versions(),
        )
        _add_explanation_parts(model, data)
        holdout = evaluate(model, data.test_frame, data.y_test)
        self.result.holdout_metrics = holdout.scores
        self.result.decision_threshold = threshold
        if data.target.task == "classification":
            self.result.class_metrics = class_metrics(holdout.y_true, holdout.y_pred, model.classes)
        self.result.versions = model.versions
        return model, holdout

    def _save(self, model: TrainedModel, outcome: SearchOutcome) -> None:
        from training.outputs.leaderboard import write_leaderboard_csv

        self.result.artifacts.model_sha256 = model.save(self.run_dir / MODEL_FILE)
        self.result.artifacts.model = MODEL_FILE
        write_leaderboard_csv(self.run_dir / LEADERBOARD_FILE, self.result.leaderboard)
        self.result.artifacts.leaderboard_csv = LEADERBOARD_FILE

    def _explain(self, model: TrainedModel, data: PreparedData) -> ExplainedSample | None:
        """What drives the model, on a sample of the holdout rows; in the time left, else a
        note. A failure costs the explanations, never the job."""
        from training.pipeline.explained_sample import explain_holdout
        from training.pipeline.explanations import explanation_reserve_s

        seconds = self.deadline - time.monotonic() - CHARTS_RESERVE_S
        if not self.interrupted_by:  # the share kept back from the search is theirs even if
            # the stages before overran (the launchers allow a margin past the budget)
            reserve = explanation_reserve_s(
                self.spec.time_budget_s, len(data.test_index), data.X_train.shape[1]
            )
            seconds = max(seconds, reserve)
        try:
            explained, note = explain_holdout(model, data.test_frame, seconds, self.spec.seed)
        except Exception:
            log.warning("could not explain the model", exc_info=True)
            self.result.notes.append("The explanations of the model could not be made.")
            return None
        if note:
            self.result.notes.append(note)
        if explained is not None:
            self.result.explanations = explained.summary
        return explained

    def _charts(
        self,
        outcome: SearchOutcome,
        model: TrainedModel,
        holdout: Holdout,
        data: PreparedData,
        explained: ExplainedSample | None = None,
    ) -> None:
        from training.outputs.charts.explanation_figures import plan_explanation_charts
        from training.outputs.charts.figures import ChartInputs, plan_charts
        from training.outputs.charts.rendering import render_charts

        inputs = ChartInputs(
            task=data.target.task,
            metric=data.metric,
            leaderboard=[(r.estimator, r.validation_score) for r in self.result.leaderboard],
            score_history=outcome.score_history,
            # The explanation's importance chart (with directions) replaces permutation
            # importance: one chart and its shuffled predictions fewer.
            feature_importance=[] if explained is not None else self._importance(model, data),
            y_true=list(holdout.y_true),
            y_pred=list(holdout.y_pred),
            proba=holdout.proba,
            classes=model.classes,
        )
        planned = plan_charts(inputs)
        if explained is not None:
            planned += plan_explanation_charts(explained.effects, explained.summary)
        charts_end = self.deadline + CHARTS_OVERRUN_SHARE * self.spec.time_budget_s
        charts, notes = render_charts(planned, self.run_dir / CHARTS_DIR, deadline=charts_end)
        self.result.artifacts.charts = charts
        self.result.notes += notes

    def _importance(self, model: TrainedModel, data: PreparedData) -> list[tuple[str, float]]:
        """Feature importance for its chart; a failure costs the chart, never the job."""
        from training.pipeline.evaluation import feature_importance

        try:
            return feature_importance(model, data.test_frame, data.y_test)
        except Exception:
            log.warning("could not measure feature importance", exc_info=True)
            return []

    def _warm_up_charts(self) -> None:
        if not self.options.charts:
            return
        try:
            from training.outputs.charts.rendering import warm_up_renderer

            warm_up_renderer()
        except Exception:
            log.info("could not warm up the chart renderer", exc_info=True)

    def _start_report(self, frame: pd.DataFrame, data: PreparedData) -> ReportJob | None:
        if not self.options.report or self.interrupted_by:
            return None
        columns = [*data.plan.input_columns, data.target.name]
        rows = frame.loc[data.target.values.index, columns].copy()
        rows[data.target.name] = data.target.values
        try:
            from training.outputs.report import extra_wait_s, start_report

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

    def _collect_report(self, report_job: ReportJob) -> None:
        if self.interrupted_by:
            report_job.cancel()
            self.result.notes.append("The EDA report was skipped: the job was stopped.")
            return
        deadline = report_job.deadline if report_job.deadline is not None else self.deadline
        if report_job.may_follow:
            # Never cut: with the results when ready in time, else finished after them.
            done = report_job.finish_by(deadline, give_up=lambda: report_job.late_for(deadline))
            if done is None:
                self.pending_report = report_job
                self.result.report_pending = True
                return
            self._take_report(done)
            return
        self._take_report(report_job.wait(timeout_s=max(1.0, deadline - time.monotonic())))

    def _take_report(self, outcome: ReportOutcome) -> None:
        if outcome.path is not None:
            self.result.artifacts.report = outcome.path.name
        if outcome.note:
            self.result.notes.append(outcome.note)

    def _follow_up_report(self, report_job: ReportJob) -> None:
        """After the results (result.json, the finished event, the upload): wait for the EDA
        report, record it in result.json, upload it, then say so in a `report` event."""
        from training.outputs.report import ReportOutcome

        self.pending_report = None
        self.search = None  # over: a signal from now on has no search to cut off
        started = time.monotonic()
        outcome = None
        if self.result.status == "succeeded" and report_job.scope is not None:
            outcome = report_job.finish_by(
                started + report_job.scope.follow_up_s,
                give_up=lambda: self.interrupted_by is not None,
            )
        if outcome is None and (self.interrupted_by or self.result.status != "succeeded"):
            report_job.cancel()
            why = "was stopped" if self.interrupted_by else "failed"
            stopped = f"The EDA report could not be finished: the job {why} before it was done."
            outcome = ReportOutcome(None, stopped, time.monotonic() - started, 0)
        elif outcome is None:
            outcome = report_job.wait(timeout_s=0.0)  # late beyond its allowance: stopped
        self.result.report_pending = False
        self._take_report(outcome)
        self.result.timings_s["report_follow_up"] = round(time.monotonic() - started, 3)
        report, note = self.result.artifacts.report, outcome.note
        try:
            write_atomically(self.run_dir / RESULT_FILE, self.result.model_dump_json(indent=2))
            self.staging.publish(last=RESULT_FILE)
        except Exception:  # the results stand as they were posted
            log.exception("could not store the EDA report of job %s", self.spec.job_id)
            report, note = None, "The EDA report was made but could not be stored."
        self.emitter.emit(ReportEvent(job_id=self.spec.job_id, report=report, note=note))

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
        # A launcher stops a job that overran (Batch's timeout, the local launcher's limit).
        self.signalled_after_budget = time.monotonic() >= self.t0 + self.spec.time_budget_s
        if self.search is not None and first:
            self.search.request_stop("interrupted")
            self.search.abort_after(INTERRUPT_GRACE_S)
        # The rest of the run must fit in the grace period too.
        self.deadline = min(self.deadline, time.monotonic() + INTERRUPT_GRACE_S)

    def _finish(self) -> None:
        self.result.finished_at = utc_now()
        self.result.timings_s["total"] = round(time.monotonic() - self.t0, 3)
        # Readers never see half a file.
        write_atomically(self.run_dir / RESULT_FILE, self.result.model_dump_json(indent=2))
        self.emitter.emit(
            FinishedEvent(
                job_id=self.spec.job_id,
                status=self.result.status,
                result_path=self.staging.location(RESULT_FILE),
                error_code=self.result.error.code if self.result.error else None,
                report_pending=self.result.report_pending,
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


def _add_explanation_parts(model: TrainedModel, data: PreparedData) -> None:
    """The training ranges and the explanation background the saved model carries; a
    failure costs them (the model still predicts), never the job."""
    from training.pipeline.explanations import Background
    from training.pipeline.scoring_checks import TrainingProfile

    try:
        model.profile = TrainingProfile.from_training(data.plan, data.X_train)
        model.background = Background.from_training(data.X_train, model.predictor)
    except Exception:
        log.warning("could not keep the training ranges and background", exc_info=True)
        model.profile = model.background = None
