"""The EDA report of a table at the size that always gets a complete one: 10,000 rows and 100
columns (80 numbers, 20 categories) besides a yes/no target, at 10 s and 30 s budgets.

Each job is started by the warm worker, as the local launcher starts them, and timed from the
request: seconds to its results (the `finished` event: what the bot posts), to its EDA report
(with the results, or a `report` event after them) and to its end, and how many of the table's
columns the report shows. Nothing is asserted: the numbers are for reading.

    python benchmarks/report_follow_up.py [--budgets 10 30] [--repeats 1]

Writes benchmarks/results/report_follow_up.json and report_follow_up.md; run folders stay in
benchmarks/.cache/warm_start/runs/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.warm_start import (  # noqa: E402
    CACHE,
    RESULTS,
    event_seconds,
    machine_record,
    run_warm,
    spec_for,
    start_worker,
)

ROWS = 10_000
NUMBERS = 80
CATEGORIES = 20


def table() -> Path:
    import numpy as np
    import pandas as pd

    path = CACHE / f"wide_{ROWS}x{NUMBERS + CATEGORIES}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    values = rng.normal(size=(ROWS, NUMBERS))
    frame = pd.DataFrame(values, columns=[f"n{i}" for i in range(NUMBERS)])
    for i in range(CATEGORIES):
        frame[f"c{i}"] = rng.choice(["red", "green", "blue", "grey", "black"], size=ROWS)
    signal = values[:, 0] + values[:, 1] + (frame["c0"] == "red") - 0.5
    frame["target"] = np.where(signal + rng.normal(scale=0.5, size=ROWS) > 0, "yes", "no")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def measure(budget_s: int, wall_s: float, spec: Path, started_at: float) -> dict[str, Any]:
    result = json.loads((spec.parent / "result.json").read_text())
    timings = result.get("timings_s", {})
    return {
        "budget_s": budget_s,
        "status": result.get("status"),
        **event_seconds(spec.parent, started_at),
        "end_s": round(wall_s, 2),
        "search_s": timings.get("search"),
        "report_follow_up_s": timings.get("report_follow_up"),
        "notes": [note for note in result.get("notes", []) if "EDA report" in note],
    }


def median(values: list[Any]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 2) if known else None


def write(runs: list[dict[str, Any]], args: argparse.Namespace) -> str:
    machine = machine_record()
    payload = {"machine": machine, "settings": vars(args), "runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report_follow_up.json").write_text(json.dumps(payload, indent=2) + "\n")
    rows = [
        "| budget | results s | report s | end s | report after the results | columns shown "
        "| search s | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for budget in args.budgets:
        mine = [run for run in runs if run["budget_s"] == budget]
        columns = sorted({str(run["report_columns"]) for run in mine})
        followed = sum(bool(run["report_followed"]) for run in mine)
        rows.append(
            f"| {budget} s | {median([r['results_s'] for r in mine])} "
            f"| {median([r['report_s'] for r in mine])} | {median([r['end_s'] for r in mine])} "
            f"| {followed} of {len(mine)} | {', '.join(columns)} of {NUMBERS + CATEGORIES} "
            f"| {median([r['search_s'] for r in mine])} "
            f"| {', '.join(sorted({str(r['status']) for r in mine}))} |"
        )
    md = "\n".join(
        [
            "# The EDA report of a 10,000 x 100 table",
            "",
            f"`python benchmarks/report_follow_up.py`, {machine['date']}, Python "
            f"{machine['python']}, {machine['cpus']} CPUs (load average "
            f"{machine['load_average'][0]} at the end: the machine is shared), commit "
            f"{machine['git']} plus uncommitted: "
            f"{', '.join(machine['uncommitted_training_files']) or 'nothing'}. "
            f"{ROWS:,} rows, {NUMBERS} number and {CATEGORIES} category columns and a yes/no "
            f"target; jobs forked by the warm worker; medians of {args.repeats} run(s).",
            "",
            *rows,
            "",
            "*results*: request to the job's `finished` event, when the bot posts the results. "
            "*report*: request to the EDA report: its `report` event when it followed the "
            "results. *end*: request to the job's exit. *columns shown*: the table's columns "
            "with a tab in report.html (the target's own is not counted).",
            "",
        ]
    )
    (RESULTS / "report_follow_up.md").write_text(md)
    return md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)

    data = table()
    socket_path = CACHE / "worker.sock"
    socket_path.unlink(missing_ok=True)  # a stale one would pass for a ready worker
    worker = start_worker(socket_path)
    runs: list[dict[str, Any]] = []
    try:
        for repeat in range(args.repeats):
            for budget in args.budgets:
                spec = spec_for(f"wide-{budget}s-{repeat}", data, budget)
                started_at = time.time()
                wall = run_warm(socket_path, spec)
                runs.append(measure(budget, wall, spec, started_at))
                print(json.dumps(runs[-1]), flush=True)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    print(write(runs, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
