"""A small job started cold (`python -m training run SPEC`) and by the warm worker.

The local launcher starts jobs through `python -m training.warm_worker` (a fork server that
has imported pandas, scikit-learn, LightGBM, XGBoost, FLAML and plotly already) and falls back
to a fresh process. This times both on a 300-row table at a 10 s budget, alternating cold and
warm runs so that both see the same load on the machine, and reports medians: wall time from
the request to the job's results (its `finished` event: what the bot posts), to its EDA report
(in the results, or a `report` event after them) and to its end, and how much of it the search
had (result.json `timings_s`). Nothing is asserted: the numbers are for reading.

    python benchmarks/warm_start.py [--repeats 3] [--budget 10] [--rows 300]

Writes benchmarks/results/warm_start.json and warm_start.md; run folders stay in
benchmarks/.cache/warm_start/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / "warm_start"
RESULTS = ROOT / "benchmarks" / "results"
READY_TIMEOUT_S = 300.0
JOB_TIMEOUT_S = 300.0

sys.path.insert(0, str(ROOT))

from contract.jobs import JobSpec  # noqa: E402
from training.warm_worker import PARENT_PID_ENV, process_stat, request_start  # noqa: E402


def table(rows: int) -> Path:
    from sklearn.datasets import load_breast_cancer

    path = CACHE / f"cancer_{rows}.csv"
    if not path.exists():
        frame = load_breast_cancer(as_frame=True).frame.sample(n=rows, random_state=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    return path


def spec_for(name: str, data: Path, budget_s: int) -> Path:
    run = CACHE / "runs" / name
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    spec = JobSpec(job_id=name, dataset_uri=str(data), file_name=data.name, target="target",
                   time_budget_s=budget_s, output_uri=str(run))  # fmt: skip
    (run / "spec.json").write_text(spec.model_dump_json())
    return run / "spec.json"


def event_seconds(run_dir: Path, started_at: float) -> dict[str, Any]:
    """Seconds from `started_at` (time.time()) to the job's results and to its EDA report, from
    its events log; whether the report was made and how many of the table's columns it shows."""
    from contract.jobs import FinishedEvent, JobResult, ReportEvent, parse_event

    results_s = report_s = None
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        event = parse_event(line)
        at = event.at.timestamp() - started_at
        if isinstance(event, FinishedEvent):
            results_s = at
            report_s = None if event.report_pending else at
        elif isinstance(event, ReportEvent):
            report_s = at
    result = JobResult.model_validate_json((run_dir / "result.json").read_bytes())
    report = run_dir / (result.artifacts.report or "no-report")
    columns = None
    if report.is_file():
        from contract.jobs import JobSpec

        spec = JobSpec.model_validate_json((run_dir / "spec.json").read_bytes())
        header = Path(spec.dataset_uri).read_text().split("\n", 1)[0].split(",")
        html = report.read_text(encoding="utf-8", errors="replace")
        # Each column's tab is titled ">name<"; the target's own is not counted.
        columns = sum(f">{name}<" in html for name in header if name != spec.target)
    return {
        "results_s": None if results_s is None else round(results_s, 2),
        "report_s": None if report_s is None or not report.is_file() else round(report_s, 2),
        "report_made": report.is_file(),
        "report_followed": result.timings_s.get("report_follow_up") is not None,
        "report_columns": columns,
    }


def run_cold(spec: Path) -> float:
    started = time.monotonic()
    with (spec.parent / "job.log").open("ab") as log:
        subprocess.run(
            [sys.executable, "-m", "training", "run", str(spec)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            check=False,
            timeout=JOB_TIMEOUT_S,
        )
    return time.monotonic() - started


def run_warm(socket_path: Path, spec: Path) -> float:
    started = time.monotonic()
    job = request_start(socket_path, spec, spec.parent / "job.log")
    deadline = started + JOB_TIMEOUT_S
    while (found := process_stat(job.pid)) is not None and found.state != "Z":
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {spec} still runs")
        time.sleep(0.02)
    return time.monotonic() - started


def start_worker(socket_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, PARENT_PID_ENV: str(os.getpid())}
    log = (CACHE / "worker.log").open("ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "training.warm_worker", "--socket", str(socket_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
    )
    log.close()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not socket_path.exists():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the warm worker did not start; see {CACHE / 'worker.log'}")
        time.sleep(0.1)
    return worker


def measure(
    kind: str, wall_s: float, spec: Path, budget_s: int, started_at: float
) -> dict[str, Any]:
    result = json.loads((spec.parent / "result.json").read_text())
    timings = result.get("timings_s", {})
    search = float(timings.get("search", 0.0))
    events = event_seconds(spec.parent, started_at)
    return {
        "kind": kind,
        "status": result.get("status"),
        "wall_s": round(wall_s, 2),
        "total_s": timings.get("total"),
        "search_s": search,
        "search_share_of_wall": round(search / wall_s, 3),
        "search_share_of_budget": round(search / budget_s, 3),
        "trials": result.get("trials"),
        **events,
        "search_share_of_results": round(search / (events["results_s"] or wall_s), 3),
        "timings_s": timings,
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = (
        "wall_s",
        "total_s",
        "search_s",
        "search_share_of_wall",
        "search_share_of_results",
        "search_share_of_budget",
    )
    summary: dict[str, Any] = {}
    for kind in ("cold", "warm"):
        mine = [run for run in runs if run["kind"] == kind]
        summary[kind] = {key: round(statistics.median(run[key] for run in mine), 3) for key in keys}
        summary[kind]["trials"] = statistics.median(run["trials"] or 0 for run in mine)
        summary[kind]["statuses"] = sorted({str(run["status"]) for run in mine})
        for key in ("results_s", "report_s"):  # a run without a report counts as the slowest
            times = [run[key] if run[key] is not None else float("inf") for run in mine]
            summary[kind][key] = round(statistics.median(times), 2)
        summary[kind]["reports_made"] = sum(bool(run["report_made"]) for run in mine)
        summary[kind]["runs"] = len(mine)
    return summary


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def write(
    summary: dict[str, Any], runs: list[dict[str, Any]], args: argparse.Namespace, worker_mb: float
) -> str:
    machine = machine_record()
    settings = {"rows": args.rows, "budget_s": args.budget, "repeats": args.repeats}
    payload = {"machine": machine, "settings": settings, "summary": summary, "runs": runs,
               "idle_worker_rss_mb": worker_mb}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "warm_start.json").write_text(json.dumps(payload, indent=2) + "\n")
    rows = [
        "| start | results s | report s | reports made | wall s | run total s | search s "
        "| search / results | search / wall | search / budget | trials | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in ("cold", "warm"):
        s = summary[kind]
        rows.append(
            f"| {kind} | {s['results_s']:.1f} | {s['report_s']:.1f} "
            f"| {s['reports_made']} of {s['runs']} | {s['wall_s']:.1f} | {s['total_s']:.1f} "
            f"| {s['search_s']:.1f} | {s['search_share_of_results']:.0%} "
            f"| {s['search_share_of_wall']:.0%} "
            f"| {s['search_share_of_budget']:.0%} | {s['trials']:g} | {', '.join(s['statuses'])} |"
        )
    md = "\n".join(
        [
            "# Warm start: a small job cold and through the warm worker",
            "",
            f"`python benchmarks/warm_start.py`, {machine['date']}, Python {machine['python']}, "
            f"{machine['cpus']} CPUs (load average {machine['load_average'][0]} at the end: the "
            f"machine is shared), commit {machine['git']} plus uncommitted: "
            f"{', '.join(machine['uncommitted_training_files']) or 'nothing'}. "
            f"{args.rows} rows x 30 columns, "
            f"{args.budget} s budget, medians of {args.repeats} runs each, cold and warm "
            "alternating.",
            "",
            *rows,
            "",
            "*cold*: `python -m training run SPEC`, a fresh interpreter, as the launcher's "
            "fallback. *warm*: a request to `python -m training.warm_worker`, which forks the job "
            "with the heavy modules imported (started beforehand; its own start is not timed). "
            "*results*: request to the job's `finished` event (what the bot posts). *report*: "
            "request to the EDA report (with the results, or its `report` event after them). "
            "*wall*: request to the job's end. *run total*, *search*: result.json `timings_s` "
            "(the run's clock starts before the heavy imports, so a cold run pays for them "
            "inside its budget, mostly out of the search). The idle warm worker holds "
            f"{worker_mb:,.0f} MB resident (shared with its jobs until they write to it).",
            "",
        ]
    )
    (RESULTS / "warm_start.md").write_text(md)
    return md


def machine_record() -> dict[str, Any]:
    """When, where and on which code the figures were measured."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "git": _git("rev-parse", "--short", "HEAD"),
        # Others edit the engine too: which uncommitted files these numbers include.
        "uncommitted_training_files": [
            line.strip() for line in _git("status", "--porcelain", "training").splitlines()
        ],
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, check=False, capture_output=True, text=True)
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--rows", type=int, default=300)
    args = parser.parse_args(argv)

    data = table(args.rows)
    socket_path = CACHE / "worker.sock"
    worker = start_worker(socket_path)
    worker_mb = resident_mb(worker.pid)
    runs: list[dict[str, Any]] = []
    try:
        for repeat in range(args.repeats):
            for kind in ("cold", "warm"):
                spec = spec_for(f"{kind}-{repeat}", data, args.budget)
                started_at = time.time()
                wall = run_cold(spec) if kind == "cold" else run_warm(socket_path, spec)
                runs.append(measure(kind, wall, spec, args.budget, started_at))
                print(json.dumps({k: v for k, v in runs[-1].items() if k != "timings_s"}))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    print(write(summarize(runs), runs, args, worker_mb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
