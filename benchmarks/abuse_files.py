"""Hostile files (hostile_files.py) through the CLI and through a real `automl serve`.

CLI: `automl train FILE --target label --time-budget 10 --no-report` in a session of its own;
its resident memory is summed over its process tree every 50 ms; what the person reads is the
result's error message (result.json), and the output is searched for a traceback. A run still
going after CLI_TIMEOUT_S is killed and reported as such.

Served: the file is shared in the stand-in's channel, the preview is awaited, then
`/automl train target=label time=10s` is sent; the outcome is the job's message in the thread
(or the private answer when no job starts). The server's own memory, the memory of the
processes below it (previews, jobs) and /health are watched throughout (serve_harness.Probe).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from serve_harness import Probe, ServedBot, automl_command, rss_mb, tree_rss_mb
from thread_watch import CHANNEL, wait_for_outcome, wait_for_preview

from bot.console.slack_standin import SlackStandIn

CLI_TIMEOUT_S = 120.0
PREVIEW_TIMEOUT_S = 200.0  # the bot gives a preview 120 s, then says it took too long
OUTCOME_TIMEOUT_S = 180.0
BUDGET_S = 10
HEALTH_GOAL_S = 1.0
BOT_EXTRA_GOAL_MB = 1024.0  # the server may grow by at most this much during an attack


def _sample_tree(pid: int, stop: threading.Event, peak: list[float]) -> None:
    while not stop.wait(0.05):
        with contextlib.suppress(OSError):
            peak[0] = max(peak[0], rss_mb(pid) + tree_rss_mb(pid))


def run_cli(path: Path, out: Path) -> dict[str, Any]:
    command = [*automl_command(), "train", str(path), "--target", "label"]
    command += ["--time-budget", str(BUDGET_S), "--no-report", "--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=out.parent,
    )
    peak, stop = [0.0], threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(process.pid, stop, peak))
    sampler.start()
    try:
        output, _ = process.communicate(timeout=CLI_TIMEOUT_S)
        exit_code: int | str = process.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        exit_code = f"killed after {CLI_TIMEOUT_S:.0f} s"
    finally:
        stop.set()
        sampler.join()
    text = output.decode("utf-8", errors="replace")
    return {
        "exit_code": exit_code,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(peak[0], 1),
        "sentence": _cli_sentence(out, text),
        "traceback": "Traceback" in text,
    }


def _wait_for_no_children(pid: int) -> None:
    deadline = time.monotonic() + OUTCOME_TIMEOUT_S
    while tree_rss_mb(pid) > 0 and time.monotonic() < deadline:
        time.sleep(0.2)


def _cli_sentence(out: Path, output: str) -> str:
    try:
        result = json.loads((out / "result.json").read_text())
    except (OSError, ValueError):
        # No result: the last line of text (the progress bar is not one).
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        words = [line for line in lines if not line.startswith(("█", "░"))]
        return words[-1] if words else "(nothing: no result was written)"
    if result.get("error"):
        return str(result["error"]["message"])
    return f"{result.get('status')}: {result.get('best_estimator')}"


def run_served(bot: ServedBot, slack: SlackStandIn, path: Path) -> dict[str, Any]:
    content = path.read_bytes()
    assert bot.pid is not None
    before = rss_mb(bot.pid)
    started = time.perf_counter()
    with Probe(bot) as probe:
        file = slack.add_file(path.name, content, channel=CHANNEL)
        thread_ts = file["message_ts"]
        bot.post(bot.requests.file_shared(CHANNEL, slack.message(CHANNEL, thread_ts)))
        preview = wait_for_preview(slack, thread_ts, float(thread_ts), PREVIEW_TIMEOUT_S)
        sent_at = time.time()
        # A person of its own each time: the per-person job limit must not answer for the file.
        person = f"U0ABUSE{int(sent_at * 1000) % 10**6:06d}"
        command = f"train target=label time={BUDGET_S}s"
        bot.post(bot.requests.command(CHANNEL, command, user=person))
        seen = wait_for_outcome(slack, thread_ts, sent_at, OUTCOME_TIMEOUT_S)
        _wait_for_no_children(bot.pid)  # the next file starts from a quiet server
    healthy = probe.healthy(HEALTH_GOAL_S)
    bot_extra = max(probe.peak_rss_mb, before) - before
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "bot_rss_before_mb": round(before, 1),
        "bot_peak_rss_mb": round(max(probe.peak_rss_mb, before), 1),
        "children_peak_rss_mb": round(probe.peak_children_mb, 1),
        "health_max_s": round(probe.worst_health_s or 0.0, 3),
        "health_failures": probe.health_failures,
        "preview": preview,
        "sentence": seen.outcome,
        "traceback": seen.traceback,
        "answered": bool(seen.outcome),
        "passed": bool(preview and seen.outcome)
        and not seen.traceback
        and healthy
        and bot_extra < BOT_EXTRA_GOAL_MB,
    }


def measure_files(makers: list[Callable[[Path], Path]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="abuse-files-") as tmp,
        SlackStandIn() as slack,
        ServedBot(slack, Path(tmp) / "data", AUTOML_WARM_WORKER="off") as bot,
    ):
        folder = Path(tmp) / "files"
        folder.mkdir()
        for make in makers:
            path = make(folder)
            row: dict[str, Any] = {
                "attack": make.__name__.replace("_", " "),
                "file": path.name,
                "file_kb": round(path.stat().st_size / 1024),
            }
            out = Path(tmp) / "cli" / path.name
            out.parent.mkdir(exist_ok=True)
            row["cli"] = run_cli(path, out)
            row["served"] = run_served(bot, slack, path)
            cli = row["cli"]
            row["cli"]["passed"] = (
                isinstance(cli["exit_code"], int) and bool(cli["sentence"]) and not cli["traceback"]
            )
            path.unlink()
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows
