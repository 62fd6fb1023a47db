"""Train and score one AutoGluon model for benchmarks/quality.py, inside AutoGluon's own venv.

AutoGluon pins other versions of pandas and friends than the bot, so it lives in
`benchmarks/.envs/autogluon` and the benchmark runs this script with that env's python:

    python autogluon_worker.py JOB.json

JOB.json holds the paths of the training rows (parquet, features and label), the holdout rows
(parquet, features only) and the settings (the seed among them); the worker writes a JSON
result with the holdout predictions (labels, and one probability column per class for
classification), the fit time and the versions. It imports nothing from this repository.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

VERSIONED = ("autogluon.tabular", "lightgbm", "catboost", "xgboost-cpu", "pandas", "numpy")
# Without torch these two cannot train; leaving them out only silences AutoGluon's warnings.
NEEDS_TORCH = ["NN_TORCH", "FASTAI"]


def main(job_path: Path) -> int:
    job = json.loads(job_path.read_text())
    result_path = Path(job["result"])
    try:
        result = run(job)
    except Exception as error:  # the benchmark reports the failure and goes on
        result = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
    result_path.write_text(json.dumps(result))
    return 0 if "error" not in result else 1


def run(job: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from autogluon.tabular import TabularPredictor

    train = pd.read_parquet(job["train"])
    test = pd.read_parquet(job["test"])
    model_dir = Path(job["model_dir"])
    shutil.rmtree(model_dir, ignore_errors=True)
    predictor = TabularPredictor(
        label=job["label"],
        problem_type=job["problem_type"],
        eval_metric=job["eval_metric"],
        path=str(model_dir),
        verbosity=job.get("verbosity", 1),
        # The seed of AutoGluon's own train/validation split (its models keep their seed 0).
        learner_kwargs={"random_state": job.get("seed", 0)},
    )
    started = time.perf_counter()
    predictor.fit(
        train,
        presets=job.get("presets", "medium_quality"),
        time_limit=job["time_limit"],
        excluded_model_types=NEEDS_TORCH,
    )
    fit_s = time.perf_counter() - started
    result = {
        "fit_s": round(fit_s, 3),
        "predictions": [_plain(v) for v in predictor.predict(test).tolist()],
        "best_model": predictor.model_best,
        "models": len(predictor.model_names()),
        "versions": versions(),
    }
    if job["problem_type"] != "regression":
        proba = predictor.predict_proba(test)
        result["classes"] = [str(c) for c in proba.columns]
        result["proba"] = proba.to_numpy(dtype=float).tolist()
    shutil.rmtree(model_dir, ignore_errors=True)  # models of all trials: megabytes per dataset
    return result


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["torch"] = _installed("torch")
    return found


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _plain(value: Any) -> Any:
    """numpy scalars -> JSON numbers or strings."""
    return value.item() if hasattr(value, "item") else value


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: autogluon_worker.py JOB.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
