"""The model search: a portfolio first, then FLAML's CFO, then an ensemble, within a deadline.

1. Validation: 5-fold cross-validation on small tables (every row gets an out-of-fold
   prediction, and the final members average their fold models), one holdout fold when
   five fits per trial would not leave room for enough trials.
2. The portfolio (`portfolio.py`), in order: a good model exists within seconds.
3. FLAML's CFO searches around the best configurations of the two best families, the
   better one tried twice as often.
4. Greedy ensemble selection over the best candidates' out-of-fold predictions
   (`ensemble.py`), used only where it beats the best single model on rows its weights
   did not see.

Stopping: a graceful stop (convergence, SIGTERM) ends the search after the trial in progress;
boosters check the trial's deadline every round; a trial overrunning the search's end is cut
off by SIGALRM (`SearchAborted`) and the candidates finished so far are kept.
"""

from __future__ import annotations

import json
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

from contract.tasks import TaskName
from training.pipeline.metrics import score_from_loss

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from training.pipeline.ensemble import BlendedPredictor
    from training.pipeline.learners import Fitted, Fold

log = logging.getLogger(__name__)

FAMILIES = ("lgbm", "xgboost", "hgb", "extra_tree", "rf", "linear", "knn")
KNN_MAX_ROWS = 20_000  # neighbours are compared with every training row: slow beyond this
MONITOR_INTERVAL_S = 0.5
# A trial running past the deadline gets this long before it is cut off.
OVERRUN_GRACE_S = 3.0
TRIAL_SHARE = 0.25  # the most of the search budget that one trial may take
CV_FOLDS = 5
# Five fits per trial are worth it while one fold's fit leaves room for this many trials.
CV_MIN_TRIALS = 8
CV_MAX_ROWS = 50_000
CV_MAX_COST = 5_000_000  # rows x columns x classes above which one holdout fold is used
HOLDOUT_SHARE = 0.2
MAX_VALID_ROWS = 50_000
MAX_SEARCH_TRAIN_ROWS = 400_000
ENSEMBLE_MAX_ROWS = 20_000  # rows used to choose ensemble weights
ENSEMBLE_TYPICAL_MEMBERS = 5
# A trial on fewer columns must beat the same configuration on all by this share of its loss.
SUBSET_MIN_IMPROVEMENT = 0.02
SAVE_S_PER_LEAF = 3e-6  # pickling and compressing a saved model (benchmarks/quality.py)
FINALIZE_RESERVE_S = 0.25  # building the final predictor from fitted models
# When no trial finished in the budget (a machine far busier than the budget assumed), one
# quick model on one fold, a few seconds late, is a better answer than none.
FALLBACK_S = 3.0
# With one holdout fold the final members are refit on every row, with the size (boosting
# rounds) found on the holdout scaled up for the extra rows; the search keeps time for it.
REFIT_SIZE_SCALE = 1.15
REFIT_MAX_SHARE = 0.35  # of the budget, at most, kept back for the refit
MAX_FAILURES_PER_FAMILY = 2


class SearchAborted(BaseException):
    """Raised in the main thread to cut a trial short. BaseException, so no library swallows it."""


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
    weights: dict[str, float] = field(default_factory=dict)


@dataclass
class SearchOutcome:
    predictor: BlendedPredictor | None
    classes: list[str]
    elapsed_s: float
    trials: int
    best_estimator: str | None
    stop_reason: str | None  # None: the budget ran out; "converged"; "interrupted"; "deadline"
    estimators: list[EstimatorSummary]
    score_history: list[tuple[float, float]]  # (seconds, best validation score so far)
    validation: str = ""  # how candidates were compared, for people
    oof_y: np.ndarray | None = None  # validation rows' targets (class codes or values)
    oof_predictions: np.ndarray | None = None  # the final predictor's out-of-fold predictions

    @property
    def has_model(self) -> bool:
        return self.predictor is not None


@dataclass
class ConvergencePolicy:
    """Stop early once more searching has stopped paying off: people in a chat are waiting.

    Converged means the whole portfolio has been tried and the best score has not improved
    for as long again, in trials and in seconds, as it took to find it. Small tables converge
    in seconds; a search that keeps improving runs to its budget.
    """

    min_search_s: float = 4.0
    patience_s: float = 3.0
    patience_trials: int = 12
    min_improvement: float = 0.001  # relative drop in the loss that counts as progress
    enabled: bool = True

    def converged(self, now: _Progress, best: _Progress, portfolio_done: bool) -> bool:
        if not self.enabled or now.elapsed_s < self.min_search_s or not portfolio_done:
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


@dataclass(eq=False)  # identity, not field equality: candidates hold arrays
class Candidate:
    """One configuration evaluated on every validation fold."""

    label: str
    family: str
    config: dict[str, Any]
    loss: float
    oof: np.ndarray  # predictions for the validation rows (`_Validation.rows`)
    models: list[Fitted] | None  # dropped for candidates too weak to join an ensemble
    seconds: float
    predict_s_per_row: float = 0.0
    leaves: int = 0  # in all its fold models: what saving them costs


@dataclass
class _Validation:
    folds: list[tuple[Fold, Fold, np.ndarray]]  # (train, valid, positions of the valid rows)
    rows: np.ndarray  # positions that have out-of-fold predictions, in `oof` order
    y: np.ndarray
    description: str


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
    # Rows the final model will predict right after the search (the holdout): their cost is
    # part of what the search keeps time back for.
    rows_to_predict: int = 0

    def __post_init__(self) -> None:
        self._stop_reason: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._started_at: float | None = None
        self._alarm_fired = False
        self._candidates: list[Candidate] = []
        self._trials_per_family: dict[str, int] = {}
        self._failures: dict[str, int] = {}
        self._history: list[tuple[float, float]] = []
        self._best: Candidate | None = None
        self._best_at = _Progress(0.0, 0)
        self._portfolio_done = False
        self._classes: list[str] = []
        self._refit_reserve_s = 0.0
        self._ensemble_reserve_s = 0.0
        self._loss_s = float("inf")  # the quickest validation loss computed so far
        self._validation_in_use: _Validation | None = None
        self._refit_scale: float | None = None  # all rows / holdout-training rows
        self._X: pd.DataFrame | None = None
        self._y: np.ndarray | None = None

    # -- control from outside ----------------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        """End the search after the trial in progress. Safe from signal handlers and threads."""
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
        self._stop.set()

    def abort_after(self, seconds: float) -> None:
        """Cut the running trial off after `seconds` (main thread only: uses SIGALRM)."""
        current = signal.getitimer(signal.ITIMER_REAL)[0]
        if current == 0 or seconds < current:
            signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))

    # -- the search ----------------------------------------------------------------------------

    def run(self, X: pd.DataFrame, y: pd.Series) -> SearchOutcome:
        previous_alarm = signal.signal(signal.SIGALRM, self._on_alarm)
        stop_monitor = threading.Event()
        monitor = threading.Thread(target=self._monitor, args=(stop_monitor,), daemon=True)
        self._started_at = time.monotonic()
        self._end = self._started_at + self.budget_s
        validation: _Validation | None = None
        try:
            if self._stop_reason is None:  # a stop before the start skips the search
                monitor.start()
                self.abort_after(self.budget_s + OVERRUN_GRACE_S)
                codes = self._encode(y)
                self._X, self._y = X, codes
                validation = self._validation_in_use = self._validation(X, codes)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # trials' warnings are noise to a person
                    self._search(validation)
                validation = self._validation_in_use  # a switch or a partial first trial
                log.info(
                    "trials ended at %.1fs of %.1fs (kept back: ensemble %.2fs, refit %.2fs)",
                    self._elapsed(),
                    self.budget_s,
                    self._ensemble_reserve_s,
                    self._refit_reserve_s,
                )
        except SearchAborted:
            validation = self._validation_in_use
            log.warning("search cut off at %.1fs", self._elapsed())
            if self._stop_reason is None:
                self._stop_reason = "deadline"
        except Exception:
            # Raised inside a library's C callback, the cut-off can surface as the library's
            # own error (XGBoostError); after an alarm that is the cut-off, not a failure.
            if not self._alarm_fired:
                raise
            validation = self._validation_in_use
            log.warning("search cut off at %.1fs (inside a library call)", self._elapsed())
            if self._stop_reason is None:
                self._stop_reason = "deadline"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm)
            stop_monitor.set()
            if monitor.is_alive():
                monitor.join()
        if not self._candidates and self._stop_reason != "interrupted":
            validation = self._fallback(X, y, validation)
        return self._outcome(validation)

    def _fallback(
        self, X: pd.DataFrame, y: pd.Series, validation: _Validation | None
    ) -> _Validation:
        """The portfolio's first model on the first fold, given `FALLBACK_S` past the end
        (after the folds are made, if the cut-off came before that)."""
        import numpy as np

        from training.pipeline.portfolio import PORTFOLIO, for_table

        if validation is None:
            codes = self._encode(y)
            self._X, self._y = X, codes
            validation = self._validation(X, codes)
        fold = validation.folds[0]
        one_fold = _Validation([fold], np.asarray(fold[2]), validation.y, validation.description)
        log.warning("no trial finished in the budget: one quick model, up to %.0fs", FALLBACK_S)
        self._stop = threading.Event()  # the deadline's stop is over; SIGTERM still stops
        self._ensemble_reserve_s = self._refit_reserve_s = 0.0
        self._refit_scale = None  # no time to refit on every row
        self._end = time.monotonic() + FALLBACK_S + FINALIZE_RESERVE_S
        start = PORTFOLIO[0]
        self._try(start.family, for_table(start.family, start.config, fold[0].X.shape[1]), one_fold)
        self._validation_in_use = one_fold
        return one_fold

    def _encode(self, y: pd.Series) -> np.ndarray:
        import numpy as np

        if self.task == "regression":
            return y.to_numpy(dtype=float)
        labels = y.astype(str).to_numpy()
        classes, codes = np.unique(labels, return_inverse=True)
        self._classes = [str(c) for c in classes]
        return codes

    def _validation(self, X: pd.DataFrame, y: np.ndarray) -> _Validation:
        """Five folds for tables small enough to afford them, else one holdout fold."""
        import numpy as np
        from sklearn.model_selection import KFold, StratifiedKFold

        n = len(y)
        if self.task == "classification" and np.bincount(y).min() >= CV_FOLDS:
            splitter: Any = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=self.seed)
        else:
            splitter = KFold(CV_FOLDS, shuffle=True, random_state=self.seed)
        pairs = list(splitter.split(np.zeros(n), y))
        # Trees per round grow with the classes: a wide multiclass table is costly per fit.
        cost = n * X.shape[1] * (len(self._classes) if len(self._classes) > 2 else 1)
        if n > CV_MAX_ROWS or cost > CV_MAX_COST:
            return self._holdout(X, y, pairs[0])
        folds = [self._fold_pair(X, y, train, valid) for train, valid in pairs]
        rows = np.concatenate([valid for _, valid in pairs])
        return _Validation(folds, rows, y, f"{CV_FOLDS}-fold cross-validation")

    def _holdout(self, X: pd.DataFrame, y: np.ndarray, pair: tuple[Any, Any]) -> _Validation:
        import numpy as np

        train, valid = pair
        rng = np.random.default_rng(self.seed)
        if len(valid) > MAX_VALID_ROWS:
            valid = np.sort(rng.choice(valid, MAX_VALID_ROWS, replace=False))
        if len(train) > MAX_SEARCH_TRAIN_ROWS:
            train = np.sort(rng.choice(train, MAX_SEARCH_TRAIN_ROWS, replace=False))
        share = len(valid) / (len(train) + len(valid))
        self._refit_scale = len(y) / len(train)
        return _Validation(
            [self._fold_pair(X, y, train, valid)],
            np.asarray(valid),
            y,
            f"a holdout of {len(valid):,} rows ({share:.0%})",
        )

    @staticmethod
    def _fold_pair(X: pd.DataFrame, y: np.ndarray, train: Any, valid: Any) -> tuple[Any, Any, Any]:
        from training.pipeline.learners import Fold

        return Fold(X.iloc[train], y[train]), Fold(X.iloc[valid], y[valid]), valid

    def _search(self, validation: _Validation) -> None:
        """The portfolio, then tuning. A switch to one holdout fold is recorded in
        `_validation_in_use`, the scheme every candidate shares."""
        from training.pipeline.portfolio import PORTFOLIO, for_table
        from training.pipeline.target_encoding import high_cardinality_columns

        X = validation.folds[0][0].X
        many_levels = bool(high_cardinality_columns(X))
        columns: list[str] | None = None  # where fewer columns validated better: those
        for start in PORTFOLIO:
            if self._should_stop():
                return
            if start.config.get("target_encoding") and not many_levels:
                continue
            if start.family == "knn" and len(validation.y) > KNN_MAX_ROWS:
                continue
            config = for_table(start.family, start.config, len(columns or X.columns))
            if columns is not None:
                config = {**config, "columns": columns}
            self._try(start.family, config, validation)
            if len(self._candidates) == 1 and len(validation.folds) > 1:
                validation = self._maybe_switch_to_holdout(validation)
                self._validation_in_use = validation  # a cut-off must see the switch too
            if start is PORTFOLIO[0]:  # early: the search may have time for few trials
                columns = self._try_informative_columns(validation)
        self._portfolio_done = True
        self._tune(validation)

    def _try_informative_columns(self, validation: _Validation) -> list[str] | None:
        """The best LightGBM so far again, on the columns that carry its gain: on a table
        with many columns of noise it can validate much better (see column_selection.py).
        Those columns if it did, for the rest of the portfolio; else None."""
        from training.pipeline.column_selection import informative_columns

        tried = [c for c in self._candidates if c.family == "lgbm" and c.models]
        if not tried or self._should_stop():
            return None
        best = min(tried, key=lambda c: c.loss)
        names = [str(c) for c in validation.folds[0][0].X.columns]
        kept = informative_columns(best.models or [], names)
        if kept is None:
            return None
        # Each tree looks at as many columns as before (a wide table's share), at most all.
        share = min(1.0, best.config.get("feature_fraction", 1.0) * len(names) / len(kept))
        config = {**best.config, "feature_fraction": share, "columns": kept}
        loss = self._try("lgbm", config, validation)
        # Clearly better, not by the noise of a small validation set: the rest of the
        # portfolio then learns from these columns only.
        better = loss is not None and loss < _minus_share(best.loss, SUBSET_MIN_IMPROVEMENT)
        log.info(
            "%s on %d of its %d columns: %s",
            best.label,
            len(kept),
            len(names),
            "better, the portfolio goes on with them" if better else "not better",
        )
        return kept if better else None

    def _maybe_switch_to_holdout(self, validation: _Validation) -> _Validation:
        """After the first trial: if five fits per trial leave too few trials, use one fold."""
        first = self._candidates[0]
        per_fold = first.seconds / len(validation.folds)
        if per_fold * len(validation.folds) * CV_MIN_TRIALS <= self.budget_s:
            return validation
        import numpy as np

        train, valid, positions = validation.folds[0]
        log.info("one fold takes %.1fs: switching to a holdout fold", per_fold)
        # The first candidate keeps its first fold's model and predictions.
        in_first = np.isin(validation.rows, positions)
        first.oof = first.oof[in_first]
        first.models = first.models[:1] if first.models else None
        first.loss = self._loss(validation.y[positions], first.oof)
        first.seconds = per_fold
        self._best = first
        share = len(positions) / len(validation.y)
        self._refit_scale = len(validation.y) / len(train.y)
        return _Validation(
            [(train, valid, positions)],
            positions,
            validation.y,
            f"a holdout of {len(positions):,} rows ({share:.0%})",
        )

    def _tune(self, validation: _Validation) -> None:
        """FLAML's CFO around the best configurations of the two best tunable families."""
        from training.pipeline.portfolio import LOW_COST, search_space

        searchers: dict[str, Any] = {}
        turn = 0
        while not self._should_stop():
            ranked = self._families_by_loss(tunable=True)
            if not ranked:
                return
            family = ranked[0] if len(ranked) == 1 or turn % 3 != 2 else ranked[1]
            turn += 1
            if family not in searchers:
                space = search_space(family, self._columns())
                if space is None:
                    continue
                searchers[family] = self._new_searcher(family, space, LOW_COST.get(family, {}))
            searcher = searchers[family]
            trial_id = f"{family}-{turn}"
            config = searcher.suggest(trial_id)
            if config is None:  # CFO converged for this family: take its result as final
                searchers.pop(family)
                self._failures[family] = MAX_FAILURES_PER_FAMILY  # no more tuning of it
                continue
            config = {**self._fixed_settings(family), **_plain(config)}
            loss = self._try(family, config, validation)
            result = {"loss": loss if loss is not None else 1e9, "config": config}
            searcher.on_trial_complete(trial_id, result)

    def _fixed_settings(self, family: str) -> dict[str, Any]:
        """Settings of the family's best configuration that the tune space does not vary
        (target encoding, LightGBM's extra trees): tuning keeps them."""
        from training.pipeline.portfolio import search_space

        space = search_space(family, self._columns()) or {}
        best = min((c for c in self._candidates if c.family == family), key=lambda c: c.loss)
        return {k: v for k, v in best.config.items() if k not in space}

    def _new_searcher(self, family: str, space: dict[str, Any], low_cost: dict[str, Any]) -> Any:
        from flaml.tune.searcher.blendsearch import CFO

        tried = [c for c in self._candidates if c.family == family]
        points = [_in_space(c.config, space) for c in tried]
        return CFO(
            metric="loss",
            mode="min",
            space=space,
            low_cost_partial_config=low_cost,
            points_to_evaluate=points or None,
            evaluated_rewards=[c.loss for c in tried] or None,
            seed=self.seed + 20,
        )

    def _families_by_loss(self, *, tunable: bool) -> list[str]:
        from training.pipeline.portfolio import search_space

        best: dict[str, float] = {}
        for c in self._candidates:
            best[c.family] = min(best.get(c.family, float("inf")), c.loss)
        names = sorted(best, key=lambda f: best[f])
        names = [f for f in names if self._failures.get(f, 0) < MAX_FAILURES_PER_FAMILY]
        if tunable:
            names = [f for f in names if search_space(f) is not None]
        return names[:2]

    def _columns(self) -> int:
        return 0 if self._X is None else int(self._X.shape[1])

    def _should_stop(self) -> bool:
        return self._stop.is_set() or self._time_left() <= 0.2

    def _time_left(self) -> float:
        return self._trials_end() - time.monotonic()

    def _trials_end(self) -> float:
        """When trials must be done: the end, less what choosing the ensemble and refitting
        will take."""
        reserve = FINALIZE_RESERVE_S + self._ensemble_reserve_s + self._refit_reserve_s
        return self._end - reserve

    # -- one trial -----------------------------------------------------------------------------

    def _try(self, family: str, config: dict[str, Any], validation: _Validation) -> float | None:
        """Train `config` on every fold; record it as a candidate. None if it failed."""
        import numpy as np

        from training.pipeline.learners import FitContext, train

        if self._failures.get(family, 0) >= MAX_FAILURES_PER_FAMILY:
            return None
        started = time.monotonic()
        trial_end = min(self._trials_end(), started + max(1.0, TRIAL_SHARE * self.budget_s))
        predictions: list[np.ndarray] = []
        models: list[Fitted] = []
        predict_s = 0.0
        try:
            for i, (train_fold, valid, _) in enumerate(validation.folds):
                left = len(validation.folds) - i
                deadline = time.monotonic() + (trial_end - time.monotonic()) / left
                ctx = FitContext(
                    self.task,
                    len(self._classes),
                    self.n_jobs,
                    self.seed,
                    deadline,
                    self._stop,
                    folds=len(validation.folds),
                )
                fitted = train(family, config, train_fold, valid, ctx)
                predicting = time.monotonic()
                predictions.append(fitted.predict(valid.X))
                predict_s += time.monotonic() - predicting
                models.append(fitted)
                if self._stop.is_set() and i < len(validation.folds) - 1:
                    if not self._candidates:  # better a model on part of the folds than none
                        self._keep_partial_trial(family, config, validation, predictions, models)
                    return None  # a stop mid-trial: an incomplete trial is no candidate
        except (SearchAborted, KeyboardInterrupt):
            if not self._candidates and models:
                self._keep_partial_trial(family, config, validation, predictions, models)
            raise
        except Exception:
            self._failures[family] = self._failures.get(family, 0) + 1
            log.warning("a %s trial failed", family, exc_info=True)
            return None
        oof = np.concatenate(predictions)
        scored_at = time.monotonic()
        loss = self._loss(validation.y[validation.rows], oof)
        self._reserve_for_ensemble(time.monotonic() - scored_at, len(oof))
        self._record(
            family=family,
            config=config,
            loss=loss,
            oof=oof,
            models=models,
            seconds=time.monotonic() - started,
            # one row through the whole bag of fold models
            predict_s_per_row=predict_s / max(len(oof), 1) * len(models),
            leaves=sum(m.leaves() for m in models),
        )
        return loss

    def _keep_partial_trial(
        self,
        family: str,
        config: dict[str, Any],
        validation: _Validation,
        predictions: list[np.ndarray],
        models: list[Fitted],
    ) -> None:
        """The search ends before its first trial went through every fold: the folds done
        make the one candidate, validated on their own rows (a slow machine, a tiny budget)."""
        import numpy as np

        done = validation.folds[: len(models)]
        rows = np.concatenate([positions for _, _, positions in done])
        self._validation_in_use = _Validation(
            done, rows, validation.y, f"{len(done)} of {len(validation.folds)} folds"
        )
        oof = np.concatenate(predictions)
        loss = self._loss(validation.y[rows], oof)
        self._record(family=family, config=config, loss=loss, oof=oof, models=models, seconds=0.0)
        log.warning("the search ended in its first trial: kept %d fold model(s)", len(models))

    def _loss(self, y: np.ndarray, predicted: np.ndarray) -> float:
        import math

        from training.pipeline.metrics import validation_loss

        loss = validation_loss(self.metric, y, predicted)
        return loss if math.isfinite(loss) else float("inf")

    def _record(
        self,
        *,
        family: str,
        config: dict[str, Any],
        loss: float,
        oof: np.ndarray,
        models: list[Fitted],
        seconds: float,
        predict_s_per_row: float = 0.0,
        leaves: int = 0,
    ) -> None:
        count = self._trials_per_family.get(family, 0) + 1
        self._trials_per_family[family] = count
        label = family if count == 1 else f"{family} {count}"
        candidate = Candidate(
            label, family, config, loss, oof, models, seconds, predict_s_per_row, leaves
        )
        with self._lock:
            self._candidates.append(candidate)
            if self._best is None or loss < _minus_share(
                self._best.loss, self.policy.min_improvement
            ):
                self._best_at = _Progress(self._elapsed(), len(self._candidates))
            if self._best is None or loss < self._best.loss:
                self._best = candidate
                self._history.append((self._elapsed(), score_from_loss(self.metric, loss)))
        self._forget_weak_models()
        self._log_trial(candidate)
        self._update_refit_reserve()
        now = _Progress(self._elapsed(), len(self._candidates))
        if self.policy.converged(now, self._best_at, self._portfolio_done):
            log.info("search converged at %.1fs after %d trials", now.elapsed_s, now.trials)
            self.request_stop("converged")

    def _reserve_for_ensemble(self, loss_s: float, rows: int) -> None:
        """Ensemble selection scores blends ROUNDS x pool times on each half of the rows, then
        on all of them when it wins (~2 x ROUNDS x pool on all rows): keep that time back."""
        from training.pipeline.ensemble import MAX_MEMBERS_CONSIDERED, ROUNDS

        # The quickest loss seen, not the latest: one slow call (a busy core, a first call's
        # lazy import) would otherwise hold back a quarter of the budget for nothing.
        self._loss_s = min(self._loss_s, loss_s * min(1.0, ENSEMBLE_MAX_ROWS / max(rows, 1)))
        estimate = 2 * ROUNDS * MAX_MEMBERS_CONSIDERED * self._loss_s
        # The holdout predictions of a blend of the strongest candidates (made once: the
        # charts and the metrics share them).
        strongest = sorted(self._candidates, key=lambda c: c.loss)[:ENSEMBLE_TYPICAL_MEMBERS]
        estimate += self.rows_to_predict * sum(c.predict_s_per_row for c in strongest)
        # Saving them: five fold models of 1,700 boosting rounds of 63 leaves took 1.2 s.
        estimate += SAVE_S_PER_LEAF * sum(c.leaves for c in strongest)
        self._ensemble_reserve_s = min(0.25 * self.budget_s, estimate)

    def _update_refit_reserve(self) -> None:
        """With a holdout fold, keep back what refitting the best candidate on all rows costs."""
        if self._refit_scale is None or self._best is None:
            return
        estimate = 1.3 * self._best.seconds * self._refit_scale
        # A refit that would not fit anyway is not waited for.
        affordable = estimate <= REFIT_MAX_SHARE * self.budget_s
        self._refit_reserve_s = estimate if affordable else 0.0

    def _forget_weak_models(self) -> None:
        """Keep the fitted models of the candidates that could still join the ensemble."""
        from training.pipeline.ensemble import MAX_MEMBERS_CONSIDERED

        keep = {id(c) for c in _pool(self._candidates, MAX_MEMBERS_CONSIDERED)}
        for c in self._candidates:
            if id(c) not in keep:
                c.models = None

    def _log_trial(self, candidate: Candidate) -> None:
        record = {
            "record_id": len(self._candidates),
            "learner": candidate.family,
            "label": candidate.label,
            "config": candidate.config,
            "validation_loss": candidate.loss,
            "trial_time": round(candidate.seconds, 3),
            "wall_clock_time": round(self._elapsed(), 3),
        }
        try:
            with self.log_path.open("a") as handle:
                handle.write(json.dumps(record, default=_json_default) + "\n")
        except OSError:
            log.debug("could not write the search log", exc_info=True)

    # -- the end -------------------------------------------------------------------------------

    def _outcome(self, validation: _Validation | None) -> SearchOutcome:
        predictor: BlendedPredictor | None = None
        weights: dict[str, float] = {}
        oof: np.ndarray | None = None
        if validation is not None and self._candidates:
            predictor, weights, oof = self._final_predictor(validation)
            if self._refit_scale is not None and self._stop_reason != "interrupted":
                self._refit_on_all_rows(predictor)
        summaries = self._summaries()
        best_name = None
        if predictor is not None:
            best_name = "ensemble" if predictor.is_ensemble else predictor.members[0].family
            if predictor.is_ensemble and oof is not None and validation is not None:
                loss = self._loss(validation.y[validation.rows], oof)
                summaries.insert(
                    0,
                    EstimatorSummary(
                        estimator="ensemble",
                        validation_score=score_from_loss(self.metric, loss),
                        train_time_s=sum(c.seconds for c in self._candidates if c.label in weights),
                        trials=len(weights),
                        config={},
                        weights=weights,
                    ),
                )
        elapsed = self._elapsed()
        history = list(self._history)
        if history and history[-1][0] < elapsed:
            history.append((elapsed, history[-1][1]))  # the best held until the search ended
        return SearchOutcome(
            predictor=predictor,
            classes=self._classes,
            elapsed_s=elapsed,
            trials=len(self._candidates),
            best_estimator=best_name,
            stop_reason=self._stop_reason,
            estimators=summaries,
            score_history=history,
            validation=validation.description if validation is not None else "",
            oof_y=validation.y[validation.rows] if validation is not None else None,
            oof_predictions=oof,
        )

    def _final_predictor(
        self, validation: _Validation
    ) -> tuple[BlendedPredictor, dict[str, float], np.ndarray]:
        import numpy as np

        from training.pipeline.ensemble import (
            MAX_MEMBERS_CONSIDERED,
            BlendedPredictor,
            as_members,
            ensemble_beats_best,
            greedy_selection,
        )

        pool = [c for c in _pool(self._candidates, MAX_MEMBERS_CONSIDERED) if c.models]
        best = pool[0]
        single = BlendedPredictor(as_members([best.label], [best.family], [1.0], [best.models]))
        if len(pool) < 2:
            return single, {}, best.oof
        y = validation.y[validation.rows]
        rows = _selection_rows(len(y), self.seed)
        predictions = [c.oof[rows] for c in pool]
        wins, ensemble_loss, single_loss = ensemble_beats_best(
            predictions, y[rows], self._loss, self.seed
        )
        log.info("ensemble %.5f vs best single %.5f on unseen halves", ensemble_loss, single_loss)
        if not wins:
            return single, {}, best.oof
        weights, _ = greedy_selection(predictions, y[rows], self._loss)
        members = as_members(
            [c.label for c in pool], [c.family for c in pool], weights, [c.models for c in pool]
        )
        if len(members) < 2:
            return single, {}, best.oof
        blended = sum(w * c.oof for w, c in zip(weights, pool, strict=True))
        predictor = BlendedPredictor(members)
        return predictor, predictor.weights, np.asarray(blended)

    def _refit_on_all_rows(self, predictor: BlendedPredictor) -> None:
        """Members chosen on a holdout fold learn from every row, at the size the holdout
        found, while the budget allows; a member that cannot finish keeps its fold model."""
        from training.pipeline.learners import FitContext, Fold, train

        if self._X is None or self._y is None or self._refit_scale is None:
            return
        by_label = {c.label: c for c in self._candidates}
        everything = Fold(self._X, self._y)
        for member in predictor.members:
            candidate = by_label.get(member.label)
            if candidate is None or len(member.models) != 1:
                continue
            estimate = 1.3 * candidate.seconds * self._refit_scale
            if estimate > self._end - time.monotonic():
                log.info("no time to refit %s on all rows", member.label)
                continue
            ctx = FitContext(
                self.task, len(self._classes), self.n_jobs, self.seed, self._end, self._stop
            )
            try:
                config = member.models[0].sized_config(candidate.config, REFIT_SIZE_SCALE)
                refit = train(member.family, config, everything, None, ctx)
            except Exception:
                log.warning("refitting %s on all rows failed", member.label, exc_info=True)
                continue
            if refit.rounds is not None and refit.rounds < config.get("rounds", 0):
                continue  # stopped by the deadline: smaller than what the holdout chose
            member.models = [refit]
            log.info("refit %s on all %d rows", member.label, len(self._y))

    def _summaries(self) -> list[EstimatorSummary]:
        summaries = []
        for family in FAMILIES:
            tried = [c for c in self._candidates if c.family == family]
            if not tried:
                continue
            best = min(tried, key=lambda c: c.loss)
            summaries.append(
                EstimatorSummary(
                    estimator=family,
                    validation_score=score_from_loss(self.metric, best.loss),
                    train_time_s=sum(c.seconds for c in tried),
                    trials=len(tried),
                    config=dict(best.config),
                )
            )
        return summaries

    # -- watching the search ---------------------------------------------------------------

    def _elapsed(self) -> float:
        return time.monotonic() - (self._started_at or time.monotonic())

    def _monitor(self, stop: threading.Event) -> None:
        while not stop.wait(MONITOR_INTERVAL_S):
            if self.on_progress is None:
                continue
            with self._lock:
                best = self._best
                trials = len(self._candidates)
            self.on_progress(
                SearchSnapshot(
                    elapsed_s=self._elapsed(),
                    trials=trials,
                    best_estimator=best.family if best else None,
                    best_score=score_from_loss(self.metric, best.loss) if best else None,
                )
            )

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if _in_library_callback(frame):
            signal.setitimer(signal.ITIMER_REAL, 0.05)  # try again once back in Python
            return
        self._alarm_fired = True
        raise SearchAborted


def _pool(candidates: list[Candidate], size: int) -> list[Candidate]:
    """The best `size` candidates, and the best of each family (diversity helps ensembles)."""
    ranked = sorted(candidates, key=lambda c: c.loss)
    chosen = ranked[:size]
    for family in FAMILIES:
        best = next((c for c in ranked if c.family == family), None)
        if best is not None and best not in chosen:
            chosen.append(best)
    return [c for c in ranked if c in chosen]


def _selection_rows(n: int, seed: int) -> Any:
    import numpy as np

    if n <= ENSEMBLE_MAX_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, ENSEMBLE_MAX_ROWS, replace=False))


def _in_space(config: dict[str, Any], space: dict[str, Any]) -> dict[str, Any]:
    """A portfolio configuration restricted to (and completed for) a family's tune space."""
    point = {}
    for name, domain in space.items():
        value = config.get(name)
        if value is None:
            lower, upper = getattr(domain, "lower", None), getattr(domain, "upper", None)
            categories = getattr(domain, "categories", None)
            if categories:
                value = categories[0]
            elif lower is not None and upper is not None:
                value = _default_in(name, lower, upper)
        point[name] = value
    return point


_DEFAULTS = {
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "lambda_l2": 1e-3,
    "cat_smooth": 10.0,
    "eta": 0.1,
    "max_depth": 6,
    "min_child_weight": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "lambda": 1.0,
    "max_features": 1.0,
    "min_samples_leaf": 1,
}


def _default_in(name: str, lower: float, upper: float) -> float:
    value = _DEFAULTS.get(name, lower)
    return min(max(value, lower), upper)


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> Python numbers (configs go to JSON and to the libraries)."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()}


def _json_default(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


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
