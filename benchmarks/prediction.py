"""Predictions from Slack: slash command to the predictions CSV in the file's thread.

The real `automl serve` runs as a subprocess (serve_harness.py) against the Slack stand-in in
this process, with the local backend. One model is trained first on samples/churn.csv
(`/automl train target=churned`); then, for each size, new customers made like the sample
(samples/make_churn.py, without the target) are shared in the channel and
`/automl predict JOB` is sent; the time is from just before the command to the bot's message
carrying the CSV in the file's thread (its Slack `ts`). The job's own wall time comes from its
prediction.json (`timings_s.total`); the rest is the bot's share (the process's start, the
launcher, the Slack calls and the upload). The file is not announced to the bot (no
`file_share` event), so no preview runs while the prediction is timed.

The AWS cost per prediction job is computed with bot/cost.py at its default prices, for the
Fargate size bot/backends/aws/sizing.py picks for the file, the task running for the measured
job time plus 60 s (image pull, start-up and upload, as benchmarks/aws.py assumes for training).

    python benchmarks/prediction.py [--repeats 3] [--sizes 1000,100000]

Writes benchmarks/results/prediction.json and prediction.md. Timings are reported, never turned
into the exit status; the exit status is non-zero when a run got no CSV or the wrong row count.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from serve_harness import ROOT, ServedBot, machine, markdown_table, stop_cleanly_on_sigterm

from bot.backends.aws.sizing import task_size
from bot.console.slack_standin import SlackStandIn
from bot.cost import Attempt, FargatePrices, job_cost
from contract.jobs import PREDICTION_TIME_BUDGET_S

sys.path.insert(0, str(ROOT / "samples"))
from make_churn import write_customers

RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / "benchmarks" / ".cache" / "prediction"
SAMPLE = ROOT / "samples" / "churn.csv"
CHANNEL = "C0GENERAL"
GOAL_1000_S = 5.0
START_AND_UPLOAD_S = 60.0  # on Fargate, besides the job's own time (benchmarks/aws.py)
POLL_S = 0.05
TIMEOUT_S = 600.0


def new_customers(rows: int) -> Path:
    path = CACHE / f"new-customers-{rows}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_customers(path, rows=rows, seed=rows, first_id=300000, with_target=False)
    return path


def bot_messages(slack: SlackStandIn, thread_ts: str, after: float) -> list[dict[str, Any]]:
    return [
        m
        for m in slack.thread(CHANNEL, thread_ts)[1:]
        if float(m["ts"]) >= after and m.get("user") == slack.bot_user_id
    ]


def train(slack: SlackStandIn, bot: ServedBot) -> str:
    """Train the model the predictions use; its job id."""
    slack.add_file("churn.csv", SAMPLE.read_bytes(), channel=CHANNEL)
    bot.post(bot.requests.command(CHANNEL, "train target=churned time=10s"))
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        for run in (bot.data_dir / "runs").glob("*/result.json"):
            result = json.loads(run.read_text())
            if result.get("status") == "succeeded" and (run.parent / "model.sig").exists():
                return str(result["job_id"])
        time.sleep(0.5)
    raise RuntimeError("the model was not trained")


def one_run(slack: SlackStandIn, bot: ServedBot, model_job: str, data: Path) -> dict[str, Any]:
    file = slack.add_file(data.name, data.read_bytes(), channel=CHANNEL)
    sent_at = time.time()
    status, ack_s, _ = bot.post(bot.requests.command(CHANNEL, f"predict {model_job}"))
    run: dict[str, Any] = {"command_status": status, "ack_s": ack_s, "csv_s": None, "rows": None}
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        replies = bot_messages(slack, file["message_ts"], sent_at)
        carrying = [(m, f) for m in replies for f in m.get("files") or []]
        if carrying:
            message, upload = carrying[0]
            run["csv_s"] = float(message["ts"]) - sent_at
            content = slack.uploaded(upload["id"]).decode("utf-8")
            run["rows"] = len(list(csv.DictReader(io.StringIO(content))))
            break
        if any("failed" in str(m.get("text")) for m in replies):
            break
        time.sleep(POLL_S)
    run |= job_result(bot.data_dir)
    return run


def job_result(data_dir: Path) -> dict[str, Any]:
    """The newest prediction.json in the data folder: status and the job's own times."""
    newest = max(
        (data_dir / "runs").glob("*/prediction.json"), key=lambda p: p.stat().st_mtime, default=None
    )
    if newest is None:
        return {"job_status": None, "job_total_s": None, "job_timings_s": {}}
    result = json.loads(newest.read_text())
    timings = result.get("timings_s") or {}
    return {
        "job_id": result.get("job_id"),
        "job_status": result.get("status"),
        "with_reasons": result.get("with_reasons"),
        "warnings": [w.get("kind") for w in result.get("warnings") or []],
        "job_total_s": timings.get("total"),
        "job_timings_s": timings,
    }


def aws_cost(data: Path, job_s: float | None) -> dict[str, Any]:
    size = task_size(data.stat().st_size, PREDICTION_TIME_BUDGET_S, file_name=data.name)
    seconds = (job_s or 0.0) + START_AND_UPLOAD_S
    cost = job_cost([Attempt(size.vcpu, size.memory_mib, seconds)], FargatePrices())
    assert cost is not None
    return {
        "vcpu": size.vcpu,
        "memory_mib": size.memory_mib,
        "task_s": round(seconds, 1),
        "billed_s": cost.billed_s,
        "on_demand_usd": cost.on_demand_usd,
        "spot_usd": cost.spot_usd,
    }


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def measure(repeats: int, sizes: list[int]) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp,
        SlackStandIn() as slack,
        ServedBot(slack, Path(tmp) / "data") as bot,
    ):
        model_job = train(slack, bot)
        print(f"model: job {model_job}", flush=True)
        for rows in sizes:
            data = new_customers(rows)
            runs = []
            for number in range(1, repeats + 1):
                run = {"run": number, **one_run(slack, bot, model_job, data)}
                runs.append(run)
                print(
                    f"{rows:,} rows, run {number}: CSV in the thread {_fmt(run['csv_s'])} s "
                    f"(job {_fmt(run['job_total_s'])} s, {run['job_status']})",
                    flush=True,
                )
            job_s = median(runs, "job_total_s")
            cases[str(rows)] = {
                "rows": rows,
                "file_mb": round(data.stat().st_size / 1e6, 2),
                "runs": runs,
                "csv_s": median(runs, "csv_s"),
                "job_total_s": job_s,
                "aws": aws_cost(data, job_s),
            }
    return cases


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _runs(cases: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(case, run) for case in cases.values() for run in case["runs"]]


def checks(cases: dict[str, Any]) -> list[dict[str, Any]]:
    runs = _runs(cases)
    found = [
        {
            "check": "every prediction's CSV reached the thread with every row",
            "passed": all(r["rows"] == case["rows"] for case, r in runs),
        }
    ]
    if "1000" in cases and cases["1000"]["csv_s"] is not None:
        found.append(
            {
                "check": f"1,000 rows answered within {GOAL_1000_S:g} s (median)",
                "passed": cases["1000"]["csv_s"] <= GOAL_1000_S,
            }
        )
    return found


def write_results(env: dict[str, Any], repeats: int, cases: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    check_list = checks(cases)
    payload = {"machine": env, "repeats": repeats, "cases": cases, "checks": check_list}
    (RESULTS / "prediction.json").write_text(json.dumps(payload, indent=2) + "\n")
    head = ["rows", "file", "command → CSV in thread (median)", "runs", "job's own time"]
    stages = ["load", "check", "score", "save"]
    rows = []
    for case in cases.values():
        timings = [r["job_timings_s"] for r in case["runs"] if r.get("job_timings_s")]
        split = ", ".join(
            f"{stage} {_fmt(statistics.median(t.get(stage, 0.0) for t in timings))}"
            for stage in stages
        )
        rows.append(
            [
                f"{case['rows']:,}",
                f"{case['file_mb']} MB",
                f"**{_fmt(case['csv_s'])} s**",
                ", ".join(_fmt(r["csv_s"]) for r in case["runs"]),
                f"{_fmt(case['job_total_s'])} s ({split})",
            ]
        )
    cost_rows = [
        [
            f"{case['rows']:,}",
            f"{case['aws']['vcpu']:g} vCPU, {case['aws']['memory_mib'] / 1024:g} GB",
            f"{case['aws']['billed_s']} s",
            f"${case['aws']['on_demand_usd']:.4f}",
            f"${case['aws']['spot_usd']:.4f}",
        ]
        for case in cases.values()
    ]
    dirty = ", ".join(env["uncommitted_bot_files"]) or "nothing"
    reasons = "yes" if all(r.get("with_reasons") for _, r in _runs(cases)) else "no"
    md = [
        "# Predictions from Slack: latency and cost",
        "",
        f"`python benchmarks/prediction.py`, {env['date']}, Python {env['python']}, "
        f"{env['cpus']} CPUs, load {env['load_1m']} before. `automl serve` (local backend) "
        "against the Slack stand-in; one model trained on samples/churn.csv (10 s), then "
        f"`/automl predict JOB` on new customers made like it; {repeats} runs per size, "
        f"medians. Bot: commit {env['git']} plus uncommitted: {dirty}.",
        "",
        *markdown_table(head, rows),
        "",
        "The job's own time is its prediction.json `timings_s.total` (read the file and the "
        "model, check the columns, score with the reasons, write the CSV); the rest is the "
        "prediction process's start (forked by the local launcher's warm worker, which has "
        "the libraries imported), the launcher and the Slack calls, the CSV's upload "
        f"included. Every CSV had the reasons column: {reasons}.",
        "",
        f"Cost per prediction job on AWS at the default prices (bot/cost.py: us-east-1 Fargate, "
        f"Spot at its assumed share of on demand), the task running for the job's own time + "
        f"{START_AND_UPLOAD_S:g} s (start-up and upload), billed per second with a "
        "one-minute minimum:",
        "",
        *markdown_table(["rows", "task", "billed", "on demand", "Spot (estimate)"], cost_rows),
        "",
        "## Checks",
        "",
        *[f"- **{'ok' if c['passed'] else 'not met'}** {c['check']}" for c in check_list],
        "",
    ]
    (RESULTS / "prediction.md").write_text("\n".join(md))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Slash command to predictions CSV.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="1000,100000", help="rows, comma-separated")
    args = parser.parse_args(argv)
    stop_cleanly_on_sigterm()
    env = machine()
    sizes = [int(size) for size in args.sizes.split(",")]
    cases = measure(args.repeats, sizes)
    write_results(env, args.repeats, cases)
    print((RESULTS / "prediction.md").read_text())
    rows_ok = checks(cases)[0]["passed"]
    return 0 if rows_ok else 1


if __name__ == "__main__":
    sys.exit(main())
