"""The search: portfolio first, a stop from outside, the deadline cut-off, convergence, the
switch to a holdout fold, and the ensemble it returns."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.pipeline.search import CV_FOLDS, ConvergencePolicy, Search, _Progress


def _data(rows: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"x{i}" for i in range(8)])
    y = pd.Series(np.where(X["x0"] + X["x1"] + rng.normal(size=rows) > 0, "a", "b"))
    return X, y


def _search(tmp_path: Path, budget: float, **kwargs) -> Search:
    settings = {
        "task": "classification",
        "metric": "roc_auc",
        "budget_s": budget,
        "n_jobs": 1,
        "log_path": tmp_path / "log.jsonl",
        "policy": ConvergencePolicy(enabled=False),
    } | kwargs
    return Search(**settings)


def test_convergence_needs_the_portfolio_quiet_time_and_quiet_trials() -> None:
    policy = ConvergencePolicy(min_search_s=4, patience_s=3, patience_trials=12)
    best = _Progress(elapsed_s=2.0, trials=10)
    assert policy.converged(_Progress(6.0, 25), best, portfolio_done=True)
    assert not policy.converged(_Progress(6.0, 20), best, portfolio_done=True)  # few trials
    assert not policy.converged(_Progress(4.5, 40), best, portfolio_done=True)  # little time
    # Until every family of the portfolio has had its turn, nothing has converged.
    assert not policy.converged(_Progress(6.0, 40), best, portfolio_done=False)
    late = _Progress(elapsed_s=20.0, trials=100)  # found late: wait as long again
    assert not policy.converged(_Progress(30.0, 250), late, portfolio_done=True)
    assert policy.converged(_Progress(41.0, 250), late, portfolio_done=True)
    assert not ConvergencePolicy(enabled=False).converged(_Progress(60, 500), best, True)


@pytest.mark.slow
def test_the_portfolio_gives_every_family_a_turn_and_a_model_within_seconds(
    tmp_path: Path,
) -> None:
    X, y = _data(rows=600)
    seen = []
    search = _search(tmp_path, 25, on_progress=seen.append)
    outcome = search.run(X, y)
    assert outcome.has_model
    assert {e.estimator for e in outcome.estimators} >= {
        "lgbm",
        "xgboost",
        "hgb",
        "extra_tree",
        "rf",
        "linear",
    }
    trials = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert trials[0]["learner"] == "lgbm"
    assert trials[0]["wall_clock_time"] < 5  # the first answer comes early
    assert outcome.validation == f"{CV_FOLDS}-fold cross-validation"
    assert outcome.oof_y is not None and len(outcome.oof_y) == len(y)  # every row out-of-fold
    assert seen and seen[-1].trials > 0
    scores = [s for _, s in outcome.score_history]
    assert scores == sorted(scores)  # ROC AUC: the best so far only rises


@pytest.mark.slow
def test_stop_from_another_thread_ends_the_search_with_a_model(tmp_path: Path) -> None:
    X, y = _data()
    search = _search(tmp_path, 120)
    timer = threading.Timer(3.0, search.request_stop, args=("interrupted",))
    timer.start()
    started = time.monotonic()
    outcome = search.run(X, y)
    assert time.monotonic() - started < 15
    assert outcome.stop_reason == "interrupted"
    assert outcome.has_model
    assert outcome.trials > 0


@pytest.mark.slow
def test_deadline_cuts_off_an_overrunning_search(tmp_path: Path) -> None:
    X, y = _data()
    search = _search(tmp_path, 60)
    # A deadline far shorter than the search's own budget, as when a trial overruns.
    original_abort_after = search.abort_after
    search.abort_after = lambda seconds: original_abort_after(4.0)  # type: ignore[method-assign]
    started = time.monotonic()
    outcome = search.run(X, y)
    assert time.monotonic() - started < 15
    assert outcome.stop_reason == "deadline"
    assert outcome.has_model


def test_a_search_with_no_finished_trial_still_gives_one_quick_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every trial cut off before its first fold ended (a machine far busier than the
    budget assumed): one quick model a few seconds late, not a failed job."""
    from training.pipeline import learners

    fast = learners.TRAINERS["lgbm"]
    calls = {"n": 0}

    def first_call_hangs(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(5)  # cut off by the deadline below
        return fast(*args, **kwargs)

    monkeypatch.setitem(learners.TRAINERS, "lgbm", first_call_hangs)
    X, y = _data(rows=500)
    search = _search(tmp_path, 60)
    original_abort_after = search.abort_after
    search.abort_after = lambda seconds: original_abort_after(1.0)  # type: ignore[method-assign]
    import lightgbm  # noqa: F401  (so the cut-off falls in the trial, not in imports)
    import sklearn.model_selection  # noqa: F401

    started = time.monotonic()
    outcome = search.run(X, y)
    assert time.monotonic() - started < 1.0 + 5 + 4  # the cut-off, the sleep, the fallback
    assert outcome.stop_reason == "deadline"
    assert outcome.has_model and outcome.trials == 1


def test_stop_before_the_start_skips_the_search(tmp_path: Path) -> None:
    X, y = _data(rows=200)
    search = _search(tmp_path, 30)
    search.request_stop("interrupted")
    outcome = search.run(X, y)
    assert outcome.trials == 0
    assert not outcome.has_model


@pytest.mark.slow
def test_a_slow_first_fold_switches_to_one_holdout_fold(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any first fold is "slow" when five fits per trial must leave room for 10,000 trials.
    monkeypatch.setattr("training.pipeline.search.CV_MIN_TRIALS", 10_000)
    X, y = _data(rows=5000)
    search = _search(tmp_path, 20)  # room for the refit also on a loaded machine
    with caplog.at_level("INFO", logger="training.pipeline.search"):
        outcome = search.run(X, y)
    assert outcome.has_model
    assert outcome.validation.startswith("a holdout of 1,000 rows")
    assert outcome.oof_y is not None and len(outcome.oof_y) == 1000
    assert outcome.oof_predictions is not None and len(outcome.oof_predictions) == 1000
    # The best member chosen on the holdout fold learned from every row at the end.
    assert any("on all 5000 rows" in r.message for r in caplog.records)


@pytest.mark.slow
def test_a_wide_multiclass_table_is_validated_on_one_holdout_fold(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(400, 1500)), columns=[f"p{i}" for i in range(1500)])
    y = pd.Series([f"c{i}" for i in rng.integers(0, 10, 400)])
    outcome = _search(tmp_path, 8).run(X, y)
    assert outcome.validation.startswith("a holdout of 80 rows")
    assert outcome.has_model


@pytest.mark.slow
def test_an_ensemble_is_returned_only_when_it_beats_the_best_single_model(
    tmp_path: Path,
) -> None:
    """Two signals of different shapes (a linear one, an interaction) on a small table: a
    blend of families wins; the ensemble row lists its members and weights."""
    rng = np.random.default_rng(3)
    n = 700
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    signal = X["x0"] + 0.8 * X["x1"] + 1.2 * (X["x2"] * X["x3"] > 0) + rng.normal(size=n)
    y = pd.Series(np.where(signal > 0.5, "yes", "no"))
    outcome = _search(tmp_path, 20).run(X, y)
    assert outcome.predictor is not None
    if outcome.best_estimator == "ensemble":
        row = outcome.estimators[0]
        assert row.estimator == "ensemble"
        assert abs(sum(row.weights.values()) - 1) < 1e-3
        assert len(row.weights) >= 2
        assert outcome.predictor.is_ensemble
    else:  # the honest check preferred one model: then there is no ensemble row at all
        assert all(e.estimator != "ensemble" for e in outcome.estimators)
        assert not outcome.predictor.is_ensemble
    proba = outcome.predictor.predict_raw(X.head(10))
    assert proba.shape == (10, 2)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.slow
def test_a_search_cut_off_in_its_first_trial_keeps_the_folds_it_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow machine or a tiny budget: a model on part of the folds beats no model."""
    from training.pipeline import learners

    fast = learners.TRAINERS["lgbm"]

    def slow_lgbm(*args, **kwargs):
        time.sleep(0.6)
        return fast(*args, **kwargs)

    monkeypatch.setitem(learners.TRAINERS, "lgbm", slow_lgbm)
    X, y = _data(rows=500)
    search = _search(tmp_path, 60)
    original_abort_after = search.abort_after
    search.abort_after = lambda seconds: original_abort_after(1.5)  # type: ignore[method-assign]
    import lightgbm  # noqa: F401  (so the cut-off falls in the trial, not in imports)
    import sklearn.model_selection  # noqa: F401

    outcome = search.run(X, y)
    assert outcome.stop_reason == "deadline"
    assert outcome.has_model and outcome.trials == 1
    assert outcome.validation.endswith(f"of {CV_FOLDS} folds")
    assert outcome.oof_y is not None and 0 < len(outcome.oof_y) < len(y)
