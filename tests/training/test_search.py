"""The search's control over FLAML: convergence, a stop from outside, the deadline cut-off.

These use FLAML's search state (see training/search.py); they fail loudly if a FLAML
upgrade changes it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.search import ConvergencePolicy, Search, _Progress


def _data(rows: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"x{i}" for i in range(8)])
    y = pd.Series(np.where(X["x0"] + X["x1"] + rng.normal(size=rows) > 0, "a", "b"))
    return X, y


def test_convergence_needs_quiet_time_and_quiet_trials() -> None:
    policy = ConvergencePolicy(min_search_s=4, patience_s=3, patience_trials=20)
    best = _Progress(elapsed_s=2.0, trials=10)
    assert policy.converged(_Progress(6.0, 40), best, fewest_trials=8)
    assert not policy.converged(_Progress(6.0, 25), best, fewest_trials=8)  # too few trials
    assert not policy.converged(_Progress(4.5, 40), best, fewest_trials=8)  # too little time
    # An estimator with a couple of trials has not shown what it can do yet.
    assert not policy.converged(_Progress(6.0, 40), best, fewest_trials=2)
    late = _Progress(elapsed_s=20.0, trials=100)  # found late: wait as long again
    assert not policy.converged(_Progress(30.0, 250), late, fewest_trials=8)
    assert policy.converged(_Progress(41.0, 250), late, fewest_trials=8)
    assert not ConvergencePolicy(enabled=False).converged(_Progress(60, 500), best, 50)


@pytest.mark.slow
def test_stop_from_another_thread_ends_the_search_with_a_model(tmp_path: Path) -> None:
    X, y = _data()
    seen = []
    search = Search(
        task="classification",
        metric="roc_auc",
        budget_s=120,
        n_jobs=2,
        log_path=tmp_path / "log.jsonl",
        policy=ConvergencePolicy(enabled=False),
        on_progress=seen.append,
    )
    timer = threading.Timer(3.0, search.request_stop, args=("interrupted",))
    timer.start()
    started = time.monotonic()
    outcome = search.run(X, y)
    assert time.monotonic() - started < 30
    assert outcome.stop_reason == "interrupted"
    assert outcome.has_model
    assert outcome.trials > 0
    assert seen and seen[-1].trials > 0
    assert outcome.score_history
    scores = [s for _, s in outcome.score_history]
    assert scores == sorted(scores)  # ROC AUC: the best so far only rises
    assert {e.estimator for e in outcome.estimators} == {
        "lrl1",
        "lgbm",
        "xgboost",
        "rf",
        "extra_tree",
    }


@pytest.mark.slow
def test_deadline_cuts_off_an_overrunning_search(tmp_path: Path) -> None:
    X, y = _data()
    search = Search(
        task="classification",
        metric="roc_auc",
        budget_s=60,
        n_jobs=2,
        log_path=tmp_path / "log.jsonl",
        policy=ConvergencePolicy(enabled=False),
    )
    # A deadline far shorter than FLAML's own budget, as when a trial overruns.
    original_abort_after = search.abort_after
    search.abort_after = lambda seconds: original_abort_after(4.0)  # type: ignore[method-assign]
    started = time.monotonic()
    outcome = search.run(X, y)
    assert time.monotonic() - started < 15
    assert outcome.stop_reason == "deadline"
    assert outcome.has_model


def test_stop_before_the_start_skips_the_search(tmp_path: Path) -> None:
    X, y = _data(rows=200)
    search = Search(
        task="classification", metric="roc_auc", budget_s=30, n_jobs=1, log_path=tmp_path / "l"
    )
    search.request_stop("interrupted")
    outcome = search.run(X, y)
    assert outcome.trials == 0
    assert not outcome.has_model
