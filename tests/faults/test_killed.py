"""The training process or the bot killed mid-job: the job's thread still gets its message.

The bot's real path from a launcher to Slack (LocalLauncher → JobEventHandler → Notifier →
the stand-in over HTTP), with the launcher tests' fake training job, so nothing trains:
`benchmarks/abuse.py` does the same with real jobs and a real `automl serve`.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.local.artifacts import LocalArtifactStore
from bot.backends.local.launcher import LocalLauncher, _process_alive
from bot.job_events import JobEventHandler
from bot.jobs import Job
from bot.lifecycle import JobLifecycle
from bot.links import LinkSigner
from bot.messages.failure import RESTARTED_WHILE_RUNNING
from bot.notifier import Notifier
from bot.slack_client import make_client
from tests.bot.test_launcher import World, wait_until
from tests.builders import make_job, spec_for
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.slow  # starts processes


class Bot:
    """What one run of the bot holds: a notifier and a launcher over the shared store."""

    def __init__(self, world: World, fake: FakeSlack) -> None:
        artifacts = LocalArtifactStore(
            world.data_root, signer=LinkSigner(b"k" * 32), public_url="https://automl.example"
        )
        self.notifier = Notifier(make_client(fake.bot_token, fake.url), world.store, artifacts)
        events = JobEventHandler(JobLifecycle(world.store), world.store, artifacts, self.notifier)
        self.launcher: LocalLauncher = world.launcher(events)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def replies(fake: FakeSlack, thread_ts: str) -> list[dict[str, Any]]:
    return fake.thread(fake.channel, thread_ts)[1:]


def outcome_texts(fake: FakeSlack, thread_ts: str) -> list[str]:
    return [
        str(m.get("text")) for m in replies(fake, thread_ts) if " failed: " in str(m.get("text"))
    ]


def start_job(world: World, fake: FakeSlack, bot: Bot) -> tuple[Job, str]:
    """A job on a shared file, announced in its thread as the service does, and running."""
    file = fake.add_file("data.csv", b"x,label\n1,0\n", channel=fake.channel)
    job, _ = world.store.create(
        make_job(channel_id=fake.channel, thread_ts=file["message_ts"], user_id="U0HUMAN")
    )
    run = world.run_dir(job.job_id)
    run.mkdir(parents=True)
    spec = run / "spec.json"
    spec.write_text(
        spec_for(
            job, dataset_uri=str(world.tmp_path / "data.csv"), output_uri=str(run)
        ).model_dump_json()
    )
    bot.notifier.announce(job)
    bot.launcher.submit(job, str(spec))
    wait_until(lambda: world.status(job.job_id) == "running")
    wait_until((run / "events.jsonl").is_file)
    return job, file["message_ts"]


def pid_of(world: World, job: Job) -> int:
    return int(json.loads((world.run_dir(job.job_id) / "launcher.json").read_text())["pid"])


def test_a_killed_training_process_ends_with_a_sentence_in_its_thread(
    world: World, fake: FakeSlack
) -> None:
    bot = Bot(world, fake)
    job, thread_ts = start_job(world, fake, bot)

    os.killpg(pid_of(world, job), signal.SIGKILL)

    wait_until(lambda: outcome_texts(fake, thread_ts))
    (said,) = outcome_texts(fake, thread_ts)
    assert "before writing its results" in said and "Traceback" not in said
    assert world.status(job.job_id) == "failed"


def test_a_job_killed_while_the_bot_was_down_is_told_by_the_next_bot(
    world: World, fake: FakeSlack
) -> None:
    first = Bot(world, fake)
    job, thread_ts = start_job(world, fake, first)
    first.launcher.close()  # the bot goes away; the job runs on
    os.killpg(pid_of(world, job), signal.SIGKILL)  # ... until the machine loses it too
    record = json.loads((world.run_dir(job.job_id) / "launcher.json").read_text())
    wait_until(
        lambda: not _process_alive(record["pid"], Path(record["spec"]), record["start_time"])
    )

    Bot(world, fake)  # the next bot recovers the jobs the last one left

    wait_until(lambda: outcome_texts(fake, thread_ts))
    (said,) = outcome_texts(fake, thread_ts)
    assert RESTARTED_WHILE_RUNNING in said


def test_a_job_that_finished_while_the_bot_was_down_gets_its_results(
    world: World, fake: FakeSlack
) -> None:
    first = Bot(world, fake)
    job, thread_ts = start_job(world, fake, first)
    first.launcher.close()
    world.go(job.job_id, "succeed")
    wait_until((world.run_dir(job.job_id) / "result.json").is_file)

    Bot(world, fake)

    wait_until(lambda: world.status(job.job_id) == "succeeded")
    wait_until(lambda: any("Results for" in str(m.get("text")) for m in replies(fake, thread_ts)))
