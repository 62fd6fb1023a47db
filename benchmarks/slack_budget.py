"""Progress of 30 concurrent jobs through one `chat.update` budget, against Slack's Tier 3.

Slack allows `chat.update` about 50 times a minute per workspace. This benchmark runs the
real `Notifier` (its per-workspace `ProgressBudget`, bot/slack_budget.py) with the real
slack_sdk client against the Slack stand-in enforcing 50 `chat.update` a minute (HTTP 429
with `Retry-After` past it). `--jobs` simulated jobs (default 30) are announced, started,
and send progress every `--every` seconds (default 2) until they end, one after another over
the last half of `--seconds` (default 120); each end posts its results through the same
notifier, as the job-event handler does.

Measured: `chat.update` calls in the busiest 60 s, 429s, the longest time a running job's
status message went without an update (its staleness), and for each job the time from its
end to its final status update and to its results message. Goals: no 429 (no more than 50
updates in any minute), and no final status update delayed (each within 2 s of the end).

    python benchmarks/slack_budget.py [--jobs 30] [--seconds 120] [--every 2] [--without-budget]

`--without-budget` runs the notifier as it was (each job alone, every 10 s), for comparison.
Writes benchmarks/results/slack_budget.json and slack_budget.md (not with --without-budget).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.backends.local.artifacts import LocalArtifactStore  # noqa: E402
from bot.backends.local.job_store import SqliteJobStore  # noqa: E402
from bot.console.slack_standin import SlackStandIn  # noqa: E402
from bot.jobs import Job  # noqa: E402
from bot.links import LinkSigner  # noqa: E402
from bot.notifier import Notifier  # noqa: E402
from bot.outcome import Outcome  # noqa: E402
from bot.slack_budget import memory_budget  # noqa: E402
from bot.slack_client import make_client  # noqa: E402
from contract.jobs import JobResult, ProgressEvent, utc_now  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TIER_3_PER_MINUTE = 50
FINAL_GOAL_S = 2.0


@dataclass
class JobRun:
    job_id: str
    status_ts: str
    ended_at: float = 0.0  # time.time() just before its results were handed to the notifier
    results_at: float = 0.0  # the notifier done with its results


def make_jobs(fake: SlackStandIn, store: SqliteJobStore, notifier: Notifier, n: int) -> list[Job]:
    """`n` jobs recorded, announced in their files' threads and shown as started."""
    jobs = []
    for i in range(n):
        file = fake.add_file(f"table{i}.csv", b"a,y\n1,0\n", channel=fake.channel)
        job = Job(
            job_id=f"bench{i:03d}",
            user_id=f"U{i:03d}",
            channel_id=fake.channel,
            thread_ts=file["message_ts"],
            file_name=f"table{i}.csv",
            target="y",
            time_budget_s=600,
        )
        store.create(job)
        notifier.announce(job)
        store.transition(job.job_id, "running")
        notifier.show_started(job.job_id)
        found = store.get(job.job_id)
        assert found is not None
        jobs.append(found)
    return jobs


def run_job(
    job: Job, store: SqliteJobStore, notifier: Notifier, *, end_at: float, every: float, run: JobRun
) -> None:
    """Progress every `every` s until `end_at`, then the job's results."""
    trials = 0
    started = time.time()
    while time.time() < end_at:
        trials += 1
        event = ProgressEvent(
            job_id=job.job_id,
            at=utc_now(),
            stage="search",
            elapsed_s=time.time() - started,
            budget_s=600,
            trials=trials,
            best_estimator="lgbm",
            best_score=0.8,
            metric="roc_auc",
        )
        notifier.show_progress(job.job_id, event)
        time.sleep(max(0.0, min(every, end_at - time.time())))
    store.transition(job.job_id, "succeeded")
    ended = store.get(job.job_id)
    assert ended is not None
    result = JobResult(
        job_id=job.job_id,
        status="succeeded",
        file_name=job.file_name,
        target="y",
        task="classification",
        metric="roc_auc",
        time_budget_s=600,
        best_estimator="lgbm",
        holdout_metrics={"roc_auc": 0.8},
    )
    run.ended_at = time.time()
    notifier.show_outcome(ended, Outcome(result=result, result_path=None))
    run.results_at = time.time()


def measure(n: int, seconds: float, every: float, with_budget: bool) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        SlackStandIn(chat_update_per_minute=TIER_3_PER_MINUTE) as fake,
        SqliteJobStore(Path(tmp) / "jobs.sqlite3") as store,
    ):
        artifacts = LocalArtifactStore(
            Path(tmp) / "data", signer=LinkSigner(b"k" * 32), public_url="https://automl.example"
        )
        budget = memory_budget() if with_budget else None
        notifier = Notifier(make_client(fake.bot_token, fake.url), store, artifacts, budget=budget)
        began = time.time()
        jobs = make_jobs(fake, store, notifier, n)
        runs = [JobRun(job.job_id, job.status_ts or "") for job in jobs]
        # Ends spread over the second half, as real jobs with different budgets end.
        ends = [began + seconds / 2 + (seconds / 2) * (i + 1) / n for i in range(n)]
        threads = [
            threading.Thread(
                target=run_job,
                args=(job, store, notifier),
                kwargs={"end_at": end, "every": every, "run": run},
            )
            for job, end, run in zip(jobs, ends, runs, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return summarise(fake.calls("chat.update"), runs, began)


def summarise(calls: list[Any], runs: list[JobRun], began: float) -> dict[str, Any]:
    ok = [c for c in calls if c.status == 200 and c.ok]
    times = sorted(c.time for c in ok)
    busiest = max((sum(1 for t in times if s <= t < s + 60) for s in times), default=0)
    per_minute: dict[int, int] = {}
    for t in times:
        minute = int((t - began) // 60)
        per_minute[minute] = per_minute.get(minute, 0) + 1
    stale, finals = [], []
    for run in runs:
        mine = sorted(c.time for c in ok if c.params.get("ts") == run.status_ts)
        points = [t for t in mine if t <= run.ended_at] + [run.ended_at]
        stale.append(max((b - a for a, b in itertools.pairwise(points)), default=0.0))
        final = [t for t in mine if t >= run.ended_at]
        finals.append((final[0] - run.ended_at) if final else float("inf"))
    stale.sort()
    return {
        "jobs": len(runs),
        "chat_update_ok": len(ok),
        "chat_update_429": sum(1 for c in calls if c.status == 429),
        "busiest_60s_updates": busiest,
        "updates_per_minute": per_minute,
        "max_staleness_s": round(stale[-1], 1),
        "median_staleness_s": round(stale[len(stale) // 2], 1),
        "max_end_to_final_update_s": round(max(finals), 2),
        "max_end_to_results_done_s": round(max(r.results_at - r.ended_at for r in runs), 2),
        "delayed_finals": sum(1 for f in finals if f > FINAL_GOAL_S),
    }


def write(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"settings": vars(args), "summary": summary}
    (RESULTS / "slack_budget.json").write_text(json.dumps(payload, indent=2) + "\n")
    passed = summary["delayed_finals"] == 0 and summary["chat_update_429"] == 0
    md = [
        "# Slack budget: many jobs' progress through one chat.update allowance",
        "",
        f"{args.jobs} simulated jobs send progress every {args.every:g} s for up to "
        f"{args.seconds:g} s through the real notifier and slack_sdk client, against the "
        f"stand-in enforcing Tier 3 ({TIER_3_PER_MINUTE} chat.update a minute, 429 past it). "
        "Staleness: the longest a running job's status message went without an update.",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in summary.items()],
        "",
        f"- **{'PASS' if passed else 'FAIL'}** no 429 and no final status update later than "
        f"{FINAL_GOAL_S:g} s after its job's end",
        "",
    ]
    (RESULTS / "slack_budget.md").write_text("\n".join(md))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Many jobs' progress through one Slack budget.")
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every", type=float, default=2.0)
    parser.add_argument("--without-budget", action="store_true")
    args = parser.parse_args(argv)
    summary = measure(args.jobs, args.seconds, args.every, not args.without_budget)
    print(json.dumps(summary, indent=2))
    if not args.without_budget:
        write(args, summary)
    return 0 if summary["delayed_finals"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
