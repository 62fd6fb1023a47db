"""Retraining before the job runs: which model, which file, who may, and what the spec says.

The real job service over the local backend and the Slack stand-in; the launcher holds jobs,
and the previous "model" is bytes signed the way the bot signs a finished job's model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.command_parser import TrainCommand
from bot.errors import UserFacingError
from bot.model_signature import signature
from bot.retrain_service import RetrainRequest, retrain
from bot.runtime import Bot, build_bot
from bot.service import TrainRequest
from contract.jobs import Artifacts, JobResult
from contract.run_folder import MODEL_FILE
from tests.bot.harness import make_settings
from tests.bot.test_service import HeldLauncher
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

CHURN = SAMPLE_CHURN.read_bytes()
MODEL_BYTES = b"a model's bytes"


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    built = build_bot(make_settings(fake_slack, tmp_path / "data", AUTOML_MAX_JOBS_PER_USER=2))
    built.backend.launcher = HeldLauncher()
    yield built
    built.close()


def trained(bot: Bot, fake: FakeSlack, *, signed: bool = True) -> tuple[str, str]:
    """A succeeded training job with a saved model; (job id, its thread)."""
    file = fake.add_file("churn.csv", CHURN, channel=fake.channel)
    started = bot.service.train(
        TrainRequest(
            user_id="U0HUMAN",
            channel_id=fake.channel,
            command=TrainCommand(target="churned", time_budget_s=30, exclude=("region",)),
        )
    )
    job = started.job
    artifacts = bot.backend.artifacts
    (Path(artifacts.output_uri(job.job_id)) / MODEL_FILE).write_bytes(MODEL_BYTES)
    digest = hashlib.sha256(MODEL_BYTES).hexdigest()
    artifacts.save_result(
        JobResult(
            job_id=job.job_id,
            status="succeeded",
            target="churned",
            artifacts=Artifacts(model=MODEL_FILE, model_sha256=digest),
        )
    )
    if signed:
        assert bot.service.model_key is not None
        artifacts.save_model_signature(
            job.job_id, signature(job.job_id, digest, bot.service.model_key)
        )
    bot.service.lifecycle.start(job.job_id)
    bot.service.lifecycle.end(job.job_id, "succeeded")
    return job.job_id, file["message_ts"]


def share_in_thread(fake: FakeSlack, thread_ts: str, name: str) -> str:
    workspace = fake.workspace
    with workspace.lock:
        obj = workspace.store_file(workspace.new_id("F"), name, name, CHURN, "U0HUMAN")
        message = workspace.append_message(
            fake.channel, {"user": "U0HUMAN", "text": "", "files": [obj]}, thread_ts
        )
        workspace.record_share(obj, fake.channel, message["ts"], thread_ts)
    return str(obj["id"])


def test_retrain_in_a_thread_takes_the_settings_and_a_checked_copy_of_the_model(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    previous, thread_ts = trained(bot, fake_slack)
    new_file = share_in_thread(fake_slack, thread_ts, "march.csv")
    started = retrain(
        bot.service,
        RetrainRequest(user_id="U0HUMAN", channel_id=fake_slack.channel, thread_ts=thread_ts),
    )
    job = started.job
    assert started.created and job.file_id == new_file and job.thread_ts == thread_ts
    assert (job.target, job.time_budget_s, job.exclude_columns) == ("churned", 30, ("region",))
    spec = json.loads(
        (Path(bot.backend.artifacts.output_uri(job.job_id)) / "spec.json").read_text()
    )
    copy = spec["previous_model"]
    assert copy["job_id"] == previous
    assert copy["sha256"] == hashlib.sha256(MODEL_BYTES).hexdigest()
    assert Path(copy["model_uri"]).read_bytes() == MODEL_BYTES
    assert job.job_id in copy["model_uri"]  # beside the new job's dataset, which it may read


def test_retrain_refusals(bot: Bot, fake_slack: FakeSlack) -> None:
    previous, thread_ts = trained(bot, fake_slack)
    jobs = len(bot.backend.jobs.list_for_channel(fake_slack.channel))

    def refused(request: RetrainRequest) -> str:
        with pytest.raises(UserFacingError) as error:
            retrain(bot.service, request)
        return error.value.message

    channel = fake_slack.channel
    # Someone else, from another channel: there is no such job for them.
    other = fake_slack.add_channel("C0OTHER")
    assert f"There is no job `{previous}`" in refused(
        RetrainRequest(user_id="U0OTHER", channel_id=other, job_id=previous)
    )
    # The thread has no new file: the model's own file is not one.
    assert "no new table" in refused(
        RetrainRequest(user_id="U0HUMAN", channel_id=channel, thread_ts=thread_ts)
    )
    # Outside a thread without a job id: which model?
    assert "Say which model" in refused(RetrainRequest(user_id="U0HUMAN", channel_id=channel))
    assert len(bot.backend.jobs.list_for_channel(channel)) == jobs

    # A model this bot did not sign is never handed to a job.
    _, unsigned_thread = trained(bot, fake_slack, signed=False)
    share_in_thread(fake_slack, unsigned_thread, "april.csv")
    jobs = len(bot.backend.jobs.list_for_channel(channel))
    assert "was not signed by this bot" in refused(
        RetrainRequest(user_id="U0HUMAN", channel_id=channel, thread_ts=unsigned_thread)
    )
    assert len(bot.backend.jobs.list_for_channel(channel)) == jobs
