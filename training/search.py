"""The model search: FLAML AutoML within a deadline, observable and stoppable.

FLAML has no public hooks for progress or for stopping a search from outside, so this module
is the one place that reads its search state (pinned: flaml==2.7.0, checked by the tests):
- progress: a monitor thread reads the trial counts and best loss twice a second;
- a graceful stop (convergence, SIGTERM): lower the search's time budget so FLAML ends after
  the trial in progress, keeping the best model found so far;
- a hard stop (a trial overrunning the deadline): SIGALRM raises `SearchAborted` in the main
  thread; the best model trained so far is kept.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from training.contracts import TaskName
from training.metrics import score_from_loss

if TYPE_CHECKING:
    import pandas as pd
    from flaml import AutoML

log = logging.getLogger(__name__)

# The linear model goes first: FLAML tries the first estimator first and then picks by its
# estimated cost, which schedules the (cheap) linear model last; tried first, the leaderboard
# is complete even when the search stops early.
CLASSIFIERS = ("lrl1", "lgbm", "xgboost", "rf", "extra_tree")
REGRESSORS = ("enet", "lgbm", "xgboost", "rf", "extra_tree")
MONITOR_INTERVAL_S = 0.5
# A trial running past the deadline gets this long before it is cut off.
OVERRUN_GRACE_S = 3.0
TRIAL_SHARE = 0.2  # the most of the search budget that one trial may take


class SearchAborted(BaseException):
    """Raised in the main thread to cut a trial short. BaseException, so FLAML cannot swallow it."""


@dataclass(frozen=True)
class SearchSnapshot:
    elapsed_s: float
    trials: int
    best_estimator: str | None
    best_score: float | None


@dataclass
class EstimatorSummary:
    estimator: str
    validation_score: float | None
    train_time_s: float
    trials: int
    config: dict[str, Any]


@dataclass
class SearchOutcome:
    automl: AutoML
    elapsed_s: float
    trials: int
    best_estimator: str | None
    stop_reason: str | None  # None: the budget ran out; "converged"; "interrupted"; "deadline"
    estimators: list[EstimatorSummary]
    score_history: list[tuple[float, float]]  # (seconds, best validation score so far)

    @property
    def has_model(self) -> bool:
        return self.automl.model is not None


@dataclass
class ConvergencePolicy:
    """Stop early once more searching has stopped paying off: people in a chat are waiting.

    Converged means every estimator has had a fair number of trials (FLAML starts each with
    a tiny configuration, so one trial says little) and the best score has not improved for
    as long again, in trials and in seconds, as it took to find it. Small tables converge in
    seconds; a search that keeps improving runs to its budget.
    """

    min_search_s: float = 4.0
    patience_s: float = 3.0
    patience_trials: int = 20
    trials_per_estimator: int = 8
    min_improvement: float = 0.001  # relative drop in the loss that counts as progress
    enabled: bool = True

    def converged(self, now: _Progress, best: _Progress, fewest_trials: int) -> bool:
        """`fewest_trials`: the trials of the estimator tried least so far."""
        if not self.enabled or now.elapsed_s < self.min_search_s:
            return False
        if fewest_trials < self.trials_per_estimator:
            return False
        quiet_s = now.elapsed_s - best.elapsed_s
        quiet_trials = now.trials - best.trials
        return quiet_s >= max(self.patience_s, best.elapsed_s) and quiet_trials >= max(
            self.patience_trials, best.trials
        )


@dataclass(frozen=True)
class _Progress:
    elapsed_s: float
    trials: int


@dataclass
class Search:
    task: TaskName
    metric: str
    budget_s: float
    n_jobs: int
    log_path: Path
    seed: int = 0
    policy: ConvergencePolicy = field(default_factory=ConvergencePolicy)
    on_progress: Callable[[SearchSnapshot], None] | None = None

    def __post_init__(self) -> None:
        from flaml import AutoML

        self.automl = AutoML()
        self._stop_reason: str | None = None
        self._lock = threading.Lock()
        self._started_at: float | None = None
        self._history: list[tuple[float, float]] = []
        self._alarm_fired = False

    @property
    def estimator_list(self) -> tuple[str, ...]:
        return REGRESSORS if self.task == "regression" else CLASSIFIERS

    def request_stop(self, reason: str) -> None:
        """End the search after the trial in progress. Safe from signal handlers and threads."""
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
        state = getattr(self.automl, "_state", None)
        if state is not None and getattr(state, "time_budget", -1) > 0:
            state.time_budget = 1e-9  # FLAML's loop ends when time_from_start >= time_budget

    def abort_after(self, seconds: float) -> None:
        """Cut the running trial off after `seconds` (main thread only: uses SIGALRM)."""
        current = signal.getitimer(signal.ITIMER_REAL)[0]
        if current == 0 or seconds < current:
            signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))

    def run(self, X: pd.DataFrame, y: pd.Series) -> SearchOutcome:
        previous_alarm = signal.signal(signal.SIGALRM, self._on_alarm)
        stop_monitor = threading.Event()
        monitor = threading.Thread(target=self._monitor, args=(stop_monitor,), daemon=True)
        self._started_at = time.monotonic()
        aborted = False
        try:
            if self._stop_reason is None:  # a stop before the start skips the search
                monitor.start()
                self.abort_after(self.budget_s + OVERRUN_GRACE_S)
                with warnings.catch_warnings():
                    # Convergence and deprecation warnings from trials are noise to a person.
                    warnings.simplefilter("ignore")
                    self.automl.fit(X, y, **self._fit_settings(X, y))
        except SearchAborted:
            aborted = True
            log.warning("search cut off at %.1fs", self._elapsed())
        except Exception:
            # Raised inside a library's C callback, the cut-off can surface as the library's
            # own error (XGBoostError); after an alarm that is the cut-off, not a failure.
            if not self._alarm_fired:
                raise
            aborted = True
            log.warning("search cut off at %.1fs (inside a library call)", self._elapsed())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm)
            stop_monitor.set()
            if monitor.is_alive():
                monitor.join()
        if aborted and self._stop_reason is None:
            self._stop_reason = "deadline"
        if aborted:
            _keep_best_model(self.automl)
        return self._outcome()

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if _in_library_callback(frame):
            signal.setitimer(signal.ITIMER_REAL, 0.05)  # try again once back in Python
            return
        self._alarm_fired = True
        raise SearchAborted

    def _fit_settings(self, X: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "starting_points": _zero_shot_starting_points(self.task, X, y),
            "task": self.task,
            "metric": self.metric,
            "time_budget": self.budget_s,
            "estimator_list": list(self.estimator_list),
            "n_jobs": self.n_jobs,
            "seed": self.seed,
            "verbose": 0,
            # Retrain on all training rows only when the budget allows it; FLAML's default
            # retrains unconditionally and overran a 30 s budget by 11 s on 1M rows.
            "retrain_full": "budget",
            "log_type": "all",
            # No single trial may eat the budget: the boosters' zero-shot configurations are
            # large, and the other estimators deserve a turn.
            "train_time_limit": max(1.0, TRIAL_SHARE * self.budget_s),
            # Keep each estimator's best trained model, so that a cut-off during
            # cross-validation (where FLAML trains the final model only at the end) still
            # leaves a model without retraining.
            "model_history": True,
            "log_file_name": str(self.log_path),
        }
        if self.task == "classification":
            settings["split_type"] = "stratified"
        return settings

    def _elapsed(self) -> float:
        return time.monotonic() - (self._started_at or time.monotonic())

    # -- watching the search ---------------------------------------------------------------

    def _monitor(self, stop: threading.Event) -> None:
        best_loss = float("inf")  # the last loss that counted as progress
        best_at = _Progress(0.0, 0)
        while not stop.wait(MONITOR_INTERVAL_S):
            try:
                snapshot, loss, fewest_trials = self._read_state()
            except Exception:  # the state is mid-update; read again next tick
                log.debug("could not read the search state", exc_info=True)
                continue
            now = _Progress(snapshot.elapsed_s, snapshot.trials)
            if loss < _minus_share(best_loss, self.policy.min_improvement):
                best_loss, best_at = loss, now
            if not self._history or loss < self._history[-1][1]:
                self._history.append((now.elapsed_s, loss))
            if self.on_progress is not None:
                self.on_progress(snapshot)
            if self.policy.converged(now, best_at, fewest_trials):
                log.info("search converged at %.1fs after %d trials", now.elapsed_s, now.trials)
                self.request_stop("converged")

    def _read_state(self) -> tuple[SearchSnapshot, float, int]:
        automl = self.automl
        per_learner: dict[str, int] = dict(getattr(automl, "_iter_per_learner", None) or {})
        state = getattr(automl, "_state", None)
        loss = float(getattr(state, "best_loss", float("inf")))
        best = getattr(automl, "_best_estimator", None)
        snapshot = SearchSnapshot(
            elapsed_s=self._elapsed(),
            trials=sum(per_learner.values()),
            best_estimator=best,
            best_score=score_from_loss(self.metric, loss) if loss != float("inf") else None,
        )
        return snapshot, loss, min(per_learner.values(), default=0)

    def _outcome(self) -> SearchOutcome:
        automl = self.automl
        states: dict[str, Any] = getattr(automl, "_search_states", None) or {}
        per_learner: dict[str, int] = dict(getattr(automl, "_iter_per_learner", None) or {})
        summaries = []
        for name in self.estimator_list:
            state = states.get(name)
            loss = getattr(state, "best_loss", float("inf"))
            summaries.append(
                EstimatorSummary(
                    estimator=name,
                    validation_score=(
                        score_from_loss(self.metric, loss) if loss != float("inf") else None
                    ),
                    train_time_s=float(getattr(state, "total_time_used", 0.0) or 0.0),
                    trials=per_learner.get(name, 0),
                    config=dict(getattr(state, "best_config", None) or {}),
                )
            )
        history = _history_from_log(self.log_path, self.metric) or [
            (at, score_from_loss(self.metric, loss)) for at, loss in self._history
        ]
        elapsed = self._elapsed()
        if history and history[-1][0] < elapsed:
            history.append((elapsed, history[-1][1]))  # the best held until the search ended
        return SearchOutcome(
            automl=automl,
            elapsed_s=elapsed,
            trials=sum(per_learner.values()),
            best_estimator=getattr(automl, "_best_estimator", None),
            stop_reason=self._stop_reason,
            estimators=summaries,
            score_history=history,
        )


# FLAML's zero-shot configurations for rf and extra_tree name a `criterion` that its own
# regression search space lacks (a KeyError in FLAML 2.7), so only the boosters get them.
ZERO_SHOT_ESTIMATORS = ("lgbm", "xgboost")
ZERO_SHOT_MAX_CELLS = 5_000_000
ZERO_SHOT_MAX_CLASSES = 5


def _zero_shot_starting_points(
    task: TaskName, X: pd.DataFrame, y: pd.Series
) -> dict[str, list[dict[str, Any]]]:
    """FLAML's data-dependent defaults: start the boosters from a configuration that suits
    this data rather than from a tiny one, so a short search reaches good models sooner."""
    from flaml.default import suggest_config

    if X.shape[0] * X.shape[1] > ZERO_SHOT_MAX_CELLS:
        return {}  # FLAML samples large tables anyway, and these configurations are big
    if task == "classification" and y.nunique() > ZERO_SHOT_MAX_CLASSES:
        return {}  # boosters grow one set of trees per class: a first trial would take seconds
    # FLAML sorts the labels several times to describe the data: integer codes, not strings.
    labels = y.astype("category").cat.codes if task == "classification" else y
    points = {}
    for estimator in ZERO_SHOT_ESTIMATORS:
        try:
            configs = suggest_config(task, X, labels, estimator, k=1)
        except Exception:  # no portfolio for this case: FLAML's static start
            log.info("no zero-shot configuration for %s", estimator, exc_info=True)
            continue
        points[estimator] = [c["hyperparameters"] for c in configs]
    return points


def _minus_share(loss: float, share: float) -> float:
    return loss if loss == float("inf") else loss - share * abs(loss)


# Frames where an exception would be raised inside a C library's callback (ctypes swallows
# it and the library may be left inconsistent): wait until the call returns to Python.
_UNSAFE_FRAMES = ("_next_wrapper", "_reset_wrapper")


def _in_library_callback(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name in _UNSAFE_FRAMES:
            return True
        frame = frame.f_back
    return False


def _keep_best_model(automl: AutoML) -> None:
    """After a cut-off, make the best model trained so far the search's model.

    With cross-validation FLAML trains its final model only after the loop; the best trial's
    model (kept by `model_history`, trained on the folds' share of the rows) stands in.
    """
    if getattr(automl, "_trained_estimator", None) is not None:
        return
    best = getattr(automl, "_best_estimator", None)
    states = getattr(automl, "_search_states", None) or {}
    if best in states and states[best].trained_estimator is not None:
        automl._trained_estimator = states[best].trained_estimator


def _history_from_log(log_path: Path, metric: str) -> list[tuple[float, float]]:
    """(seconds, best score so far) at each improvement, from FLAML's trial log."""
    import json

    points: list[tuple[float, float]] = []
    best = float("inf")
    try:
        lines = log_path.read_text().splitlines()
    except OSError:
        return points
    for line in lines:
        try:
            record = json.loads(line)
            loss, at = float(record["validation_loss"]), float(record["wall_clock_time"])
        except (ValueError, KeyError, TypeError):
            continue  # a checkpoint line or a half-written one
        if loss < best:
            best = loss
            points.append((at, score_from_loss(metric, best)))
    return points
