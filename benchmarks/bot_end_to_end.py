"""End to end: from `/automl train` to the results and the charts in the file's thread.

The real `automl serve` runs as a subprocess (see serve_harness.py) against a Slack stand-in in
this process; training is real (the local backend's subprocess launcher). Each run does what a
person does:

1. shares samples/churn.csv in the channel (`add_file` in the stand-in) and Slack's signed
   `message`/`file_share` event reaches the bot; the run waits for the preview in the file's
   thread, as the person would before typing the command;
2. sends the signed slash command `/automl train target=churned time=10s` and times, from just
   before it is sent: its ack (HTTP 200), the private answer through the response_url, the job's
   status message in the thread, its first update (running), its final update, the results
   message (header starting with "Results") and the charts message (the bot's files).

Times of messages are their Slack `ts` (the stand-in stamps them when the bot posts), of updates
and private answers the stand-in's record of the call. The job's own wall time comes from its
result.json (`timings_s.total`): the rest is the bot's share (launch, events, Slack calls).

All runs share one server and data folder (run 1 is the first job after start-up, the others
find a warm bot); `--repeats` runs (default 3), medians reported.

    python benchmarks/bot_end_to_end.py [--repeats 3] [--budget 10]

Writes benchmarks/results/bot_end_to_end.json and bot_end_to_end.md. Timings are reported,
never turned into the exit status (a shared machine is noisy); the exit status is non-zero when
a run did not reach its charts or the job did not succeed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from serve_harness import (
    ROOT,
    ServedBot,
    machine,
    mapped_heavy_libraries,
    markdown_table,
    stop_cleanly_on_sigterm,
)

from bot.console.slack_standin import SlackStandIn

RESULTS = ROOT / "benchmarks" / "results"
SAMPLE = ROOT / "samples" / "churn.csv"
TARGET = "churned"
CHANNEL = "C0GENERAL"
PREVIEW_TIMEOUT_S = 120.0
POLL_S = 0.05
# (key, label) of what is timed, in the order it happens
MILESTONES = (
    ("ack_s", "ack (HTTP 200)"),
    ("private_answer_s", "private answer (response_url)"),
    ("status_message_s", "status message posted"),
    ("running_s", "status: running"),
    ("final_status_s", "status: final"),
    ("results_s", "results message"),
    ("charts_s", "charts message"),
)


def is_results(message: dict[str, Any]) -> bool:
    blocks = message.get("blocks") or []
    header = blocks[0].get("text", {}).get("text", "") if blocks else ""
    return str(header).startswith("Results")


def is_status(message: dict[str, Any]) -> bool:
    return str(message.get("text", "")).startswith("Training on")


def wait_for_preview(slack: SlackStandIn, file_ts: str) -> dict[str, Any]:
    deadline = time.monotonic() + PREVIEW_TIMEOUT_S
    while time.monotonic() < deadline:
        replies = slack.thread(CHANNEL, file_ts)[1:]
        if replies:
            return replies[0]
        time.sleep(POLL_S)
    raise RuntimeError("no preview in the file's thread")


def one_run(
    slack: SlackStandIn, bot: ServedBot, data: bytes, budget_s: int, timeout_s: float
) -> dict[str, Any]:
    file = slack.add_file("churn.csv", data, channel=CHANNEL)
    file_ts = file["message_ts"]
    shared_at = time.time()
    event_status, event_ack_s, _ = bot.post(
        bot.requests.file_shared(CHANNEL, slack.message(CHANNEL, file_ts))
    )
    preview = wait_for_preview(slack, file_ts)
    runs_before = set(_run_dirs(bot.data_dir))

    command = bot.requests.command(CHANNEL, f"train target={TARGET} time={budget_s}s")
    sent_at = time.time()
    status, ack_s, ack_body = bot.post(command)
    run: dict[str, Any] = {
        "file_share_event_status": event_status,
        "file_share_ack_s": event_ack_s,
        "preview_s": float(preview["ts"]) - shared_at,
        "command_status": status,
        "ack_s": ack_s,
        "ack_text": json.loads(ack_body).get("text", "") if ack_body else "",
    }
    found = _follow_thread(slack, file_ts, sent_at, timeout_s)
    run |= {key: (None if when is None else when - sent_at) for key, when in found.items()}
    job_id = next(iter(sorted(set(_run_dirs(bot.data_dir)) - runs_before)), None)
    run |= _job_result(bot.data_dir, job_id)
    run |= _job_events(bot.data_dir, job_id, sent_at)
    job_s, results_s = run.get("job_total_s"), run.get("results_s")
    run["bot_share_s"] = results_s - job_s if results_s is not None and job_s else None
    finished_s = run.get("finished_event_s")
    run["after_finished_s"] = (
        results_s - finished_s if results_s is not None and finished_s is not None else None
    )
    return run


def _follow_thread(
    slack: SlackStandIn, file_ts: str, sent_at: float, timeout_s: float
) -> dict[str, float | None]:
    """Epoch seconds of each milestone after the command (None: never seen before the timeout)."""
    found: dict[str, float | None] = {key: None for key, _ in MILESTONES if key != "ack_s"}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answers = [c.time for c in slack.calls("respond") if c.time >= sent_at]
        if answers and found["private_answer_s"] is None:
            found["private_answer_s"] = answers[0]
        replies = [
            m
            for m in slack.thread(CHANNEL, file_ts)[1:]
            if float(m["ts"]) >= sent_at and m.get("user") == slack.bot_user_id
        ]
        status = next((m for m in replies if is_status(m)), None)
        if status is not None:
            found["status_message_s"] = float(status["ts"])
            updates = [
                c for c in slack.calls("chat.update") if c.params.get("ts") == status["ts"] and c.ok
            ]
            running = [c.time for c in updates if ": running" in str(c.params.get("text"))]
            if running:
                found["running_s"] = running[0]
            final = [
                c.time
                for c in updates
                if any(w in str(c.params.get("text")) for w in (": succeeded", ": failed"))
            ]
            if final:
                found["final_status_s"] = final[0]
        results = next((m for m in replies if is_results(m)), None)
        if results is not None:
            found["results_s"] = float(results["ts"])
        charts = next((m for m in replies if m.get("files")), None)
        if charts is not None:
            found["charts_s"] = float(charts["ts"])
            return found
        if found["final_status_s"] is not None and time.time() - found["final_status_s"] > 60:
            return found  # ended without charts (a failed job): no point waiting longer
        time.sleep(POLL_S)
    return found


def _run_dirs(data_dir: Path) -> list[str]:
    runs = data_dir / "runs"
    return [p.name for p in runs.iterdir() if p.is_dir()] if runs.is_dir() else []


def _job_result(data_dir: Path, job_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"job_id": job_id, "job_status": None, "job_total_s": None}
    if job_id is None:
        return out
    try:
        result = json.loads((data_dir / "runs" / job_id / "result.json").read_text())
    except (OSError, ValueError):
        return out
    out["job_status"] = result.get("status")
    out["job_total_s"] = (result.get("timings_s") or {}).get("total")
    out["job_timings_s"] = result.get("timings_s")
    out["charts_made"] = len((result.get("artifacts") or {}).get("charts") or [])
    return out


def _job_events(data_dir: Path, job_id: str | None, sent_at: float) -> dict[str, float | None]:
    """When the job said `started` and `finished` (its events log), seconds after the command."""
    out: dict[str, float | None] = {"started_event_s": None, "finished_event_s": None}
    if job_id is None:
        return out
    try:
        lines = (data_dir / "runs" / job_id / "events.jsonl").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            event = json.loads(line)
            at = datetime.fromisoformat(event["at"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        key = f"{event.get('type')}_event_s"
        if key in out and out[key] is None:
            out[key] = at - sent_at
    return out


def measure(repeats: int, budget_s: int) -> dict[str, Any]:
    data = SAMPLE.read_bytes()
    timeout_s = 3 * budget_s + 240
    runs = []
    with (
        tempfile.TemporaryDirectory(prefix="bot-e2e-") as tmp,
        SlackStandIn() as slack,
        ServedBot(slack, Path(tmp) / "data") as bot,
    ):
        print(f"automl serve answered /health {bot.startup_s:.2f} s after it was started")
        for number in range(1, repeats + 1):
            print(f"run {number}/{repeats} ...", flush=True)
            run = {"run": number, **one_run(slack, bot, data, budget_s, timeout_s)}
            runs.append(run)
            print("  " + _one_line(run), flush=True)
        heavy = mapped_heavy_libraries(bot.pid) if bot.pid else []
        log_tail = bot.log_tail()
    return {"startup_s": bot.startup_s, "runs": runs, "heavy": heavy, "serve_log_tail": log_tail}


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _one_line(run: dict[str, Any]) -> str:
    parts = [f"{label} {_fmt(run.get(key))}" for key, label in MILESTONES]
    return ", ".join(parts) + f"; job {run['job_status']} in {_fmt(run['job_total_s'])} s"


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


SPLIT_KEYS = (
    *(k for k, _ in MILESTONES),
    "started_event_s",
    "finished_event_s",
    "job_total_s",
    "bot_share_s",
    "after_finished_s",
)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: median(runs, key) for key in (*SPLIT_KEYS, "preview_s", "file_share_ack_s")}


def split_table(runs: list[dict[str, Any]], summary: dict[str, Any]) -> list[str]:
    labels = dict(MILESTONES) | {
        "started_event_s": "the job's `started` event",
        "finished_event_s": "the job's `finished` event",
        "job_total_s": "the job's own wall time (result.json), a duration",
        "bot_share_s": "results minus the job's wall time, a duration",
        "after_finished_s": "`finished` event to results message, a duration",
    }
    head = ["seconds after the command", "median", *(f"run {r['run']}" for r in runs)]
    rows = [
        [labels[key], f"**{_fmt(summary[key])}**", *(_fmt(r.get(key)) for r in runs)]
        for key in SPLIT_KEYS
    ]
    return markdown_table(head, rows)


def stage_table(runs: list[dict[str, Any]]) -> list[str]:
    """The job's own stages (result.json `timings_s`), median and each run."""
    stages = list(next((r["job_timings_s"] for r in runs if r.get("job_timings_s")), {}))
    head = ["job stage, seconds", "median", *(f"run {r['run']}" for r in runs)]
    rows = []
    for stage in stages:
        values = [(r.get("job_timings_s") or {}).get(stage) for r in runs]
        known = [v for v in values if v is not None]
        middle = statistics.median(known) if known else None
        rows.append([stage, _fmt(middle), *(_fmt(v) for v in values)])
    return markdown_table(head, rows)


def checks(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "check": "every request answered HTTP 200",
            "passed": all(
                r["command_status"] == 200 and r["file_share_event_status"] == 200 for r in runs
            ),
        },
        {
            "check": "every job succeeded",
            "passed": all(r["job_status"] == "succeeded" for r in runs),
        },
        {
            "check": "every run got its results and its charts in the thread",
            "passed": all(
                r.get("results_s") is not None and r.get("charts_s") is not None for r in runs
            ),
        },
    ]


NOTES = """\
All times are seconds after the slash command was sent. *private answer*: the lazy half's
ephemeral reply through the response_url (the job was accepted). *status message posted*: the
job's one status message in the file's thread (queued); *running* and *final*: its chat.update
calls. *`started`/`finished` event*: the `at` of those lines in the job's events.jsonl. The last
three rows are durations: the job's own wall time (`timings_s.total`); the time to the results
message minus it (the bot's share: the process's start-up before the job's clock, its exit,
the launcher noticing the exit, reading result.json, the Slack calls); and from the `finished`
event to the results message (the process's exit, the launcher's poll, the notifier)."""


def write_results(
    env: dict[str, Any],
    args: argparse.Namespace,
    measured: dict[str, Any],
    summary: dict[str, Any],
    check_list: list[dict[str, Any]],
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = measured["runs"]
    payload = {
        "machine": env,
        "repeats": args.repeats,
        "budget_s": args.budget,
        "startup_s": measured["startup_s"],
        "summary": summary,
        "checks": check_list,
        "serve_heavy_libraries_mapped": measured["heavy"],
        "runs": runs,
    }
    (RESULTS / "bot_end_to_end.json").write_text(json.dumps(payload, indent=2) + "\n")
    dirty = ", ".join(env["uncommitted_bot_files"]) or "nothing"
    heavy = ", ".join(measured["heavy"]) or "none"
    md = [
        "# Bot: end to end, slash command to results",
        "",
        f"`python benchmarks/bot_end_to_end.py`, {env['date']}, Python {env['python']}, "
        f"{env['cpus']} CPUs, load {env['load_1m']} before. `automl serve` (a subprocess) "
        f"against the Slack stand-in, samples/churn.csv (3,000 x 11), "
        f"`/automl train target={TARGET} time={args.budget}s`; {args.repeats} runs on one server "
        f"(run 1 is its first job). Bot: commit {env['git']} plus uncommitted: {dirty}.",
        "",
        f"Slash command to results message: **{_fmt(summary['results_s'])} s** (median; runs: "
        + ", ".join(_fmt(r.get("results_s")) for r in runs)
        + f"); to the charts: **{_fmt(summary['charts_s'])} s**.",
        "",
        *split_table(runs, summary),
        "",
        *stage_table(runs),
        "",
        f"Before the command: the file_share event's ack {_fmt(summary['file_share_ack_s'])} s, "
        f"the preview in the thread {_fmt(summary['preview_s'])} s after the share (medians). "
        f"`automl serve` start to first /health 200: {_fmt(measured['startup_s'])} s. "
        f"Compiled extensions of pandas/numpy/sklearn mapped in the serve process after the "
        f"runs: {heavy}.",
        "",
        NOTES,
        "",
        "## Checks",
        "",
        *[f"- **{'ok' if c['passed'] else 'FAILED'}** {c['check']}" for c in check_list],
        "",
    ]
    (RESULTS / "bot_end_to_end.md").write_text("\n".join(md))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Slash command to results, end to end.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=10, help="the job's time budget, seconds")
    args = parser.parse_args(argv)
    stop_cleanly_on_sigterm()
    env = machine()
    measured = measure(args.repeats, args.budget)
    summary = summarise(measured["runs"])
    check_list = checks(measured["runs"])
    print("\n".join(["", *split_table(measured["runs"], summary), ""]))
    print("\n".join([*stage_table(measured["runs"]), ""]))
    for c in check_list:
        print(f"{'ok' if c['passed'] else 'FAILED'} {c['check']}")
    if not all(c["passed"] for c in check_list):
        print(f"\nthe end of automl serve's log:\n{measured['serve_log_tail']}")
    write_results(env, args, measured, summary, check_list)
    print(f"\nwrote {RESULTS.relative_to(ROOT)}/bot_end_to_end.json and bot_end_to_end.md")
    return 0 if all(c["passed"] for c in check_list) else 1


if __name__ == "__main__":
    sys.exit(main())
