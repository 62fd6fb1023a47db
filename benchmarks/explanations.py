"""What explaining the best model costs: in a training job, and for 10,000 rows.

Three measurements on a generated 10,000-row table (numbers, categories, one with 60 levels
that target encoding may take, and noise; a binary target driven by a few of them):

1. a real job (`run_job`, no EDA report) at `--budget` seconds: its `explain` stage (the
   holdout sample, up to 2,000 rows) against the job's wall time;
2. the job's saved model explaining all 10,000 rows, as `automl predict` does for its
   `reasons` column (contributions and the words);
3. each family alone (one model trained on the table) explaining the 10,000 rows: TreeSHAP
   for the boosters, exact ablation for the linear model, ablation for the rest.

Nothing is asserted: the numbers are for reading. Writes benchmarks/results/explanations.json
and explanations.md.

    python benchmarks/explanations.py [--budget 30] [--rows 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / "explanations"
RESULTS = ROOT / "benchmarks" / "results"
FAMILIES = ["lgbm", "xgboost", "linear", "hgb", "extra_tree", "rf", "knn"]
REASONS_SECONDS = 120.0  # `automl predict`'s limit (training.pipeline.model.REASONS_SECONDS)

sys.path.insert(0, str(ROOT))


def table(rows: int, seed: int = 0) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(12)})
    frame["tenure_months"] = rng.integers(0, 72, rows)
    frame["contract"] = rng.choice(["month-to-month", "one-year", "two-year"], rows)
    frame["plan"] = rng.choice(["basic", "plus", "pro", "team"], rows)
    frame["city"] = rng.choice([f"city {i}" for i in range(60)], rows)
    city_effect = frame["city"].str.slice(5).astype(int) % 7 / 7
    logit = (
        2.0
        - 0.07 * frame["tenure_months"]
        + 1.4 * (frame["contract"] == "month-to-month")
        + 0.8 * frame["x0"]
        - 0.5 * frame["x1"] * (frame["plan"] == "pro")
        + city_effect
    )
    frame["churned"] = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame


def job(data: Path, budget: int) -> dict[str, Any]:
    from contract.jobs import JobSpec
    from training.run import RunOptions, run_job

    run = CACHE / f"run-{budget}s"
    shutil.rmtree(run, ignore_errors=True)
    spec = JobSpec(job_id="explain-bench", dataset_uri=str(data), file_name=data.name,
                   target="churned", time_budget_s=budget, output_uri=str(run))  # fmt: skip
    started = time.perf_counter()
    result = run_job(spec, RunOptions(report=False, handle_signals=False))
    wall = time.perf_counter() - started
    explained = result.explanations
    return {
        "status": result.status,
        "best_estimator": result.best_estimator,
        "budget_s": budget,
        "wall_s": round(wall, 2),
        "timings_s": result.timings_s,
        "explain_s": result.timings_s.get("explain"),
        "explain_share_of_wall": round(result.timings_s.get("explain", 0.0) / wall, 4),
        "rows_explained": explained.rows if explained else 0,
        "method": explained.method if explained else None,
        "sentences": explained.sentences if explained else [],
        "notes": result.notes,
        "run_dir": str(run),
    }


def saved_model_rows(run_dir: Path, frame: Any) -> dict[str, Any]:
    from contract.run_folder import MODEL_FILE
    from training.pipeline.explanation_words import row_reasons
    from training.pipeline.explanations import ExplanationSkipped, explain_rows
    from training.pipeline.model import TrainedModel

    model = TrainedModel.load(run_dir / MODEL_FILE, sha256=None)
    rows = frame.drop(columns=["churned"])
    started = time.perf_counter()
    model.predict_proba(rows)
    report: dict[str, Any] = {
        "rows": len(rows),
        "estimator": model.estimator_name,
        "predict_s": round(time.perf_counter() - started, 3),
    }
    started = time.perf_counter()
    try:
        contributions = explain_rows(model, rows, seconds=REASONS_SECONDS)
    except ExplanationSkipped as skipped:
        return {**report, "skipped": str(skipped)}
    explained_s = time.perf_counter() - started
    reasons = row_reasons(model, contributions, rows)
    return {
        **report,
        "method": "; ".join(contributions.methods),
        "explain_s": round(explained_s, 3),
        "words_s": round(time.perf_counter() - started - explained_s, 3),
        "example_reason": reasons[0],
    }


def families(frame: Any) -> list[dict[str, Any]]:
    import numpy as np

    from training.pipeline.ensemble import BlendedPredictor, Member
    from training.pipeline.explanations import Background, ExplanationSkipped, explain_rows
    from training.pipeline.features import plan_features
    from training.pipeline.learners import FitContext, Fold, train
    from training.pipeline.model import TrainedModel
    from training.pipeline.target import prepare_target

    target = prepare_target(frame, "churned", "auto")
    raw = frame.drop(columns=["churned"])
    plan = plan_features(raw, target)
    X = plan.transform(raw)
    classes = list(target.classes)
    y = np.searchsorted(np.asarray(classes), target.values.astype(str).to_numpy())
    cut = int(0.8 * len(X))
    out = []
    for family in FAMILIES:
        ctx = FitContext("classification", 2, 1, 0, time.monotonic() + 120)
        config = {"n_estimators": 100} if family in {"rf", "extra_tree"} else {}
        started = time.perf_counter()
        fitted = train(
            family, config, Fold(X.iloc[:cut], y[:cut]), Fold(X.iloc[cut:], y[cut:]), ctx
        )
        train_s = time.perf_counter() - started
        predictor = BlendedPredictor([Member(family, family, 1.0, [fitted])])
        model = TrainedModel("classification", "churned", family, plan, predictor, classes)
        model.background = Background.from_training(X.iloc[:cut], predictor)
        started = time.perf_counter()
        model.predict_proba(raw)
        predict_s = time.perf_counter() - started
        row: dict[str, Any] = {"family": family, "train_s": round(train_s, 2),
                               "predict_s": round(predict_s, 3)}  # fmt: skip
        started = time.perf_counter()
        try:  # as `automl predict` does: left out when it would take far longer
            contributions = explain_rows(model, raw, seconds=REASONS_SECONDS)
        except ExplanationSkipped as skipped:
            row.update(method="ablation", explain_s=None, skipped=str(skipped))
        else:
            error = float(np.abs(contributions.output - model.predict_proba(raw)[:, 1]).max())
            row.update(method=contributions.methods[0].split(": ")[1], max_sum_error=error)
            row["explain_s"] = round(time.perf_counter() - started, 3)
        out.append(row)
        print(f"  {family}: {row}", file=sys.stderr)
    return out


def markdown(report: dict[str, Any]) -> str:
    saved = report["saved_model"]
    lines = [
        "### Explanations: cost in a job and for 10,000 rows",
        "",
        f"`python benchmarks/explanations.py`, {report['at']}, Python {report['python']}, "
        f"{report['cpus']} CPUs (shared with other work: figures are upper bounds). "
        f"Table: {report['rows']:,} rows x {report['columns']} columns, binary target.",
        "",
        "**In a job** (the explain stage: up to 2,000 holdout rows, in the share of the "
        "budget kept back from the search):",
        "",
        "| budget | best model | explain s | rows explained | share of wall | wall s | methods |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {j['budget_s']} s | {j['best_estimator']} | {j['explain_s']} | "
            f"{j['rows_explained']:,} | {j['explain_share_of_wall']:.1%} | {j['wall_s']} | "
            f"{j['method'] or _skipped(j)} |"
            for j in report["jobs"]
        ],
        "",
        "Sentences in the result of the last job:",
        "",
        *[f"- {s}" for s in report["jobs"][-1]["sentences"]],
        "",
        _saved_line(saved),
        "",
        f"**Each family alone, explaining {report['rows']:,} rows** (one model, 100 trees "
        "for the forests):",
        "",
        "| family | method | train s | explain s | predict s | max error of the sum |",
        "|---|---|---|---|---|---|",
    ]
    for f in report["families"]:
        explained = f["explain_s"] if f["explain_s"] is not None else "left out: " + f["skipped"]
        error = f"{f['max_sum_error']:.1e}" if "max_sum_error" in f else "—"
        lines.append(
            f"| {f['family']} | {f['method']} | {f['train_s']} | {explained} | "
            f"{f['predict_s']} | {error} |"
        )
    return "\n".join(lines) + "\n"


def _skipped(job: dict[str, Any]) -> str:
    return "skipped: " + "; ".join(n for n in job["notes"] if "explanations" in n)


def _saved_line(saved: dict[str, Any]) -> str:
    head = f"**The saved model ({saved['estimator']}) on all {saved['rows']:,} rows** (what "
    if "skipped" in saved:
        return head + f"`automl predict` adds for its `reasons` column): {saved['skipped']}"
    return (
        head + f"`automl predict` adds for its `reasons` column): contributions "
        f"{saved['explain_s']} s, words {saved['words_s']} s; predicting alone takes "
        f"{saved['predict_s']} s. Methods: {saved['method']}. Example reason: "
        f"`{saved['example_reason']}`"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budgets", default="30,60", help="job budgets in seconds")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    frame = table(args.rows)
    data = CACHE / "churn.csv"
    frame.to_csv(data, index=False)
    jobs = []
    for budget in (int(b) for b in args.budgets.split(",")):
        print(f"job at {budget} s …", file=sys.stderr)
        jobs.append(job(data, budget))
    print("saved model …", file=sys.stderr)
    saved = saved_model_rows(Path(jobs[-1]["run_dir"]), frame)
    print("families …", file=sys.stderr)
    report = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "rows": len(frame),
        "columns": frame.shape[1] - 1,
        "jobs": jobs,
        "saved_model": saved,
        "families": families(frame),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "explanations.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (RESULTS / "explanations.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
