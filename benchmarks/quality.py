"""Model quality: our engine against plain FLAML and AutoGluon, same rows, split and budget.

Run by `make bench`, never by `make test` (it trains for minutes):

    .venv/bin/python benchmarks/quality.py [--budget 30] [--datasets a,b] [--repeats 1]
                                           [--skip-autogluon]

For each dataset (sklearn's bundled ones and tables generated here deterministically; nothing
is downloaded at run time except the pip install of AutoGluon's env):

1. the table is written to a CSV; the engine's own reader, target cleaning
   (`prepare_target`) and split (`split_holdout`, same seed) pick the training and holdout
   rows, so all three systems learn from the same rows and are scored on the same rows;
2. (a) our engine: `run_job` on the CSV with the budget (no charts, no EDA report); its saved
   model predicts the holdout rows from their raw columns;
   (b) plain FLAML: `AutoML().fit(X, y, task, metric, time_budget)` on the columns as
   `pd.read_csv` gives them, every other setting left at its default;
   (c) AutoGluon: `TabularPredictor.fit(presets="medium_quality", time_limit=budget)`, run by
   benchmarks/autogluon_worker.py inside its own venv (benchmarks/.envs/autogluon, created on
   first use, without torch); parquet files in, a JSON result out;
3. one function (`score`) scores all three on the holdout rows: ROC AUC for two classes,
   accuracy (and log loss) for more, R² for regression. Each system optimises the metric the
   engine picks by default (ROC AUC, log loss, R²).

Results: a table on stdout, benchmarks/results/quality.json and benchmarks/results/quality.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache" / "quality"
RESULTS = HERE / "results"
AG_ENV = HERE / ".envs" / "autogluon"
AG_WORKER = HERE / "autogluon_worker.py"
# The gradient-boosting extras need no torch; without them AutoGluon trains only RF, extra
# trees and KNN. No `fastai`/`all` extra: those pull torch (~2 GB of wheels).
AG_REQUIREMENTS = ("autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3",)
SYSTEMS = ("ours", "flaml", "autogluon")
HEADLINE = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}
TIE = 0.002  # score differences smaller than this count as a tie in the summary


# ---- datasets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    name: str
    target: str
    about: str
    build: Callable[[], pd.DataFrame] | None = None
    file: Path | None = None  # a file in the repository, used as it is


def _sklearn_frame(loader: Callable[..., Any]) -> pd.DataFrame:
    return loader(as_frame=True).frame


def breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return _sklearn_frame(load_breast_cancer)


def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    return _sklearn_frame(load_wine)


def digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    return _sklearn_frame(load_digits)


def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return _sklearn_frame(load_diabetes)


def _with_missing(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    out = values.astype(object)
    out[rng.random(len(out)) < share] = None
    return out


def _random_ids(rng: np.random.Generator, rows: int, start: int) -> np.ndarray:
    """Unique integer identifiers in random order: no signal, and not a run like 1..n."""
    return start + rng.choice(rows * 20, size=rows, replace=False)


def churn_dates(rows: int = 4000) -> pd.DataFrame:
    """A subscription export: an id, a signup date whose month matters, gaps in categoricals."""
    rng = np.random.default_rng(11)
    signup = [date(2020, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 1095, rows)]
    month = np.array([d.month for d in signup])
    plan = rng.choice(["Basic", "Standard", "Premium", "Enterprise"], rows, p=[0.4, 0.3, 0.2, 0.1])
    payment = rng.choice(["card", "bank transfer", "paypal", "invoice"], rows)
    region = rng.choice(["North", "South", "East", "West", "Central", "Islands"], rows)
    tenure = rng.integers(1, 72, rows)
    spend = np.round(rng.gamma(4.0, 15.0, rows), 2)
    tickets = rng.poisson(1.2, rows)
    seats = rng.integers(1, 50, rows)
    logit = (
        -0.8
        + 1.4 * np.isin(month, [11, 12])  # holiday-promotion signups leave
        - 0.7 * np.isin(month, [6, 7])
        + 0.6 * (plan == "Basic")
        - 0.5 * (plan == "Enterprise")
        + 0.5 * (payment == "invoice")
        - 0.035 * tenure
        + 0.4 * tickets
        + 0.006 * (spend - 60)
        - 0.01 * seats
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    spend_with_gaps = np.where(rng.random(rows) < 0.05, np.nan, spend)
    return pd.DataFrame(
        {
            "customer_id": _random_ids(rng, rows, 100_000),
            "signup_date": [d.isoformat() for d in signup],
            "plan": _with_missing(rng, plan, 0.04),
            "payment_method": _with_missing(rng, payment, 0.03),
            "region": _with_missing(rng, region, 0.05),
            "tenure_months": tenure,
            "monthly_spend": spend_with_gaps,
            "support_tickets": tickets,
            "seats": seats,
            "churned": np.where(churned, "yes", "no"),
        }
    )


def sales_dates(rows: int = 3000) -> pd.DataFrame:
    """Daily sales lines: an order id, a date with weekday and trend effects, stores, promos."""
    rng = np.random.default_rng(23)
    day = rng.integers(0, 730, rows)
    dates = pd.to_datetime("2022-01-01") + pd.to_timedelta(day, unit="D")
    weekday = np.asarray(dates.day_of_week)
    stores = np.array([f"S{i:02d}" for i in range(1, 9)])
    store_base = dict(zip(stores, rng.uniform(80, 220, len(stores)), strict=True))
    store = rng.choice(stores, rows)
    category = rng.choice(["grocery", "drinks", "home", "toys", "garden"], rows)
    category_factor = {"grocery": 1.0, "drinks": 0.7, "home": 1.3, "toys": 0.9, "garden": 1.1}
    promo = rng.random(rows) < 0.25
    price = np.round(rng.uniform(2, 40, rows), 2)
    weekday_factor = np.array([0.85, 0.9, 0.95, 1.0, 1.15, 1.5, 1.35])[weekday]
    season = 1 + 0.12 * np.sin(2 * np.pi * (np.asarray(dates.day_of_year) - 80) / 365)
    revenue = (
        np.array([store_base[s] for s in store])
        * np.array([category_factor[c] for c in category])
        * (1 + 0.0012 * day)  # the business grows: a trend over the two years
        * weekday_factor
        * season
        * np.where(promo, 1.25, 1.0)
        * (1 - 0.004 * price)
        * rng.lognormal(0, 0.08, rows)
    )
    return pd.DataFrame(
        {
            "order_id": _random_ids(rng, rows, 5_000_000),
            "date": dates.strftime("%Y-%m-%d"),
            "store": store,
            "category": _with_missing(rng, category, 0.03),
            "promo": np.where(promo, "yes", "no"),
            "price": np.where(rng.random(rows) < 0.03, np.nan, price),
            "revenue": np.round(revenue, 2),
        }
    )


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("breast_cancer", "target", "sklearn, 30 numeric columns", breast_cancer),
        Dataset("wine", "target", "sklearn, 3 classes, 13 numeric columns", wine),
        Dataset("digits", "target", "sklearn, 10 classes, 8x8 pixels", digits),
        Dataset("diabetes", "target", "sklearn, 10 numeric columns", diabetes),
        Dataset("churn_dates", "churned", "generated: id, date (month), gaps", churn_dates),
        Dataset("sales_dates", "revenue", "generated: id, date (weekday, trend)", sales_dates),
        Dataset(
            "sample_churn", "churned", "samples/churn.csv", file=REPO / "samples" / "churn.csv"
        ),
    )
}


def materialize(dataset: Dataset) -> Path:
    """The dataset as a CSV file: the form people hand to the bot."""
    if dataset.file is not None:
        return dataset.file
    assert dataset.build is not None
    path = CACHE / "data" / f"{dataset.name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.build().to_csv(path, index=False)
    return path


# ---- the shared split and the shared score -----------------------------------------------------


@dataclass(frozen=True)
class Split:
    """The engine's view of the target and its train/holdout rows (labels of the file's rows)."""

    task: str  # classification | regression
    kind: str  # binary | multiclass | regression
    metric: str  # what every system optimises: the engine's default
    classes: list[str]
    y: pd.Series  # cleaned target: string labels or floats
    train: pd.Index
    test: pd.Index


def shared_split(path: Path, target: str, seed: int) -> tuple[pd.DataFrame, Split]:
    """Read the file as the engine does and split it as the engine will (same seed)."""
    from training.evaluation import split_holdout
    from training.metrics import choose_metric
    from training.reading import read_table
    from training.target import prepare_target

    frame = read_table(path, path.name)
    prepared = prepare_target(frame, target, "auto")
    classes = list(prepared.classes)
    train, test = split_holdout(
        prepared.values, stratify=prepared.task == "classification", seed=seed
    )
    kind = "regression" if prepared.task == "regression" else _class_kind(classes)
    split = Split(
        task=prepared.task,
        kind=kind,
        metric=choose_metric("auto", prepared.task, len(classes)),
        classes=classes,
        y=prepared.values,
        train=train,
        test=test,
    )
    return frame, split


def _class_kind(classes: list[str]) -> str:
    return "binary" if len(classes) == 2 else "multiclass"


def score(split: Split, y_pred: np.ndarray, proba: np.ndarray | None) -> dict[str, float]:
    """Holdout scores, the same function for every system. `proba` columns follow split.classes."""
    from sklearn import metrics

    y_true = split.y.loc[split.test]
    if split.kind == "regression":
        predicted = np.asarray(y_pred, dtype=float)
        return {
            "r2": float(metrics.r2_score(y_true, predicted)),
            "rmse": float(metrics.mean_squared_error(y_true, predicted) ** 0.5),
        }
    labels = np.asarray([str(v) for v in y_pred], dtype=object)
    scores = {"accuracy": float(metrics.accuracy_score(y_true.astype(str), labels))}
    if proba is not None:
        scores["log_loss"] = float(metrics.log_loss(y_true, proba, labels=split.classes))
        if split.kind == "binary":
            positive = (y_true == split.classes[1]).to_numpy()
            scores["roc_auc"] = float(metrics.roc_auc_score(positive, proba[:, 1]))
    return scores


def align_proba(proba: Any, have: list[Any], want: list[str]) -> np.ndarray:
    """Reorder probability columns from a system's class order to the split's."""
    names = [str(c) for c in have]
    ordered = np.asarray(proba, dtype=float)[:, [names.index(c) for c in want]]
    return ordered / ordered.sum(axis=1, keepdims=True)  # float32 rounding in some systems


# ---- the three systems -------------------------------------------------------------------------


@dataclass
class Outcome:
    scores: dict[str, float] = field(default_factory=dict)
    wall_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Case:
    """One dataset at one seed: everything a system needs."""

    dataset: Dataset
    path: Path
    engine_frame: pd.DataFrame  # read by the engine's reader
    raw: pd.DataFrame  # read by pd.read_csv
    split: Split
    budget_s: int
    seed: int

    @property
    def label(self) -> str:
        return f"{self.dataset.name}-s{self.seed}"


def run_ours(case: Case) -> Outcome:
    from training.contracts import JobSpec
    from training.model import MODEL_FILE, TrainedModel
    from training.run import RunOptions, run_job

    run_dir = CACHE / "runs" / case.label
    shutil.rmtree(run_dir, ignore_errors=True)
    spec = JobSpec(
        job_id=f"quality-{case.label}".replace("_", "-"),
        dataset_uri=str(case.path),
        file_name=case.path.name,
        target=case.dataset.target,
        time_budget_s=case.budget_s,
        seed=case.seed,
        output_uri=str(run_dir),
    )
    options = RunOptions(report=False, charts=False, handle_signals=False)
    started = time.perf_counter()
    result = run_job(spec, options)
    wall = time.perf_counter() - started
    if result.status != "succeeded" or result.error is not None:
        message = result.error.message if result.error else result.status
        return Outcome(wall_s=wall, error=f"run {result.status}: {message}")
    model = TrainedModel.load(run_dir / MODEL_FILE)
    holdout = case.engine_frame.loc[case.split.test]
    proba = None
    if case.split.task == "classification":
        proba = align_proba(model.predict_proba(holdout), model.classes, case.split.classes)
    return Outcome(
        scores=score(case.split, model.predict(holdout), proba),
        wall_s=wall,
        info=_engine_info(result, case, run_dir),
    )


def _engine_info(result: Any, case: Case, run_dir: Path) -> dict[str, Any]:
    """What explains our score: the search's effort and what the engine left out."""
    return {
        "run_dir": str(run_dir.relative_to(REPO)),
        "best_estimator": result.best_estimator,
        "trials": result.trials,
        "stopped_early": result.stopped_early,
        "search_s": result.timings_s.get("search"),
        "timings_s": result.timings_s,
        "dropped_columns": {d.name: d.reason for d in result.dropped_columns},
        "leaderboard": {r.estimator: r.validation_score for r in result.leaderboard},
        "same_holdout": result.holdout_rows == len(case.split.test),
        "engine_holdout_metrics": result.holdout_metrics,
    }


def run_flaml(case: Case) -> Outcome:
    """Plain FLAML as a person would use it: the raw columns, default settings."""
    from flaml import AutoML

    X = case.raw.drop(columns=[case.dataset.target])
    split = case.split
    automl = AutoML()
    started = time.perf_counter()
    automl.fit(
        X.loc[split.train],
        split.y.loc[split.train],
        task=split.task,
        metric=split.metric,
        time_budget=case.budget_s,
        verbose=0,
    )
    wall = time.perf_counter() - started
    holdout = X.loc[split.test]
    proba = None
    if split.task == "classification":
        proba = align_proba(automl.predict_proba(holdout), automl.classes_, split.classes)
    config = automl.best_config or {}
    info = {
        "best_estimator": automl.best_estimator,
        "trials": int(sum((automl._iter_per_learner or {}).values())),
        "estimators": list(automl.estimator_list),
        "features_used": [str(c) for c in getattr(automl, "feature_names_in_", [])],
        "best_config": {k: _plain(v) for k, v in config.items()},
    }
    return Outcome(scores=score(split, automl.predict(holdout), proba), wall_s=wall, info=info)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


AG_PROBLEM = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}


def run_autogluon(case: Case, python: Path) -> Outcome:
    work = CACHE / "autogluon" / case.label
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    job = _write_autogluon_job(case, work)
    started = time.perf_counter()
    with (work / "worker.log").open("w") as log:
        completed = subprocess.run(
            [str(python), str(AG_WORKER), str(work / "job.json")],
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=case.budget_s * 4 + 300,
            check=False,
        )
    process_s = time.perf_counter() - started
    result_path = Path(job["result"])
    if not result_path.exists():
        return Outcome(error=f"worker exited {completed.returncode}, see {work / 'worker.log'}")
    result = json.loads(result_path.read_text())
    if "error" in result:
        return Outcome(error=result["error"])
    proba = None
    if case.split.task == "classification":
        proba = align_proba(result["proba"], result["classes"], case.split.classes)
    info = {
        "best_model": result["best_model"],
        "models": result["models"],
        "process_s": round(process_s, 2),
        "versions": result["versions"],
    }
    predictions = np.asarray(result["predictions"])
    return Outcome(scores=score(case.split, predictions, proba), wall_s=result["fit_s"], info=info)


def _write_autogluon_job(case: Case, work: Path) -> dict[str, Any]:
    target = case.dataset.target
    X = _parquet_safe(case.raw.drop(columns=[target]))
    train = X.loc[case.split.train].copy()
    train[target] = case.split.y.loc[case.split.train]
    train.to_parquet(work / "train.parquet", index=False)
    X.loc[case.split.test].to_parquet(work / "test.parquet", index=False)
    job = {
        "train": str(work / "train.parquet"),
        "test": str(work / "test.parquet"),
        "label": target,
        "problem_type": AG_PROBLEM[case.split.kind],
        "eval_metric": case.split.metric,
        "time_limit": case.budget_s,
        "presets": "medium_quality",
        "model_dir": str(work / "models"),
        "result": str(work / "result.json"),
    }
    (work / "job.json").write_text(json.dumps(job, indent=2))
    return job


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """pandas 3 string columns as plain objects, so AutoGluon's pandas 2 reads them alike."""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    return frame.astype(dict.fromkeys(text, object))


# ---- AutoGluon's own environment ---------------------------------------------------------------


@dataclass
class AutogluonEnv:
    python: Path | None
    status: str  # "ready", or why it is missing
    details: dict[str, Any] = field(default_factory=dict)


def ensure_autogluon_env() -> AutogluonEnv:
    """Create benchmarks/.envs/autogluon once (venv + uv + AutoGluon, no torch); reuse it after."""
    python = AG_ENV / "bin" / "python"
    marker = AG_ENV / ".installed"
    wanted = " ".join(AG_REQUIREMENTS)
    if not (python.exists() and marker.exists() and marker.read_text() == wanted):
        print(f"Creating AutoGluon's env in {AG_ENV.relative_to(REPO)} (once; a few minutes) …")
        try:
            _install_autogluon(python)
        except (subprocess.SubprocessError, OSError) as error:
            log_file = AG_ENV.parent / "autogluon-install.log"
            return AutogluonEnv(None, f"install failed ({error}); see {log_file}")
        marker.write_text(wanted)
    details = {
        "requirements": list(AG_REQUIREMENTS),
        "env_mb": round(_size_mb(AG_ENV), 1),
        "torch_installed": _has_module(python, "torch"),
    }
    return AutogluonEnv(python, "ready", details)


def _install_autogluon(python: Path) -> None:
    base = shutil.which("python3") or sys.executable
    AG_ENV.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [base, "-m", "venv", str(AG_ENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"],
        [str(AG_ENV / "bin" / "uv"), "pip", "install", "--python", str(python), *AG_REQUIREMENTS],
    ]
    with (AG_ENV.parent / "autogluon-install.log").open("w") as log:
        for step in steps:
            log.write(f"$ {' '.join(step)}\n")
            log.flush()
            subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=1800)


def _has_module(python: Path, name: str) -> bool:
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
    return subprocess.run([str(python), "-c", probe], check=False).returncode == 0


def _size_mb(path: Path) -> float:
    files = (p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 1e6


def warm_up() -> None:
    """Pay the first-use costs (imports: seconds on a busy machine) before any clock starts.

    Otherwise whichever system runs first loses part of its budget to them. (A real job, a
    fresh process, does pay them: `python -m training run` imports FLAML within its budget.)
    """
    from flaml import AutoML
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    AutoML().fit(pd.DataFrame(X), y, task="classification", time_budget=2, verbose=0)


# ---- one dataset ---------------------------------------------------------------------------------


def make_case(dataset: Dataset, path: Path, budget_s: int, seed: int) -> Case:
    engine_frame, split = shared_split(path, dataset.target, seed)
    raw = pd.read_csv(path)
    if len(raw) != len(engine_frame) or not raw.index.equals(engine_frame.index):
        raise RuntimeError(f"{path.name}: pandas and the engine read different rows")
    return Case(dataset, path, engine_frame, raw, split, budget_s, seed)


def run_system(name: str, case: Case, ag: AutogluonEnv) -> Outcome:
    try:
        if name == "ours":
            return run_ours(case)
        if name == "flaml":
            return run_flaml(case)
        if ag.python is None:
            return Outcome(error=f"skipped: {ag.status}")
        return run_autogluon(case, ag.python)
    except Exception as error:  # one system failing must not end the benchmark
        logging.getLogger(__name__).exception("%s failed on %s", name, case.label)
        return Outcome(error=f"{type(error).__name__}: {error}")


def bench_dataset(
    dataset: Dataset, budget_s: int, seeds: list[int], ag: AutogluonEnv
) -> dict[str, Any]:
    path = materialize(dataset)
    runs = []
    case = None
    for seed in seeds:
        case = make_case(dataset, path, budget_s, seed)
        outcomes = {}
        for name in SYSTEMS:
            outcomes[name] = run_system(name, case, ag)
            _print_progress(case, name, outcomes[name])
        runs.append({"seed": seed, "systems": {k: _outcome_json(v) for k, v in outcomes.items()}})
    assert case is not None
    return _dataset_summary(dataset, case, runs)


def _print_progress(case: Case, name: str, outcome: Outcome) -> None:
    metric = HEADLINE[case.split.kind]
    shown = outcome.error or f"{metric} {outcome.scores.get(metric, float('nan')):.4f}"
    wall = f" in {outcome.wall_s:.1f} s" if outcome.wall_s is not None else ""
    print(f"  [{case.label}] {name:<9} {shown}{wall}", flush=True)


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    wall = round(outcome.wall_s, 2) if outcome.wall_s is not None else None
    return {"scores": outcome.scores, "wall_s": wall, "error": outcome.error, "info": outcome.info}


def _dataset_summary(dataset: Dataset, case: Case, runs: list[dict[str, Any]]) -> dict[str, Any]:
    metric = HEADLINE[case.split.kind]
    return {
        "name": dataset.name,
        "about": dataset.about,
        "kind": case.split.kind,
        "rows": len(case.split.y),
        "columns": case.raw.shape[1] - 1,
        "train_rows": len(case.split.train),
        "holdout_rows": len(case.split.test),
        "budget_s": case.budget_s,
        "metric_optimised": case.split.metric,
        "metric": metric,
        "score": {s: _mean(runs, s, metric) for s in SYSTEMS},
        "log_loss": {s: _mean(runs, s, "log_loss") for s in SYSTEMS}
        if case.split.kind != "regression"
        else None,
        "wall_s": {s: _mean_wall(runs, s) for s in SYSTEMS},
        "ours_search": _search_effort(runs),
        "runs": runs,
    }


def _search_effort(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Our engine's trials and early stops: the first thing to read when it scores low."""
    infos = [r["systems"]["ours"]["info"] for r in runs if r["systems"]["ours"]["info"]]
    return {
        "trials": [i["trials"] for i in infos],
        "search_s": [i["search_s"] for i in infos],
        "stopped_early": sum(bool(i["stopped_early"]) for i in infos),
        "runs": len(runs),
    }


def _mean(runs: list[dict[str, Any]], system: str, metric: str) -> float | None:
    values = [r["systems"][system]["scores"].get(metric) for r in runs]
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 4) if present else None


def _mean_wall(runs: list[dict[str, Any]], system: str) -> float | None:
    values = [r["systems"][system]["wall_s"] for r in runs]
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 1) if present else None


# ---- summary, machine and versions ---------------------------------------------------------------


def summarize(datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """Averages over datasets where all systems scored, mean rank, and head-to-head counts."""
    systems = tuple(s for s in SYSTEMS if any(d["score"][s] is not None for d in datasets))
    full = [d for d in datasets if all(d["score"][s] is not None for s in systems)]
    summary: dict[str, Any] = {
        "datasets_compared": [d["name"] for d in full],
        "mean_score": {s: _avg([d["score"][s] for d in full]) for s in systems},
        "mean_rank": _mean_ranks(full, systems),
    }
    for other in systems:
        if other != "ours":
            summary[f"ours_vs_{other}"] = _head_to_head(datasets, other)
    return summary


def _avg(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 4) if present else None


def _mean_ranks(datasets: list[dict[str, Any]], systems: tuple[str, ...]) -> dict[str, float]:
    ranks: dict[str, list[float]] = {s: [] for s in systems}
    for d in datasets:
        values = pd.Series({s: d["score"][s] for s in systems}, dtype=float).dropna()
        for system, rank in values.rank(ascending=False).items():
            ranks[str(system)].append(float(rank))
    return {s: round(float(np.mean(r)), 2) for s, r in ranks.items() if r}


def _head_to_head(datasets: list[dict[str, Any]], other: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"better": [], "tie": [], "worse": []}
    for d in datasets:
        ours, theirs = d["score"]["ours"], d["score"][other]
        if ours is None or theirs is None:
            continue
        key = "tie" if abs(ours - theirs) < TIE else "better" if ours > theirs else "worse"
        out[key].append(d["name"])
    return out


def machine() -> dict[str, Any]:
    from training.resources import available_cpus

    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus_visible": os.cpu_count(),
        "cpus_available": available_cpus(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "note": "2 cores shared with other work while this ran: timings are noisy",
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("flaml", "lightgbm", "xgboost-cpu", "scikit-learn", "pandas", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def git_state() -> dict[str, Any]:
    """The commit, the files changed since, and a digest of training/ as it was at run time."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout

    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line]
    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "uncommitted": changed,
        "training_sha256": _tree_digest(REPO / "training"),
    }


def _tree_digest(folder: Path) -> str:
    """Others edit the engine while benchmarks run: this says which engine was measured."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def autogluon_versions(datasets: list[dict[str, Any]]) -> dict[str, str]:
    for d in datasets:
        for run in d["runs"]:
            versions = run["systems"]["autogluon"]["info"].get("versions")
            if versions:
                return versions
    return {}


# ---- output ------------------------------------------------------------------------------------


def _cell(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _best_marks(d: dict[str, Any]) -> dict[str, str]:
    present = {s: v for s, v in d["score"].items() if v is not None}
    top = max(present.values()) if present else None
    return {s: "**" if top is not None and present.get(s) == top else "" for s in SYSTEMS}


def _search_note(d: dict[str, Any]) -> str:
    effort = d["ours_search"]
    if not effort["trials"]:
        return "—"
    trials = "/".join(str(t) for t in effort["trials"])
    searched = "/".join(f"{t:.0f}" for t in effort["search_s"] if t is not None)
    early = effort["stopped_early"]
    note = f"{trials} trials in {searched} s"
    if early:
        runs = effort["runs"]
        note += ", stopped early" + (f" {early}/{runs}" if runs > 1 else "")
    return note


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        "# Model quality: our engine, plain FLAML and AutoGluon",
        "",
        f"`python benchmarks/quality.py --budget {report['budget_s']}`, {report['created_at']}, "
        f"{_provenance(report)}",
        "",
        f"Holdout scores, same rows, split and budget ({report['budget_s']} s), "
        f"{report['repeats']} repeat(s); higher is better. Best in bold. Seconds: our whole "
        "job, FLAML's `fit`, AutoGluon's `fit` (its process start and imports excluded).",
        "",
        "| dataset | task | rows × cols | metric | ours | FLAML | AutoGluon "
        "| seconds (ours / FLAML / AG) | our search |",
        "|---|---|---|---|---:|---:|---:|---|---|",
    ]
    for d in report["datasets"]:
        marks = _best_marks(d)
        scores = " | ".join(f"{marks[s]}{_cell(d['score'][s])}{marks[s]}" for s in SYSTEMS)
        walls = " / ".join(_cell(d["wall_s"][s], 0) for s in SYSTEMS)
        lines.append(
            f"| {d['name']} | {d['kind']} | {d['rows']} × {d['columns']} | {d['metric']} "
            f"| {scores} | {walls} | {_search_note(d)} |"
        )
    lines += ["", *_log_loss_lines(report["datasets"]), *_summary_lines(report["summary"]), ""]
    return "\n".join(lines)


def _provenance(report: dict[str, Any]) -> str:
    m, v, git = report["machine"], report["versions"], report["git"]
    engine = f"engine at commit {git['commit'][:7]}"
    if any(f.startswith("training/") for f in git["uncommitted"]):
        engine += " plus uncommitted changes in training/"
    ag = v["autogluon"].get("autogluon.tabular", "not run")
    return (
        f"{m['cpus_available']} CPUs ({m['cpu']}, shared: timings are noisy), "
        f"FLAML {v['main'].get('flaml')}, AutoGluon {ag}; {engine}."
    )


def _log_loss_lines(datasets: list[dict[str, Any]]) -> list[str]:
    """Multiclass log loss (what every system optimised there; lower is better)."""
    lines = []
    for d in datasets:
        if d["kind"] == "multiclass" and d["log_loss"]:
            shown = " / ".join(_cell(d["log_loss"][s]) for s in SYSTEMS)
            lines.append(
                f"Log loss on {d['name']} (ours / FLAML / AutoGluon, lower is better): {shown}."
            )
    return [*lines, ""] if lines else []


def _summary_lines(summary: dict[str, Any]) -> list[str]:
    mean = ", ".join(f"{s} {_cell(v)}" for s, v in summary["mean_score"].items())
    rank = ", ".join(f"{s} {v:.2f}" for s, v in summary["mean_rank"].items())
    lines = [f"Mean score: {mean}. Mean rank (1 = best): {rank}."]
    for key, counts in summary.items():
        if key.startswith("ours_vs_"):
            other = key.removeprefix("ours_vs_")
            lines.append(
                f"Ours vs {other}: better on {len(counts['better'])}, tied on "
                f"{len(counts['tie'])} (±{TIE}), worse on {len(counts['worse'])}"
                + (f" ({', '.join(counts['worse'])})" if counts["worse"] else "")
                + "."
            )
    return lines


def text_table(report: dict[str, Any]) -> str:
    header = (
        f"{'dataset':<14} {'kind':<10} {'rows':>6} {'cols':>4} {'metric':<8} "
        f"{'ours':>7} {'flaml':>7} {'autogl':>7}   {'seconds o/f/ag':<15} our search"
    )
    lines = [header, "-" * len(header)]
    for d in report["datasets"]:
        scores = " ".join(f"{_cell(d['score'][s]):>7}" for s in SYSTEMS)
        walls = " / ".join(_cell(d["wall_s"][s], 0) for s in SYSTEMS)
        lines.append(
            f"{d['name']:<14} {d['kind']:<10} {d['rows']:>6} {d['columns']:>4} "
            f"{d['metric']:<8} {scores}   {walls:<15} {_search_note(d)}"
        )
    tail = [*_log_loss_lines(report["datasets"]), *_summary_lines(report["summary"])]
    return "\n".join([*lines, "", *tail])


def write_results(report: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (RESULTS / "quality.md").write_text(markdown_table(report))


# ---- command line ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=30, help="seconds per system and dataset")
    parser.add_argument(
        "--datasets", default=",".join(DATASETS), help=f"comma-separated: {', '.join(DATASETS)}"
    )
    parser.add_argument("--repeats", type=int, default=1, help="splits/seeds per dataset")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--skip-autogluon", action="store_true", help="run ours and FLAML only")
    args = parser.parse_args(argv)
    unknown = [n for n in args.datasets.split(",") if n and n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s): {', '.join(unknown)}; known: {', '.join(DATASETS)}")
    if args.repeats < 1 or args.budget < 5:
        parser.error("--repeats must be at least 1 and --budget at least 5 (seconds)")
    return args


def _quiet_logging() -> None:
    """The engine logs INFO to its run.log; the terminal gets warnings only."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _quiet_logging()
    names = [n for n in args.datasets.split(",") if n]
    seeds = [args.seed + r for r in range(args.repeats)]
    if args.skip_autogluon:
        ag = AutogluonEnv(None, "--skip-autogluon")
    else:
        ag = ensure_autogluon_env()
        print(f"AutoGluon: {ag.status} {ag.details}", flush=True)
    warm_up()
    git = git_state()
    started = time.perf_counter()
    datasets = []
    for name in names:
        print(f"{name} ({DATASETS[name].about}), budget {args.budget} s", flush=True)
        datasets.append(bench_dataset(DATASETS[name], args.budget, seeds, ag))
    report = {
        "benchmark": "quality",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "budget_s": args.budget,
        "repeats": args.repeats,
        "seeds": seeds,
        "total_s": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "git": git,
        "versions": {"main": main_versions(), "autogluon": autogluon_versions(datasets)},
        "autogluon_env": {"status": ag.status, **ag.details},
        "datasets": datasets,
        "summary": summarize(datasets),
    }
    write_results(report)
    print()
    print(text_table(report))
    print(f"\nWrote {(RESULTS / 'quality.json').relative_to(REPO)} and quality.md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
