"""Model quality: our engine against plain FLAML, AutoGluon and a default HistGradientBoosting.

Run by `make bench`, never by `make test` (it trains for a long time):

    .venv/bin/python benchmarks/quality.py [--budget 30] [--seeds 3] [--datasets a,b]
                                           [--systems ours,flaml,autogluon,hgb] [--fresh]

The tables (benchmarks/quality_data.py): scikit-learn's, plotly's and statsmodels' bundled
ones, samples/churn.csv, and tables generated there deterministically, each for a situation
people's files bring (names of entities, id-like group codes, 80 mixed columns, 784 columns,
3 % positives, a German export). Nothing is downloaded at run time except the pip install of
AutoGluon's env.

For each table and seed (tables of up to 5,000 rows get `--seeds` seeds, larger ones one):

1. the table is written to a CSV; the engine's own reader, target cleaning
   (`prepare_target`) and split (`split_holdout`, that seed) pick the training and holdout
   rows, so all systems learn from the same rows and are scored on the same rows;
2. (a) ours: `run_job` on the CSV with the budget (no charts, no EDA report); its saved model
   predicts the holdout rows from their raw columns;
   (b) plain FLAML: `AutoML().fit(X, y, task, metric, time_budget, seed)` on the columns as
   `pd.read_csv` gives them, every other setting left at its default;
   (c) AutoGluon: `TabularPredictor.fit(presets="medium_quality", time_limit=budget)` with the
   seed as the learner's random_state, run by benchmarks/autogluon_worker.py inside its own
   venv (benchmarks/.envs/autogluon, created on first use, without torch);
   (d) a default scikit-learn `HistGradientBoostingClassifier/Regressor(random_state=seed)`
   on the `pd.read_csv` columns: numbers as they are, text as pandas `category` dtype
   (`categorical_features="from_dtype"`), text with more than 255 levels ordinal-encoded;
3. one function (`score`) scores them all on the holdout rows: ROC AUC for two classes,
   accuracy (and log loss) for more, R² for regression. Each system optimises the metric the
   engine picks by default (ROC AUC, log loss, R²); HGB its default loss.

The baselines' outcomes are cached in benchmarks/.cache/quality/outcomes/ (per system, table,
seed, budget and CSV digest; checked against the split's digest and the system's version), so
`--systems ours` trains only the engine and shows the cached baselines beside it. `--fresh`
re-runs the selected systems even where a cached outcome exists. The engine's outcomes are
cached as well, under the digest of its code (training/, contract/, common/), and reused only
with `--reuse-ours`: parts of the tables can then run in separate processes and one last run
assembles the report from the cache.

Results: a table on stdout, benchmarks/results/quality.json and benchmarks/results/quality.md.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from quality_data import DATASETS, Dataset

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache" / "quality"
OUTCOMES = CACHE / "outcomes"
RESULTS = HERE / "results"
AG_ENV = HERE / ".envs" / "autogluon"
AG_WORKER = HERE / "autogluon_worker.py"
# The gradient-boosting extras need no torch; without them AutoGluon trains only RF, extra
# trees and KNN. No `fastai`/`all` extra: those pull torch (~2 GB of wheels).
AG_REQUIREMENTS = ("autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3",)
SYSTEMS = ("ours", "flaml", "autogluon", "hgb")
BASELINES = ("flaml", "autogluon", "hgb")  # cached on disk
# Ours is cached too, by the digest of the engine's code, but reused only with --reuse-ours:
# several runs over parts of the tables, then one that assembles the report.
ENGINE_FOLDERS = ("training", "contract", "common")
TITLES = {"ours": "ours", "flaml": "FLAML", "autogluon": "AutoGluon", "hgb": "HGB"}
HEADLINE = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}
TIE = 0.002  # score differences smaller than this count as a tie in the summary
GOAL_GAP = 0.01  # the goal: ours never more than this below FLAML or HGB on a table
MUST_MATCH = ("flaml", "hgb")
OVER_BUDGET = 1.10  # ours over budget × this on a table is flagged
SEEDED_ROWS = 5000  # tables with at most this many rows get --seeds seeds; larger ones one
HGB_MAX_CATEGORIES = 255  # HistGradientBoosting's limit (max_bins) on a categorical's levels


def materialize(dataset: Dataset) -> Path:
    """The dataset as a CSV file: the form people hand to the bot."""
    if dataset.file is not None:
        return dataset.file
    assert dataset.build is not None
    path = CACHE / "data" / f"{dataset.name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.build().to_csv(path, index=False, sep=dataset.sep)
    return path


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


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

    def digest(self) -> str:
        """Which rows, which target values: a cached outcome is valid for this split only."""
        digest = hashlib.sha256()
        digest.update(",".join(map(str, sorted(self.train.tolist()))).encode())
        digest.update(b"|" + ",".join(map(str, sorted(self.test.tolist()))).encode())
        digest.update(b"|" + "\0".join(self.y.astype(str).tolist()).encode())
        digest.update(b"|" + f"{self.kind} {self.metric} {self.classes}".encode())
        return digest.hexdigest()[:16]


def shared_split(path: Path, target: str, seed: int) -> tuple[pd.DataFrame, Split]:
    """Read the file as the engine does and split it as the engine will (same seed)."""
    from training.input.reading import read_table
    from training.pipeline.evaluation import split_holdout
    from training.pipeline.metrics import choose_metric
    from training.pipeline.target import prepare_target

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


# ---- the four systems --------------------------------------------------------------------------


@dataclass
class Outcome:
    scores: dict[str, float] = field(default_factory=dict)
    wall_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cached_at: str | None = None  # set when the outcome comes from the cache


@dataclass(frozen=True)
class Case:
    """One dataset at one seed: everything a system needs."""

    dataset: Dataset
    path: Path
    csv_digest: str
    engine_frame: pd.DataFrame  # read by the engine's reader
    raw: pd.DataFrame  # read by pd.read_csv
    split: Split
    budget_s: int
    seed: int

    @property
    def label(self) -> str:
        return f"{self.dataset.name}-s{self.seed}"


def run_ours(case: Case) -> Outcome:
    from contract.jobs import JobSpec
    from contract.run_folder import MODEL_FILE
    from training.pipeline.model import TrainedModel
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
    model = TrainedModel.load(run_dir / MODEL_FILE, sha256=result.artifacts.model_sha256)
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
    """Plain FLAML as a person would use it: the raw columns, default settings, the seed."""
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
        seed=case.seed,
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


def hgb_frame(X: pd.DataFrame, train: pd.Index) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The raw columns as a default HistGradientBoosting takes them.

    Numbers stay as they are; a text column becomes a pandas `category` with the levels seen in
    the training rows (others become missing), or, with more levels than HGB accepts, their
    ordinal codes (levels sorted, as OrdinalEncoder does) as plain numbers.
    """
    columns: dict[str, Any] = {}
    kinds: dict[str, list[str]] = {"categorical": [], "ordinal": []}
    for name in X.columns:
        values = X[name]
        if pd.api.types.is_bool_dtype(values):
            columns[name] = values.astype(float)
        elif pd.api.types.is_numeric_dtype(values):
            columns[name] = values
        else:
            text = values.astype(object).where(values.notna(), None)
            levels = sorted({str(v) for v in text.loc[train].dropna()})
            text = text.map(lambda v: None if v is None else str(v))
            if len(levels) <= HGB_MAX_CATEGORIES:
                columns[name] = pd.Categorical(text, categories=levels)
                kinds["categorical"].append(str(name))
            else:
                codes = {level: float(i) for i, level in enumerate(levels)}
                columns[name] = text.map(codes).astype(float)
                kinds["ordinal"].append(str(name))
    return pd.DataFrame(columns, index=X.index), kinds


def run_hgb(case: Case) -> Outcome:
    """A default HistGradientBoosting: no tuning, the seed, the raw columns (see hgb_frame)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    split = case.split
    X, kinds = hgb_frame(case.raw.drop(columns=[case.dataset.target]), split.train)
    estimator = (
        HistGradientBoostingClassifier
        if split.task == "classification"
        else HistGradientBoostingRegressor
    )
    model = estimator(categorical_features="from_dtype", random_state=case.seed)
    started = time.perf_counter()
    model.fit(X.loc[split.train], split.y.loc[split.train])
    wall = time.perf_counter() - started
    holdout = X.loc[split.test]
    proba = None
    if split.task == "classification":
        proba = align_proba(model.predict_proba(holdout), list(model.classes_), split.classes)
    info = {"iterations": int(model.n_iter_), **kinds}
    return Outcome(scores=score(split, model.predict(holdout), proba), wall_s=wall, info=info)


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
        "seed": case.seed,
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


# ---- the cache of baseline outcomes ------------------------------------------------------------


def system_version(system: str) -> str:
    """What a cached outcome was made with: another version means another outcome."""
    if system == "ours":
        return f"engine {engine_digest()}"
    if system == "autogluon":
        return " ".join(AG_REQUIREMENTS)
    package = {"flaml": "flaml", "hgb": "scikit-learn"}[system]
    return f"{package}=={metadata.version(package)}"


def cache_file(system: str, case: Case) -> Path:
    name = f"{case.dataset.name}-s{case.seed}-b{case.budget_s}-{case.csv_digest}.json"
    return OUTCOMES / system / name


def load_cached(system: str, case: Case) -> Outcome | None:
    path = cache_file(system, case)
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if record.get("split_sha256") != case.split.digest():
        print(f"  [{case.label}] cached {system} outcome is for another split: ignored")
        return None
    if record.get("version") != system_version(system):
        print(f"  [{case.label}] cached {system} outcome is of {record.get('version')}: ignored")
        return None
    saved = record["outcome"]
    return Outcome(
        scores=saved["scores"],
        wall_s=saved["wall_s"],
        info=saved["info"],
        error=saved["error"],
        cached_at=record["created_at"],
    )


def save_cached(system: str, case: Case, outcome: Outcome) -> None:
    path = cache_file(system, case)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "system": system,
        "dataset": case.dataset.name,
        "seed": case.seed,
        "budget_s": case.budget_s,
        "csv_sha256": case.csv_digest,
        "split_sha256": case.split.digest(),
        "version": system_version(system),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine_load": _load_average(),
        "outcome": _outcome_json(outcome),
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2, default=str) + "\n")
    temporary.replace(path)


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


# ---- one dataset ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What to do this run: which systems train, and whether cached outcomes count."""

    systems: tuple[str, ...]  # trained (baselines: unless cached)
    fresh: bool  # train the selected systems even where a cached outcome exists
    budget_s: int
    seeds: int
    first_seed: int
    reuse_ours: bool = False  # ours from the cache where the same engine made it


def make_case(dataset: Dataset, path: Path, digest: str, budget_s: int, seed: int) -> Case:
    engine_frame, split = shared_split(path, dataset.target, seed)
    raw = pd.read_csv(path, sep=dataset.sep)
    if len(raw) != len(engine_frame) or not raw.index.equals(engine_frame.index):
        raise RuntimeError(f"{path.name}: pandas and the engine read different rows")
    return Case(dataset, path, digest, engine_frame, raw, split, budget_s, seed)


def seeds_for(rows: int, plan: Plan) -> list[int]:
    count = plan.seeds if rows <= SEEDED_ROWS else 1
    return [plan.first_seed + k for k in range(count)]


def run_system(name: str, case: Case, ag: AutogluonEnv) -> Outcome:
    try:
        if name == "ours":
            return run_ours(case)
        if name == "flaml":
            return run_flaml(case)
        if name == "hgb":
            return run_hgb(case)
        if ag.python is None:
            return Outcome(error=f"skipped: {ag.status}")
        return run_autogluon(case, ag.python)
    except Exception as error:  # one system failing must not end the benchmark
        logging.getLogger(__name__).exception("%s failed on %s", name, case.label)
        return Outcome(error=f"{type(error).__name__}: {error}")


def obtain(name: str, case: Case, plan: Plan, ag: AutogluonEnv) -> Outcome | None:
    """A system's outcome: from the cache where allowed, else trained if selected, else None."""
    selected = name in plan.systems
    reusable = name in BASELINES or (name == "ours" and plan.reuse_ours)
    if reusable and not (selected and plan.fresh):
        cached = load_cached(name, case)
        if cached is not None:
            return cached
    if not selected:
        return None
    outcome = run_system(name, case, ag)
    if outcome.error is None:
        save_cached(name, case, outcome)
    return outcome


def bench_dataset(dataset: Dataset, plan: Plan, ag: AutogluonEnv) -> dict[str, Any] | None:
    path = materialize(dataset)
    digest = file_digest(path)
    runs = []
    case = None
    try:
        rows = len(pd.read_csv(path, sep=dataset.sep))
        for seed in seeds_for(rows, plan):
            case = make_case(dataset, path, digest, plan.budget_s, seed)
            outcomes = {}
            for name in SYSTEMS:
                outcome = obtain(name, case, plan, ag)
                if outcome is not None:
                    outcomes[name] = outcome
                    _print_progress(case, name, outcome)
            runs.append(
                {"seed": seed, "systems": {k: _outcome_json(v) for k, v in outcomes.items()}}
            )
    except Exception:  # the table cannot be read or split: say so, go on with the others
        logging.getLogger(__name__).exception("%s: no case", dataset.name)
        return None
    assert case is not None
    return _dataset_summary(dataset, case, runs)


def _print_progress(case: Case, name: str, outcome: Outcome) -> None:
    metric = HEADLINE[case.split.kind]
    shown = outcome.error or f"{metric} {outcome.scores.get(metric, float('nan')):.4f}"
    wall = f" in {outcome.wall_s:.1f} s" if outcome.wall_s is not None else ""
    source = f" (cached {outcome.cached_at[:10]})" if outcome.cached_at else ""
    print(f"  [{case.label}] {name:<9} {shown}{wall}{source}", flush=True)


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    wall = round(outcome.wall_s, 2) if outcome.wall_s is not None else None
    out = {"scores": outcome.scores, "wall_s": wall, "error": outcome.error, "info": outcome.info}
    if outcome.cached_at:
        out["cached_at"] = outcome.cached_at
    return out


def _dataset_summary(dataset: Dataset, case: Case, runs: list[dict[str, Any]]) -> dict[str, Any]:
    metric = HEADLINE[case.split.kind]
    ours_max = _max_wall(runs, "ours")
    return {
        "name": dataset.name,
        "about": dataset.about,
        "target": dataset.target,
        "kind": case.split.kind,
        "rows": len(case.split.y),
        "columns": case.raw.shape[1] - 1,
        "csv_sha256": case.csv_digest,
        "seeds": [r["seed"] for r in runs],
        "train_rows": len(case.split.train),
        "holdout_rows": len(case.split.test),
        "budget_s": case.budget_s,
        "metric_optimised": case.split.metric,
        "metric": metric,
        "score": {s: _mean(runs, s, metric) for s in SYSTEMS},
        "score_by_seed": {s: _by_seed(runs, s, metric) for s in SYSTEMS},
        "log_loss": {s: _mean(runs, s, "log_loss") for s in SYSTEMS}
        if case.split.kind != "regression"
        else None,
        "wall_s": {s: _mean_wall(runs, s) for s in SYSTEMS},
        "ours_wall_max_s": ours_max,
        "ours_over_budget": ours_max is not None and ours_max > case.budget_s * OVER_BUDGET,
        "errors": _errors(runs),
        "ours_search": _search_effort(runs),
        "runs": runs,
    }


def _outcomes(runs: list[dict[str, Any]], system: str) -> list[dict[str, Any]]:
    return [r["systems"][system] for r in runs if system in r["systems"]]


def _search_effort(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Our engine's trials and early stops: the first thing to read when it scores low."""
    infos = [o["info"] for o in _outcomes(runs, "ours") if o["info"]]
    return {
        "trials": [i.get("trials") for i in infos],
        "search_s": [i.get("search_s") for i in infos],
        "stopped_early": sum(bool(i.get("stopped_early")) for i in infos),
        "runs": len(runs),
    }


def _errors(runs: list[dict[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for run in runs:
        for system, outcome in run["systems"].items():
            if outcome["error"]:
                found.setdefault(system, []).append(f"seed {run['seed']}: {outcome['error']}")
    return found


def _mean(runs: list[dict[str, Any]], system: str, metric: str) -> float | None:
    values = [o["scores"].get(metric) for o in _outcomes(runs, system)]
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 4) if present else None


def _by_seed(runs: list[dict[str, Any]], system: str, metric: str) -> list[float | None]:
    values = []
    for run in runs:
        outcome = run["systems"].get(system)
        value = outcome["scores"].get(metric) if outcome else None
        values.append(round(value, 4) if value is not None else None)
    return values


def _mean_wall(runs: list[dict[str, Any]], system: str) -> float | None:
    present = [o["wall_s"] for o in _outcomes(runs, system) if o["wall_s"] is not None]
    return round(float(np.mean(present)), 1) if present else None


def _max_wall(runs: list[dict[str, Any]], system: str) -> float | None:
    present = [o["wall_s"] for o in _outcomes(runs, system) if o["wall_s"] is not None]
    return round(float(max(present)), 1) if present else None


# ---- summary, machine and versions ---------------------------------------------------------------


def summarize(datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """Averages and mean rank over the tables where every system present scored, head-to-head
    counts, the tables that miss the goals, and our wall time against the budget."""
    systems = tuple(s for s in SYSTEMS if any(d["score"][s] is not None for d in datasets))
    full = [d for d in datasets if all(d["score"][s] is not None for s in systems)]
    summary: dict[str, Any] = {
        "systems": list(systems),
        "datasets_compared": [d["name"] for d in full],
        "datasets_incomplete": [d["name"] for d in datasets if d not in full],
        "mean_score": {s: _avg([d["score"][s] for d in full]) for s in systems},
        "mean_rank": _mean_ranks(full, systems),
    }
    if "ours" not in systems:
        return summary
    for other in systems:
        if other != "ours":
            summary[f"ours_vs_{other}"] = _head_to_head(datasets, other)
    below = _below_goal(datasets)
    ranks = summary["mean_rank"]
    summary["below_goal"] = below
    summary["goals"] = {
        "mean_rank_better_than_autogluon": (
            ranks["ours"] < ranks["autogluon"] if "autogluon" in ranks else None
        ),
        f"never_more_than_{GOAL_GAP}_below_flaml_or_hgb": not below,
    }
    summary["over_budget"] = [
        {"name": d["name"], "wall_max_s": d["ours_wall_max_s"], "budget_s": d["budget_s"]}
        for d in datasets
        if d["ours_over_budget"]
    ]
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


def _below_goal(datasets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tables where ours is more than GOAL_GAP below FLAML or HGB (mean over seeds)."""
    found = []
    for d in datasets:
        ours = d["score"]["ours"]
        if ours is None:
            continue
        gaps = {
            other: round(d["score"][other] - ours, 4)
            for other in MUST_MATCH
            if d["score"][other] is not None and d["score"][other] - ours > GOAL_GAP
        }
        if gaps:
            found.append({"name": d["name"], "metric": d["metric"], "ours": ours, "behind": gaps})
    return found


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


@functools.cache
def engine_digest() -> str:
    """The engine's code: training/ and the packages it imports from this repository."""
    return "-".join(_tree_digest(REPO / folder) for folder in ENGINE_FOLDERS)


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
            versions = run["systems"].get("autogluon", {}).get("info", {}).get("versions")
            if versions:
                return versions
    return {}


def cache_provenance(datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """How many baseline outcomes came from the cache, and when those were made."""
    dates = [
        outcome["cached_at"]
        for d in datasets
        for run in d["runs"]
        for outcome in run["systems"].values()
        if outcome.get("cached_at")
    ]
    total = sum(
        1 for d in datasets for run in d["runs"] for name in run["systems"] if name in BASELINES
    )
    return {
        "cached": len(dates),
        "baseline_outcomes": total,
        "oldest": min(dates) if dates else None,
        "newest": max(dates) if dates else None,
    }


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


def _walls(d: dict[str, Any]) -> str:
    """Ours: the slowest seed's whole job (! over budget + 10 %); the others: mean fit time."""
    ours = _cell(d["ours_wall_max_s"], 0) + ("!" if d["ours_over_budget"] else "")
    return " / ".join([ours, *(_cell(d["wall_s"][s], 0) for s in BASELINES)])


def markdown_table(report: dict[str, Any]) -> str:
    titles = " | ".join(TITLES[s] for s in SYSTEMS)
    lines = [
        "# Model quality: our engine, plain FLAML, AutoGluon and a default HistGradientBoosting",
        "",
        f"`python benchmarks/quality.py --budget {report['budget_s']} --seeds "
        f"{report['seeds_per_table']}`, {report['created_at']}, {_provenance(report)}",
        "",
        f"Holdout scores, same rows, split and budget ({report['budget_s']} s); the mean over "
        f"{report['seeds_per_table']} seed(s) (the split's and every system's) for tables of up "
        f"to {SEEDED_ROWS:,} rows, one seed above; higher is better. Best in bold. Seconds: our "
        "whole job (slowest seed; ! = over budget + 10 %), FLAML's `fit`, AutoGluon's `fit` (its "
        "process start and imports excluded), HGB's `fit` (means over seeds).",
        "",
        f"| dataset | task | rows × cols | seeds | metric | {titles} "
        "| seconds (ours / FLAML / AG / HGB) | our search |",
        "|---|---|---|---|---|" + "---:|" * len(SYSTEMS) + "---|---|",
    ]
    for d in report["datasets"]:
        marks = _best_marks(d)
        scores = " | ".join(f"{marks[s]}{_cell(d['score'][s])}{marks[s]}" for s in SYSTEMS)
        lines.append(
            f"| {d['name']} | {d['kind']} | {d['rows']} × {d['columns']} | {len(d['seeds'])} "
            f"| {d['metric']} | {scores} | {_walls(d)} | {_search_note(d)} |"
        )
    lines += ["", *_about_lines(report["datasets"]), ""]
    lines += [*_log_loss_lines(report["datasets"]), *_summary_lines(report["summary"])]
    return "\n".join([*lines, *_error_lines(report["datasets"]), ""])


def _about_lines(datasets: list[dict[str, Any]]) -> list[str]:
    return ["Tables:", ""] + [
        f"- {d['name']} (target `{d['target']}`): {d['about']}" for d in datasets
    ]


def _provenance(report: dict[str, Any]) -> str:
    m, v, git = report["machine"], report["versions"], report["git"]
    engine = f"engine at commit {git['commit'][:7]}"
    if any(f.startswith("training/") for f in git["uncommitted"]):
        engine += " plus uncommitted changes in training/"
    ag = v["autogluon"].get("autogluon.tabular", "not run")
    cache = report["cache"]
    cached = ""
    if cache["cached"]:
        cached = (
            f" {cache['cached']} of {cache['baseline_outcomes']} baseline outcomes from the "
            f"cache (made {cache['oldest'][:10]} to {cache['newest'][:10]})."
        )
    return (
        f"{m['cpus_available']} CPUs ({m['cpu']}, shared: timings are noisy), "
        f"FLAML {v['main'].get('flaml')}, AutoGluon {ag}, scikit-learn "
        f"{v['main'].get('scikit-learn')}; {engine}.{cached}"
    )


def _log_loss_lines(datasets: list[dict[str, Any]]) -> list[str]:
    """Multiclass log loss (what every system but HGB optimised there; lower is better)."""
    lines = []
    names = " / ".join(TITLES[s] for s in SYSTEMS)
    for d in datasets:
        if d["kind"] == "multiclass" and d["log_loss"]:
            shown = " / ".join(_cell(d["log_loss"][s]) for s in SYSTEMS)
            lines.append(f"Log loss on {d['name']} ({names}, lower is better): {shown}.")
    return [*lines, ""] if lines else []


def _summary_lines(summary: dict[str, Any]) -> list[str]:
    mean = ", ".join(f"{TITLES[s]} {_cell(v)}" for s, v in summary["mean_score"].items())
    rank = ", ".join(f"{TITLES[s]} {v:.2f}" for s, v in summary["mean_rank"].items())
    compared = len(summary["datasets_compared"])
    lines = [f"Over {compared} tables: mean score {mean}. Mean rank (1 = best): {rank}."]
    if summary["datasets_incomplete"]:
        lines.append(
            f"Not compared (a system missing): {', '.join(summary['datasets_incomplete'])}."
        )
    for key, counts in summary.items():
        if key.startswith("ours_vs_"):
            other = TITLES[key.removeprefix("ours_vs_")]
            lines.append(
                f"Ours vs {other}: better on {len(counts['better'])}, tied on "
                f"{len(counts['tie'])} (±{TIE}), worse on {len(counts['worse'])}"
                + (f" ({', '.join(counts['worse'])})" if counts["worse"] else "")
                + "."
            )
    if "below_goal" in summary:
        below = summary["below_goal"]
        shown = "; ".join(
            f"{b['name']} ("
            + ", ".join(f"{TITLES[o]} +{g:.4f}" for o, g in b["behind"].items())
            + ")"
            for b in below
        )
        lines.append(
            f"More than {GOAL_GAP} below FLAML or HGB: "
            + (f"{len(below)} table(s): {shown}." if below else "none.")
        )
        goals = summary["goals"]
        rank_goal = goals["mean_rank_better_than_autogluon"]
        if rank_goal is not None:
            lines.append(f"Mean rank better than AutoGluon's: {'yes' if rank_goal else 'no'}.")
        over = summary["over_budget"]
        lines.append(
            f"Our wall time over budget + {round((OVER_BUDGET - 1) * 100)} % (slowest seed): "
            + (", ".join(f"{o['name']} {o['wall_max_s']:.0f} s" for o in over) if over else "none")
            + "."
        )
    return lines


def _error_lines(datasets: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"- {d['name']}, {TITLES[system]}, {message}"
        for d in datasets
        for system, messages in d["errors"].items()
        for message in messages
    ]
    return ["", "Failures (no score):", "", *lines] if lines else []


def text_table(report: dict[str, Any]) -> str:
    header = (
        f"{'dataset':<14} {'kind':<10} {'rows':>6} {'cols':>4} {'seeds':>5} {'metric':<8} "
        + " ".join(f"{TITLES[s][:7]:>7}" for s in SYSTEMS)
        + f"   {'seconds o/f/ag/h':<20} our search"
    )
    lines = [header, "-" * len(header)]
    for d in report["datasets"]:
        scores = " ".join(f"{_cell(d['score'][s]):>7}" for s in SYSTEMS)
        lines.append(
            f"{d['name']:<14} {d['kind']:<10} {d['rows']:>6} {d['columns']:>4} "
            f"{len(d['seeds']):>5} {d['metric']:<8} {scores}   {_walls(d):<20} {_search_note(d)}"
        )
    tail = [
        *_log_loss_lines(report["datasets"]),
        *_summary_lines(report["summary"]),
        *_error_lines(report["datasets"]),
    ]
    return "\n".join([*lines, "", *tail])


def results_name(budget_s: int) -> str:
    """quality.json/.md at the default 30 s; quality-120s.json/.md and so on at other budgets,
    so a run at one budget never overwrites another's figures."""
    return "quality" if budget_s == 30 else f"quality-{budget_s}s"


def write_results(report: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = results_name(report["budget_s"])
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown_table(report))


# ---- command line ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=30, help="seconds per system and dataset")
    parser.add_argument(
        "--datasets", default=",".join(DATASETS), help=f"comma-separated: {', '.join(DATASETS)}"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=3,
        help=f"seeds (splits) per table of up to {SEEDED_ROWS:,} rows; larger tables get one",
    )
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated systems to train (cached baseline outcomes are shown either way)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="train the selected systems even where cached"
    )
    parser.add_argument(
        "--reuse-ours",
        action="store_true",
        help="use our cached outcomes made by the same engine code (to assemble split runs)",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.datasets.split(",") if n and n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s): {', '.join(unknown)}; known: {', '.join(DATASETS)}")
    systems = [s for s in args.systems.split(",") if s]
    if not systems or any(s not in SYSTEMS for s in systems):
        parser.error(f"--systems: a comma-separated subset of {', '.join(SYSTEMS)}")
    if args.seeds < 1 or args.budget < 5:
        parser.error("--seeds must be at least 1 and --budget at least 5 (seconds)")
    return args


def _quiet_logging() -> None:
    """The engine logs INFO to its run.log; the terminal gets warnings only, and not FLAML's
    one per column and prediction about text values unseen at fit time."""
    import warnings

    warnings.filterwarnings("ignore", message="Column .* contains values unseen at fit time")
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _quiet_logging()
    names = [n for n in args.datasets.split(",") if n]
    plan = Plan(
        systems=tuple(s for s in SYSTEMS if s in args.systems.split(",")),
        fresh=args.fresh,
        reuse_ours=args.reuse_ours,
        budget_s=args.budget,
        seeds=args.seeds,
        first_seed=args.seed,
    )
    if "autogluon" in plan.systems:
        ag = ensure_autogluon_env()
        print(f"AutoGluon: {ag.status} {ag.details}", flush=True)
    else:
        ag = AutogluonEnv(None, "not selected (--systems)")
    if {"ours", "flaml"} & set(plan.systems):
        warm_up()
    git = git_state()
    started = time.perf_counter()
    datasets = []
    for name in names:
        print(f"{name} ({DATASETS[name].about}), budget {args.budget} s", flush=True)
        summary = bench_dataset(DATASETS[name], plan, ag)
        if summary is not None:
            datasets.append(summary)
    report = {
        "benchmark": "quality",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "budget_s": args.budget,
        "seeds_per_table": args.seeds,
        "first_seed": args.seed,
        "systems_trained": list(plan.systems),
        "fresh": args.fresh,
        "total_s": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "git": git,
        "versions": {"main": main_versions(), "autogluon": autogluon_versions(datasets)},
        "autogluon_env": {"status": ag.status, **ag.details},
        "cache": cache_provenance(datasets),
        "datasets": datasets,
        "summary": summarize(datasets),
    }
    write_results(report)
    print()
    print(text_table(report))
    name = results_name(report["budget_s"])
    print(f"\nWrote {(RESULTS / name).relative_to(REPO)}.json and {name}.md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
