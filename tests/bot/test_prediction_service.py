"""`JobService.predict` with the real local stores and the Slack fake, a launcher that holds
jobs: which model and which file a request means, and what refuses it before any job exists.
No training runs: the model is a signed stand-in (the end-to-end tests score for real)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import UserFacingError
from bot.model_signature import derive_model_key, signature
from bot.runtime import Bot, build_bot
from bot.service import PredictRequest
from contract.jobs import PredictionSpec
from tests.bot.harness import SIGNING_SECRET, make_settings
from tests.bot.test_service import HeldLauncher
from tests.builders import make_job
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

MODEL_BYTES = b"a stand-in for model.joblib"
SHA = "5" * 64


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    built = build_bot(make_settings(fake_slack, tmp_path / "data", AUTOML_MAX_JOBS_PER_USER=2))
    built.backend.launcher = HeldLauncher()
    yield built
    built.close()


def a_model(bot: Bot, fake: FakeSlack, *, channel: str | None = None, signed: bool = True) -> str:
    """A succeeded training job with a model and its signature in its run folder."""
    where = channel or fake.channel
    file = fake.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=where)
    job = make_job(
        user_id="U0OWNER", channel_id=where, thread_ts=file["message_ts"], status="succeeded"
    )
    bot.backend.jobs.create(job)
    run = Path(bot.backend.artifacts.output_uri(job.job_id))
    run.mkdir(parents=True)
    (run / "model.joblib").write_bytes(MODEL_BYTES)
    key = derive_model_key(SIGNING_SECRET if signed else "another secret")
    (run / "model.sig").write_bytes(signature(job.job_id, SHA, key))
    return job.job_id


def predict(bot: Bot, fake: FakeSlack, **fields: object) -> object:
    values: dict[str, object] = {"user_id": "U0HUMAN", "channel_id": fake.channel, **fields}
    return bot.service.predict(PredictRequest(**values))  # type: ignore[arg-type]


def test_the_spec_carries_the_signed_digest_and_the_model_s_file(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    model = a_model(bot, fake_slack)
    fake_slack.add_file("new.csv", b"plan,tenure_months\nBasic,3\n", channel=fake_slack.channel)

    started = predict(bot, fake_slack, model_job_id=model)

    job = started.job  # type: ignore[attr-defined]
    assert (job.kind, job.model_job_id, job.file_name, job.target) == (
        "predict",
        model,
        "new.csv",
        "churned",
    )
    spec_path = Path(bot.backend.artifacts.output_uri(job.job_id)) / "spec.json"
    spec = PredictionSpec.model_validate_json(spec_path.read_bytes())
    assert spec.model_sha256 == SHA and spec.model_job_id == model
    assert spec.model_uri.endswith(f"runs/{model}/model.joblib")
    assert Path(spec.dataset_uri).read_bytes() == b"plan,tenure_months\nBasic,3\n"
    assert "scoring *new.csv* with the model of job" in started.sentence()  # type: ignore[attr-defined]
    assert bot.backend.launcher.submitted == [job.job_id]  # type: ignore[attr-defined]


def test_without_a_job_the_thread_s_newest_model_scores_the_thread_s_newest_table(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    older = a_model(bot, fake_slack)
    model = bot.backend.jobs.get(older)
    assert model is not None and model.thread_ts is not None
    fake_slack.post_user_message(fake_slack.channel, "here", thread_ts=model.thread_ts)

    started = predict(bot, fake_slack, thread_ts=model.thread_ts)

    job = started.job  # type: ignore[attr-defined]
    assert job.model_job_id == older and job.file_name == "churn.csv"  # the thread's own file
    assert job.thread_ts == model.thread_ts


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("unsigned", "cannot be trusted"),
        ("other channel", "There is no job"),
        ("not a model", "has no model to use (it is running)"),
        ("no model in thread", "This thread has no model"),
        ("no model in channel", "This channel has no model"),
        ("not a table", "does not look like a table"),
    ],
)
def test_refused_before_any_job_exists(
    bot: Bot, fake_slack: FakeSlack, case: str, says: str
) -> None:
    fields: dict[str, object] = {}
    if case == "unsigned":
        fields["model_job_id"] = a_model(bot, fake_slack, signed=False)
    elif case == "other channel":
        fields["model_job_id"] = a_model(bot, fake_slack, channel="C0ELSEWHERE")
    elif case == "not a model":
        running = make_job(channel_id=fake_slack.channel, status="running")
        bot.backend.jobs.create(running)
        fields["model_job_id"] = running.job_id
    elif case == "no model in thread":
        file = fake_slack.add_file("new.csv", b"a,b\n1,2\n", channel=fake_slack.channel)
        fields["thread_ts"] = file["message_ts"]
    elif case == "not a table":
        fields["model_job_id"] = a_model(bot, fake_slack)
        fields["file_id"] = fake_slack.add_file("notes.txt", b"words", channel=fake_slack.channel)[
            "id"
        ]
    before = {j.job_id for j in bot.backend.jobs.list_for_channel(fake_slack.channel, 100)}

    with pytest.raises(UserFacingError) as refused:
        predict(bot, fake_slack, **fields)

    assert says in refused.value.message, refused.value.message
    after = {j.job_id for j in bot.backend.jobs.list_for_channel(fake_slack.channel, 100)}
    assert after == before


def test_a_signature_of_another_job_is_refused(bot: Bot, fake_slack: FakeSlack) -> None:
    model = a_model(bot, fake_slack)
    other = a_model(bot, fake_slack)
    run = Path(bot.backend.artifacts.output_uri(model))
    (run / "model.sig").write_bytes((Path(run.parent / other) / "model.sig").read_bytes())
    assert json.loads((run / "model.sig").read_bytes())["job_id"] == other

    with pytest.raises(UserFacingError, match="cannot be trusted"):
        predict(bot, fake_slack, model_job_id=model)
