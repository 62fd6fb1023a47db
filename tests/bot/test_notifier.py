"""A job's status message and outcome in Slack, through the real WebClient to fake Slack.

The launcher's reports go to the `JobEventHandler`, as in the bot: the lifecycle moves the
job, the notifier draws it.
"""

from __future__ import annotations

import logging
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.backends.local.artifacts import LocalArtifactStore
from bot.backends.local.job_store import SqliteJobStore
from bot.job_events import JobEventHandler
from bot.jobs import Job
from bot.lifecycle import JobLifecycle
from bot.links import LinkSigner
from bot.messages.failure import NO_RESULT_MESSAGE
from bot.notifier import Notifier
from bot.ports import JobEnding
from bot.slack_client import make_client
from contract.jobs import (
    Artifacts,
    ErrorInfo,
    FinishedEvent,
    JobResult,
    JobStatus,
    ProgressEvent,
    utc_now,
)
from tests.bot.blocks import context_texts, links, of_type, section_texts, texts
from tests.builders import make_job, make_result
from tests.fakes.slack_api import FakeSlack, retry_waits

__all__ = ["retry_waits"]

PUBLIC_URL = "https://automl.example"


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


CHARTS = {"charts/roc.png": png(), "charts/importance.png": png(3, 1)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """Fake Slack, a SQLite job store, a run folder, a clock, and one queued job."""

    fake: FakeSlack
    store: SqliteJobStore
    artifacts: LocalArtifactStore
    clock: Clock
    notifier: Notifier
    events: JobEventHandler
    lifecycle: JobLifecycle
    job: Job

    def another_bot(self) -> JobEventHandler:
        """The event handler of another process (another Lambda invocation, say)."""
        notifier = Notifier(
            make_client(self.fake.bot_token, self.fake.url), self.store, self.artifacts
        )
        return JobEventHandler(JobLifecycle(self.store), self.store, self.artifacts, notifier)

    def write_result(self, result: JobResult, charts: dict[str, bytes] | None = None) -> None:
        run = self.artifacts.run_dir(result.job_id)
        for relative, content in (CHARTS if charts is None else charts).items():
            (run / relative).parent.mkdir(parents=True, exist_ok=True)
            (run / relative).write_bytes(content)
        self.artifacts.save_result(result)

    def current(self) -> Job:
        job = self.store.get(self.job.job_id)
        assert job is not None
        return job

    def status_text(self) -> str:
        ts = self.current().status_ts
        assert ts is not None
        return str(self.fake.message(self.job.channel_id, ts)["text"])

    def replies(self) -> list[dict[str, Any]]:
        """The bot's replies in the job's thread after its status message."""
        assert self.job.thread_ts is not None
        status_ts = self.current().status_ts
        thread = self.fake.thread(self.job.channel_id, self.job.thread_ts)[1:]
        return [m for m in thread if m["ts"] != status_ts]

    def posts(self) -> int:
        return len(self.fake.calls("chat.postMessage"))

    def updates(self) -> int:
        return len(self.fake.calls("chat.update"))

    def uploads(self) -> int:
        return len(self.fake.calls("files.completeUploadExternal"))

    def shown(self) -> list[str]:
        """Every text of every message in the channel: fallbacks and blocks."""
        return [
            text
            for message in self.fake.messages(self.job.channel_id)
            for text in [message.get("text") or "", *texts(message.get("blocks") or [])]
        ]

    def never_shown(self, words: str) -> bool:
        return not [text for text in self.shown() if words in text]

    def assert_slack_accepted_everything(self) -> None:
        """Every API call was answered ok: in particular every message's blocks were valid."""
        calls = self.fake.calls()
        refused = [(c.method, c.response) for c in calls if "." in c.method and not c.ok]
        assert refused == []


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    with FakeSlack() as fake, SqliteJobStore(tmp_path / "jobs.sqlite3") as store:
        artifacts = LocalArtifactStore(
            tmp_path / "data", signer=LinkSigner(b"k" * 32), public_url=PUBLIC_URL
        )
        clock = Clock()
        client = make_client(fake.bot_token, fake.url)
        notifier = Notifier(client, store, artifacts, min_update_interval_s=10.0, clock=clock)
        lifecycle = JobLifecycle(store)
        events = JobEventHandler(lifecycle, store, artifacts, notifier)
        file = fake.add_file("churn.csv", b"a,churned\n1,0\n", channel=fake.channel)
        job, _ = store.create(
            make_job(user_id="U0HUMAN", channel_id=fake.channel, thread_ts=file["message_ts"])
        )
        yield World(fake, store, artifacts, clock, notifier, events, lifecycle, job)


def progress(trials: int, seconds_later: int = 0) -> ProgressEvent:
    return ProgressEvent(
        job_id="x",
        at=utc_now() + timedelta(seconds=seconds_later),
        stage="search",
        elapsed_s=5.0 + trials,
        budget_s=60,
        trials=trials,
        best_estimator="lgbm",
        best_score=0.81,
        metric="roc_auc",
    )


def finished(job: Job, status: JobStatus = "succeeded") -> JobEnding:
    event = FinishedEvent(job_id=job.job_id, status=status, result_path="/runs/x/result.json")
    return JobEnding(finished=event, exit_code=0)


def start(w: World) -> None:
    w.notifier.announce(w.job)
    w.events.job_started(w.job.job_id)


# ---- the status message --------------------------------------------------------------------


def test_a_reported_start_moves_the_job_and_shows_it(w: World) -> None:
    w.notifier.announce(w.job)
    assert "queued" in w.status_text()

    w.events.job_started(w.job.job_id)  # as the AWS Lambda reports it: nothing moved it yet

    assert w.current().status == "running"
    assert "running" in w.status_text()


def test_the_notifier_alone_moves_no_job(w: World) -> None:
    """It only draws: a start shown for a job nobody moved leaves it queued, unshown."""
    w.notifier.announce(w.job)

    w.notifier.show_started(w.job.job_id)

    assert w.current().status == "queued"
    assert w.updates() == 0


def test_announce_posts_the_status_message_in_the_thread(w: World) -> None:
    ts = w.notifier.announce(w.job, queue_position=2)

    assert ts is not None
    assert w.current().status_ts == ts
    message = w.fake.message(w.job.channel_id, ts)
    assert message["thread_ts"] == w.job.thread_ts
    assert "queued" in message["text"]
    assert context_texts(message["blocks"])[-1] == "Asked by <@U0HUMAN> · place in the queue: 2"
    w.assert_slack_accepted_everything()


def test_announce_refused_by_slack_returns_none(w: World) -> None:
    w.fake.fail_next("chat.postMessage", "not_in_channel")
    assert w.notifier.announce(w.job) is None
    assert w.current().status_ts is None


def test_started_shows_running_once(w: World) -> None:
    start(w)
    w.events.job_started(w.job.job_id)  # a repeated event

    assert w.current().status == "running"
    assert w.updates() == 1
    assert "running" in w.status_text()
    w.assert_slack_accepted_everything()


def test_progress_is_throttled_and_the_latest_is_shown_next(w: World) -> None:
    w.notifier.announce(w.job)
    w.lifecycle.start(w.job.job_id)  # moved by the launcher

    for trials, at in [(1, 0.0), (2, 3.0), (3, 6.0)]:
        w.clock.now = 1000.0 + at
        w.events.job_progress(w.job.job_id, progress(trials, seconds_later=trials))
    assert w.updates() == 1
    assert "1 trials" in w.status_text()

    w.clock.now = 1010.5  # the interval has passed
    w.events.job_progress(w.job.job_id, progress(4, seconds_later=4))
    assert w.updates() == 2
    assert "4 trials" in w.status_text()

    w.clock.now = 1012.0
    w.events.job_progress(w.job.job_id, progress(5, seconds_later=5))
    w.events.job_progress(w.job.job_id, progress(2, seconds_later=2))  # older, late
    assert w.updates() == 2

    # The final update is always sent, and shows the newest event even though it was dropped.
    w.events.job_ended(w.job.job_id, JobEnding(detail="The worker was stopped."))
    assert w.updates() == 3
    final = w.status_text()
    assert "failed" in final
    assert "5 trials" in final
    w.assert_slack_accepted_everything()


def test_started_counts_as_an_update_for_the_throttle(w: World) -> None:
    start(w)
    w.clock.now += 5
    w.events.job_progress(w.job.job_id, progress(1))
    assert w.updates() == 1
    w.clock.now += 5
    w.events.job_progress(w.job.job_id, progress(2, seconds_later=1))
    assert w.updates() == 2


def test_late_events_after_the_end_change_nothing(w: World) -> None:
    start(w)
    w.write_result(make_result(w.job))
    w.events.job_ended(w.job.job_id, finished(w.job))
    updates, before = w.updates(), w.status_text()

    w.clock.now += 60
    w.events.job_progress(w.job.job_id, progress(99, seconds_later=60))
    w.events.job_started(w.job.job_id)

    assert w.updates() == updates
    assert w.status_text() == before
    assert w.current().status == "succeeded"


def test_rate_limited_update_is_retried(w: World, retry_waits: list[float]) -> None:
    w.notifier.announce(w.job)
    w.fake.rate_limit("chat.update", times=1, retry_after=2)

    w.events.job_started(w.job.job_id)

    assert [c.status for c in w.fake.calls("chat.update")] == [429, 200]
    assert [int(wait) for wait in retry_waits] == [2]
    assert "running" in w.status_text()


def test_deleted_status_message_is_posted_again(w: World) -> None:
    w.notifier.announce(w.job)
    w.fake.fail_next("chat.update", "message_not_found")

    w.events.job_started(w.job.job_id)

    assert w.posts() == 2
    assert "running" in w.status_text()  # the new message is the one remembered


# ---- outcomes ------------------------------------------------------------------------------


def test_success_posts_results_and_all_charts_in_one_message(w: World) -> None:
    start(w)
    w.write_result(make_result(w.job))

    w.events.job_ended(w.job.job_id, finished(w.job))

    job = w.current()
    assert (job.status, job.result_path, job.error_code) == (
        "succeeded",
        "/runs/x/result.json",
        None,
    )
    assert "succeeded" in w.status_text()

    results, charts = w.replies()
    assert results["text"].startswith("<@U0HUMAN> Results for churn.csv")
    assert len(of_type(results["blocks"], "table")) == 1
    shared = links(results["blocks"])
    assert set(shared) == {"Open the data report", "Download the model"}
    artifacts = f"{PUBLIC_URL}/artifacts/{w.job.job_id}"
    assert shared["Open the data report"].startswith(f"{artifacts}/report.html?expires=")
    assert shared["Download the model"].startswith(f"{artifacts}/model.pkl?expires=")

    assert w.uploads() == 1
    assert charts["thread_ts"] == w.job.thread_ts
    assert "Charts for *churn.csv*" in charts["text"]
    files = charts["files"]
    assert [(f["name"], f["title"], f["alt_txt"]) for f in files] == [
        ("roc.png", "ROC curve", "ROC curve, AUC 0.80"),
        ("importance.png", "Feature importance", "Bar chart: a matters most"),
    ]
    assert [w.fake.uploaded(f["id"]) for f in files] == list(CHARTS.values())
    w.assert_slack_accepted_everything()


def test_failure_with_a_result_says_what_went_wrong(w: World) -> None:
    start(w)
    error = ErrorInfo(
        code="target_missing", message="The column churned is not in the file.", hint="Pick a."
    )
    w.write_result(
        make_result(w.job, status="failed", error=error, leaderboard=[], artifacts=Artifacts())
    )

    w.events.job_ended(w.job.job_id, finished(w.job, "failed"))

    job = w.current()
    assert (job.status, job.error_code, job.error_message) == (
        "failed",
        "target_missing",
        error.message,
    )
    [failure] = w.replies()
    assert "The column churned is not in the file." in failure["text"]
    assert "*What to do:* Pick a." in section_texts(failure["blocks"])
    assert "failed" in w.status_text()
    assert w.uploads() == 0
    w.assert_slack_accepted_everything()


@pytest.mark.parametrize("detail", ["The worker ran out of memory (exit code 137).", ""])
def test_no_result_tells_the_detail_and_logs_the_tail(
    w: World, caplog: pytest.LogCaptureFixture, detail: str
) -> None:
    start(w)
    tail = 'Traceback (most recent call last):\n  File "run.py", line 1\nMemoryError'

    with caplog.at_level(logging.WARNING, logger="bot.outcome"):
        w.events.job_ended(w.job.job_id, JobEnding(exit_code=137, detail=detail, log_tail=tail))

    job = w.current()
    assert (job.status, job.error_code, job.result_path) == ("failed", "no_result", None)
    [failure] = w.replies()
    assert (detail or NO_RESULT_MESSAGE) in failure["text"]
    assert w.never_shown("Traceback")
    assert w.never_shown("MemoryError")
    assert "MemoryError" in caplog.text  # the tail is for whoever runs the bot
    w.assert_slack_accepted_everything()


def test_unreadable_result_is_a_failure_not_a_crash(w: World) -> None:
    start(w)
    run = w.artifacts.run_dir(w.job.job_id)
    run.mkdir(parents=True)
    (run / "result.json").write_text('{"status": "succ')

    w.events.job_ended(w.job.job_id, JobEnding(exit_code=0))

    assert w.current().error_code == "no_result"
    assert len(w.replies()) == 1
    assert w.never_shown("Traceback")


@pytest.mark.parametrize("with_leaderboard", [True, False])
def test_interrupted(w: World, with_leaderboard: bool) -> None:
    start(w)
    if with_leaderboard:
        w.write_result(make_result(w.job, status="interrupted"))
    else:
        w.write_result(
            make_result(w.job, status="interrupted", leaderboard=[], artifacts=Artifacts())
        )

    w.events.job_ended(w.job.job_id, finished(w.job, "interrupted"))

    assert w.current().status == "interrupted"
    assert "interrupted" in w.status_text()
    posted = w.replies()
    blocks = posted[0]["blocks"]
    if with_leaderboard:
        assert section_texts(blocks)[0].startswith(":warning: *Interrupted:*")
        assert len(of_type(blocks, "table")) == 1
        assert len(posted) == 2  # the results, then the charts
    else:
        assert (
            "*What went wrong:* The job was interrupted before it found any model."
            in section_texts(blocks)
        )
        assert len(posted) == 1
    w.assert_slack_accepted_everything()


def test_cancelled_only_updates_the_status_message(w: World) -> None:
    start(w)
    assert w.lifecycle.cancel(w.job.job_id)
    w.write_result(make_result(w.job, status="interrupted"))

    w.events.job_ended(w.job.job_id, finished(w.job, "interrupted"))

    assert w.current().status == "cancelled"
    assert "cancelled" in w.status_text()
    assert w.posts() == 1  # the announcement only
    assert w.uploads() == 0
    w.assert_slack_accepted_everything()


def test_repeated_endings_post_once(w: World) -> None:
    start(w)
    w.write_result(make_result(w.job))

    w.events.job_ended(w.job.job_id, finished(w.job))
    w.events.job_ended(w.job.job_id, finished(w.job))
    w.events.job_ended(w.job.job_id, JobEnding(detail="lost"))

    assert w.posts() == 2  # the announcement and the results
    assert w.uploads() == 1
    assert w.current().status == "succeeded"


def test_a_second_notifier_does_not_post_again(w: World) -> None:
    """Like two Lambda invocations for one event: the lifecycle's atomic move decides."""
    other = w.another_bot()
    start(w)
    w.write_result(make_result(w.job))

    w.events.job_ended(w.job.job_id, finished(w.job))
    other.job_ended(w.job.job_id, finished(w.job))

    assert w.posts() == 2
    assert w.uploads() == 1


def test_ending_without_a_reported_start_still_succeeds(w: World) -> None:
    w.notifier.announce(w.job)
    w.write_result(make_result(w.job))

    w.events.job_ended(w.job.job_id, finished(w.job))  # the started event was lost

    assert w.current().status == "succeeded"
    assert len(w.replies()) == 2


def test_no_status_message_posts_a_new_one(w: World) -> None:
    w.lifecycle.start(w.job.job_id)
    w.write_result(make_result(w.job))

    w.events.job_ended(w.job.job_id, finished(w.job))

    assert "succeeded" in w.status_text()
    assert w.posts() == 2  # the status message, then the results
    assert w.updates() == 0


def test_job_outside_a_thread_gets_replies_under_its_status_message(w: World) -> None:
    job, _ = w.store.create(make_job(user_id="U0HUMAN", channel_id=w.fake.channel, thread_ts=None))
    status_ts = w.notifier.announce(job)
    assert status_ts is not None
    w.write_result(make_result(job))

    w.events.job_ended(job.job_id, finished(job))

    thread = w.fake.thread(job.channel_id, status_ts)
    assert len(thread) == 3  # the status message, the results, the charts
    w.assert_slack_accepted_everything()


def test_slack_errors_while_posting_do_not_raise(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    start(w)
    w.write_result(make_result(w.job))
    w.fake.fail_next("chat.update", "internal_error")
    w.fake.fail_next("chat.postMessage", "channel_is_archived")
    w.fake.fail_next("files.completeUploadExternal", "not_in_channel")

    with caplog.at_level(logging.WARNING, logger="bot.notifier"):
        w.events.job_ended(w.job.job_id, finished(w.job))

    assert w.current().status == "succeeded"
    for error in ("internal_error", "channel_is_archived", "not_in_channel"):
        assert error in caplog.text


def test_a_missing_chart_and_a_broken_link_are_left_out(w: World) -> None:
    start(w)
    w.write_result(make_result(w.job), charts={"charts/roc.png": png()})
    w.artifacts.signer = None  # link() now raises

    w.events.job_ended(w.job.job_id, finished(w.job))

    results, charts = w.replies()
    assert len(of_type(results["blocks"], "table")) == 1  # the results, without links
    assert links(results["blocks"]) == {}
    assert [f["name"] for f in charts["files"]] == ["roc.png"]
    w.assert_slack_accepted_everything()


def test_concurrent_endings_post_once(w: World) -> None:
    """Several threads and processes report the same end at once: one notification."""
    others = [w.another_bot() for _ in range(3)]
    start(w)
    w.write_result(make_result(w.job))
    handlers = [w.events, w.events, *others]
    barrier = threading.Barrier(len(handlers))

    def end(handler: JobEventHandler) -> None:
        barrier.wait()
        handler.job_ended(w.job.job_id, finished(w.job))

    threads = [threading.Thread(target=end, args=(h,)) for h in handlers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert w.posts() == 2
    assert w.uploads() == 1


def test_a_log_excerpt_keeps_what_a_person_can_read() -> None:
    from bot.messages.failure import log_excerpt

    tail = "\n".join(
        [
            "loading data",
            "Traceback (most recent call last):",
            '  File "/opt/venv/lib/python3.11/site-packages/x.py", line 3, in f',
            "    secret_function()",
            "MemoryError: cannot allocate 4 GiB",
            "Killed",
        ]
    )
    excerpt = log_excerpt(tail)
    assert excerpt == "loading data / MemoryError: cannot allocate 4 GiB / Killed"
    assert "File" not in excerpt and "secret_function" not in excerpt
    assert log_excerpt("") == ""


def test_lines_logged_while_handling_a_job_event_carry_its_job_id(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    from common.logs import CONTEXT_ATTRIBUTE, install_record_hooks

    install_record_hooks()  # what every entry point's logging set-up does
    with caplog.at_level(logging.WARNING, logger="bot.job_events"):
        w.events.job_ended("no-such-job", JobEnding(detail="gone"))
    [line] = [r for r in caplog.records if "not in the job store" in r.getMessage()]
    context = getattr(line, CONTEXT_ATTRIBUTE)
    assert context["job_id"] == "no-such-job" and context["event"] == "job ended"
