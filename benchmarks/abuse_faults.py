"""Faults while real jobs run under a real `automl serve` (local backend, Slack stand-in).

Each fault shares samples/churn.csv, waits for the preview, sends `/automl train
target=churned time=15s`, waits for the job's process, then breaks something:

    bot killed        SIGKILL `automl serve` mid-job; start it again on the same data folder
    bot killed, job   the same, but the job ends while no bot runs; then start the bot
      ends meanwhile
    training killed   SIGKILL the training process group mid-run
    disk full         a 64 MB tmpfs is the runs folder; a filler takes its last byte mid-run;
                      then the filler goes and another job must succeed on the same bot
    Slack 500/429     bursts of HTTP 500/503 and 429 (Retry-After) on the methods the job's
                      messages use, before and during the run

and records whether the job's thread got its message (and how many: nothing twice), how long
after the fault, what it says, and whether a traceback reached the person.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from serve_harness import ROOT, Probe, ServedBot
from thread_watch import CHANNEL, Seen, wait_for_outcome, wait_for_preview

from bot.console.slack_standin import SlackStandIn
from contract.run_folder import RESULT_FILE, RUNS_DIR

SAMPLE = ROOT / "samples" / "churn.csv"
BUDGET_S = 15
PREVIEW_TIMEOUT_S = 120.0
START_TIMEOUT_S = 120.0
OUTCOME_TIMEOUT_S = 240.0
RECORD = "launcher.json"  # the local launcher's record of a job's process
TMPFS_MB = 64
HEALTH_GOAL_S = 1.0


# ---- one job ---------------------------------------------------------------------------------


class Job:
    """One shared file and its `/automl train`, followed in its thread."""

    def __init__(self, bot: ServedBot, slack: SlackStandIn) -> None:
        self.slack = slack
        self.data_dir = bot.data_dir
        before = self._records()
        file = slack.add_file("churn.csv", SAMPLE.read_bytes(), channel=CHANNEL)
        self.thread_ts = str(file["message_ts"])
        bot.post(bot.requests.file_shared(CHANNEL, slack.message(CHANNEL, self.thread_ts)))
        if not wait_for_preview(slack, self.thread_ts, float(self.thread_ts), PREVIEW_TIMEOUT_S):
            raise RuntimeError("no preview in the file's thread")
        self.sent_at = time.time()
        bot.post(bot.requests.command(CHANNEL, f"train target=churned time={BUDGET_S}s"))
        self.run_dir = self._new_record(before).parent

    def _records(self) -> set[Path]:
        return set((self.data_dir / RUNS_DIR).glob(f"*/{RECORD}"))

    def _new_record(self, before: set[Path]) -> Path:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            new = self._records() - before
            if new:
                return new.pop()
            time.sleep(0.1)
        raise RuntimeError("the job's process did not start")

    @property
    def pid(self) -> int:
        return int(json.loads((self.run_dir / RECORD).read_text())["pid"])

    def wait_for_progress(self, timeout_s: float = 60.0) -> None:
        """Until the job reports a search trial: well inside its run."""
        deadline = time.monotonic() + timeout_s
        events = self.run_dir / "events.jsonl"
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if b'"progress"' in events.read_bytes():
                    return
            time.sleep(0.1)

    def outcome(self) -> Seen:
        return wait_for_outcome(
            self.slack, self.thread_ts, self.sent_at, OUTCOME_TIMEOUT_S, charts=True
        )

    def process_ended(self) -> bool:
        return not _alive(self.pid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _row(name: str, seen: Seen, fault_at: float, **extra: Any) -> dict[str, Any]:
    delay = None if seen.outcome_at is None else round(seen.outcome_at - fault_at, 1)
    messages = seen.results + seen.failures
    row = {
        "fault": name,
        "jobs": 1,
        "ended_with_message": int(messages >= 1),
        "outcome_messages": messages,
        "seconds_to_message": delay,
        "sentence": seen.outcome[:300],
        "traceback": seen.traceback,
        **extra,
    }
    row["passed"] = bool(
        row["ended_with_message"] and messages == 1 and not seen.traceback
    ) and extra.get("ok", True)
    row.pop("ok", None)
    print(json.dumps(row), flush=True)
    return row


# ---- the faults ------------------------------------------------------------------------------


def bot_killed(slack: SlackStandIn, tmp: Path) -> dict[str, Any]:
    data = tmp / "killed-bot"
    first = ServedBot(slack, data).start()
    try:
        job = Job(first, slack)
        job.wait_for_progress()
        fault_at = time.time()
        first.kill()
    finally:
        first.stop()
    with ServedBot(slack, data):
        seen = job.outcome()
    return _row("bot SIGKILLed mid-job, restarted", seen, fault_at, results=seen.results)


def bot_killed_job_ends_meanwhile(slack: SlackStandIn, tmp: Path) -> dict[str, Any]:
    data = tmp / "killed-bot-2"
    first = ServedBot(slack, data).start()
    try:
        job = Job(first, slack)
        job.wait_for_progress()
        fault_at = time.time()
        first.kill()
    finally:
        first.stop()
    ended = _wait(job.process_ended, OUTCOME_TIMEOUT_S)
    with ServedBot(slack, data):
        seen = job.outcome()
    return _row(
        "bot SIGKILLed, job ended while it was down",
        seen,
        fault_at,
        results=seen.results,
        ok=ended and (job.run_dir / RESULT_FILE).is_file(),
    )


def training_killed(slack: SlackStandIn, tmp: Path) -> dict[str, Any]:
    with ServedBot(slack, tmp / "killed-job") as bot, Probe(bot) as probe:
        job = Job(bot, slack)
        job.wait_for_progress()
        fault_at = time.time()
        os.killpg(job.pid, signal.SIGKILL)
        seen = job.outcome()
    return _row(
        "training process group SIGKILLed",
        seen,
        fault_at,
        health_max_s=round(probe.worst_health_s or 0, 3),
        ok=probe.healthy(HEALTH_GOAL_S),
    )


def disk_full(slack: SlackStandIn, tmp: Path) -> dict[str, Any]:
    data = tmp / "disk-full"
    runs = data / RUNS_DIR
    runs.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(runs)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        return {"fault": "disk full mid-run", "skipped": mounted.stderr.decode().strip()}
    try:
        with ServedBot(slack, data) as bot, Probe(bot) as probe:
            job = Job(bot, slack)
            job.wait_for_progress()
            fault_at = time.time()
            filled = _fill(runs / "filler")
            seen = job.outcome()
            (runs / "filler").unlink()
            again = Job(bot, slack).outcome()  # the bot keeps working once there is room
        return _row(
            "disk full mid-run (tmpfs runs folder)",
            seen,
            fault_at,
            filler_mb=round(filled / 2**20, 1),
            next_job=again.outcome[:120],
            health_max_s=round(probe.worst_health_s or 0, 3),
            ok=again.results == 1 and "disk" in seen.outcome and probe.healthy(HEALTH_GOAL_S),
        )
    finally:
        subprocess.run(["umount", "-l", str(runs)], check=False)


def _fill(path: Path) -> int:
    """Write until the disk refuses; the bytes written."""
    written = 0
    block = b"\0" * 2**20
    with path.open("wb", buffering=0) as file:
        while True:
            try:
                written += file.write(block)
            except OSError:
                break
        with contextlib.suppress(OSError):
            while file.write(b"\0" * 4096):  # the last pages
                written += 4096
    return written


def slack_bursts(slack: SlackStandIn, tmp: Path) -> dict[str, Any]:
    with ServedBot(slack, tmp / "slack-bursts") as bot, Probe(bot) as probe:
        slack.server_error("chat.postMessage", times=2)  # the preview waits these out
        slack.rate_limit("chat.postMessage", times=1, retry_after=1)
        before = len(slack.calls())
        job = Job(bot, slack)
        job.wait_for_progress()
        fault_at = time.time()
        # While it runs and as it ends: status updates, the results and the charts' upload.
        slack.server_error("chat.update", times=2)
        slack.server_error("chat.update", times=1, status=503)
        slack.server_error("chat.postMessage", times=3)
        slack.server_error("files.getUploadURLExternal", times=1)
        slack.server_error("files.completeUploadExternal", times=1, status=503)
        seen = job.outcome()
        refused = [c.status for c in slack.calls()[before:] if c.status in (429, 500, 503)]
    return _row(
        "Slack 500/503/429 bursts",
        seen,
        fault_at,
        errors_served=len(refused),
        results=seen.results,
        charts=seen.charts,
        health_max_s=round(probe.worst_health_s or 0, 3),
        ok=seen.results == 1 and seen.charts == 1 and len(refused) >= 11,
    )


FAULTS: list[Callable[[SlackStandIn, Path], dict[str, Any]]] = [
    bot_killed,
    bot_killed_job_ends_meanwhile,
    training_killed,
    disk_full,
    slack_bursts,
]


def measure_faults(faults: list[Callable[[SlackStandIn, Path], dict[str, Any]]]) -> list[Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="abuse-faults-") as tmp:
        for fault in faults:
            with SlackStandIn() as slack:
                try:
                    rows.append(fault(slack, Path(tmp)))
                except Exception as error:  # one broken fault must not hide the others
                    rows.append({"fault": fault.__name__, "error": repr(error), "passed": False})
                    print(json.dumps(rows[-1]), flush=True)
    return rows
