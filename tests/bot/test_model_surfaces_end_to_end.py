"""Using a trained model from Slack's surfaces, end to end: the Predict button and its file
form, the "Predict with a model" shortcut, `/automl models`, the Home tab, and retraining
with the comparison to the previous model.

The real FastAPI app and the local backend with real jobs; Slack's Web API is the stand-in,
which opens modals (`views.open`), publishes Home tabs (`views.publish`) and takes files
attached to a modal's file input the way Slack does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.messages.answers import SORRY
from bot.messages.model_forms import (
    FILE_ACTION,
    FILE_BLOCK,
    MODEL_ACTION,
    MODEL_BLOCK,
    PICK_MODEL_MODAL,
    PREDICT_BUTTON_ACTION,
    PREDICT_FILE_MODAL,
    PREDICT_SHORTCUT_CALLBACK_ID,
    RETRAIN_BUTTON_ACTION,
    RETRAIN_FILE_MODAL,
)
from tests.bot.blocks import element, shown, texts
from tests.bot.harness import BotUnderTest, wait_for
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

pytestmark = pytest.mark.slow

CHURN = SAMPLE_CHURN.read_bytes()
NEW_CUSTOMERS = (SAMPLE_CHURN.parent / "new-customers.csv").read_bytes()
NEW_ROWS = NEW_CUSTOMERS.decode().count("\n") - 1
HUMAN = "U0HUMAN"
NEVER_SHOWN = ("Traceback", SORRY[:40], 'File "/')


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[BotUnderTest]:
    under_test = BotUnderTest(fake_slack, tmp_path / "data", AUTOML_MAX_JOBS_PER_USER=2)
    yield under_test
    under_test.close()
    terminate = getattr(under_test.bot.backend.launcher, "terminate_all", None)
    if terminate:
        terminate()


# ---- helpers ------------------------------------------------------------------------------------


def thread(bot: BotUnderTest, ts: str) -> list[dict[str, Any]]:
    return bot.fake.thread(bot.fake.channel, ts)


def train(bot: BotUnderTest, budget: str = "8s") -> tuple[str, dict[str, Any]]:
    file = bot.fake.add_file("churn.csv", CHURN, channel=bot.fake.channel)
    bot.post(bot.requests.command(bot.fake.channel, f"train target=churned time={budget}"))
    job_id = wait_for(lambda: bot.jobs() and bot.jobs()[0].job_id, 60, "the training job")
    assert bot.wait_for_job_end(job_id).status == "succeeded"
    return job_id, file


def results_message(bot: BotUnderTest, thread_ts: str, job_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for message in thread(bot, thread_ts):
            for block in message.get("blocks") or []:
                if block.get("block_id") == f"model_actions:{job_id}":
                    return message
        return None

    return wait_for(find, 60, f"the results of {job_id} with their buttons")


def calls_since(fake: FakeSlack, method: str, count: int) -> list[Any]:
    return fake.calls(method)[count:]


def open_view(bot: BotUnderTest, send: Callable[[], Any]) -> dict[str, Any]:
    """Click (`send`), then the modal views.open showed. Slack's trigger id lasts 3 s: on a
    starved machine the first click may miss it, and a person would click again."""
    for _ in range(2):
        before = len(bot.fake.calls("views.open"))
        assert send().status == 200
        calls = wait_for(partial(calls_since, bot.fake, "views.open", before), 60, "views.open")
        if calls[0].ok:
            return bot.fake.views[-1]
        assert calls[0].response.get("error") == "expired_trigger_id", calls[0].response
    raise AssertionError("views.open missed the trigger id's 3 seconds twice")


def newest_job(bot: BotUnderTest, kind: str, after: set[str], channel: str | None = None) -> Any:
    def find() -> Any:
        jobs = bot.bot.backend.jobs.list_for_channel(channel or bot.fake.channel, limit=50)
        return next((j for j in jobs if j.kind == kind and j.job_id not in after), None)

    return wait_for(find, 60, f"a new {kind} job")


def job_ids(bot: BotUnderTest) -> set[str]:
    return {j.job_id for j in bot.jobs()}


def predictions_in(bot: BotUnderTest, thread_ts: str, file_name: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for message in thread(bot, thread_ts):
            for file in message.get("files") or []:
                if (
                    file["name"].startswith("predictions-")
                    and file_name in " ".join(shown(message)) + file["name"]
                ):
                    return file
        return None

    return wait_for(find, 90, f"the predictions of {file_name}")


def everything_shown(bot: BotUnderTest) -> str:
    words = [t for m in bot.fake.messages(bot.fake.channel) for t in shown(m)]
    words += [t for e in bot.fake.ephemerals for t in shown(e)]
    words += [t for v in bot.fake.views for t in texts(v.get("blocks") or [])]
    return "\n".join(words)


# ---- the Predict button, the shortcut, /automl models, the Home tab -----------------------------


def test_predict_button_shortcut_models_and_home(bot: BotUnderTest) -> None:
    model_job, training_file = train(bot)
    thread_ts = training_file["message_ts"]
    results = results_message(bot, thread_ts, model_job)
    _, button = element(results["blocks"], PREDICT_BUTTON_ACTION)
    assert button["value"] == model_job
    element(results["blocks"], RETRAIN_BUTTON_ACTION)

    # The button opens a form with one file input for tables.
    channel = bot.fake.channel
    form = open_view(bot, lambda: bot.post(bot.requests.block_action(channel, results, button)))
    assert form["callback_id"] == PREDICT_FILE_MODAL
    file_input = next(b for b in form["blocks"] if b.get("block_id") == FILE_BLOCK)["element"]
    assert file_input["type"] == "file_input" and file_input["max_files"] == 1
    assert "csv" in file_input["filetypes"] and "parquet" in file_input["filetypes"]

    # A file that is not a table is refused next to the input; nothing starts.
    notes = bot.fake.upload_through_form("notes.txt", b"just words\n")
    before = job_ids(bot)
    refused = bot.post(
        bot.requests.view_submission(
            form, {FILE_BLOCK: {FILE_ACTION: bot.fake.file_input_state(notes)}}
        )
    )
    assert refused.status == 200 and '"response_action":"errors"' in refused.text.replace(" ", "")
    assert "not a table file" in refused.text

    # A table attached to the form: a prediction job with this model, answered in its thread.
    upload = bot.fake.upload_through_form("new-customers.csv", NEW_CUSTOMERS)
    answer = bot.post(
        bot.requests.view_submission(
            form, {FILE_BLOCK: {FILE_ACTION: bot.fake.file_input_state(upload)}}
        )
    )
    assert answer.status == 200
    job = newest_job(bot, "predict", before)
    assert job.model_job_id == model_job and job.file_id == upload["id"]
    assert job.thread_ts == thread_ts
    assert bot.wait_for_job_end(job.job_id).status == "succeeded"
    predictions_in(bot, thread_ts, "new-customers")
    assert bot.fake.files[upload["id"]]["channels"] == []  # the bot never shared it anywhere

    # The shortcut on another file's message lists the channel's models; submitting scores it.
    shared = bot.fake.add_file("more.csv", NEW_CUSTOMERS, channel=channel)
    message = bot.fake.message(channel, shared["message_ts"])
    picker = open_view(
        bot,
        lambda: bot.post(
            bot.requests.message_shortcut(channel, message, PREDICT_SHORTCUT_CALLBACK_ID)
        ),
    )
    assert picker["callback_id"] == PICK_MODEL_MODAL
    menu = next(b for b in picker["blocks"] if b.get("block_id") == MODEL_BLOCK)["element"]
    option = menu["options"][0]
    assert option["value"] == model_job and "churned" in option["text"]["text"]
    before = job_ids(bot)
    bot.post(
        bot.requests.view_submission(
            picker,
            {MODEL_BLOCK: {MODEL_ACTION: {"type": "static_select", "selected_option": option}}},
        )
    )
    second = newest_job(bot, "predict", before)
    assert second.model_job_id == model_job and second.file_id == shared["id"]
    assert bot.wait_for_job_end(second.job_id).status == "succeeded"
    predictions_in(bot, shared["message_ts"], "more")

    # `/automl models`: the model, its target, score and age, privately.
    bot.post(bot.requests.command(channel, "models"))
    listed = wait_for(
        lambda: [e for e in bot.ephemerals() if "Models you can use here" in str(e)],
        30,
        "the list of models",
    )
    text = " ".join(shown(listed[-1]))
    assert f"`{model_job}` predicts *churned* · ROC AUC 0." in text
    assert "· churn.csv · just now" in text  # the file, and the age
    assert second.job_id not in text  # a prediction is not a model

    # The Home tab: recent jobs with their thread links, the model with a Predict button.
    bot.post(bot.requests.event({"type": "app_home_opened", "user": HUMAN, "tab": "home"}))
    home = wait_for(lambda: bot.fake.home_views.get(HUMAN), 30, "the Home tab")
    words = "\n".join(texts(home["blocks"]))
    assert model_job in words and second.job_id in words and "<!date^" in words
    assert f"https://fake.slack.com/archives/{channel}/p{thread_ts.replace('.', '')}" in words
    assert "/automl models" in words  # the help
    _, home_button = element(home["blocks"], PREDICT_BUTTON_ACTION)
    assert home_button["value"] == model_job
    from_home = open_view(bot, lambda: bot.post(bot.requests.home_action(home, home_button)))
    assert from_home["callback_id"] == PREDICT_FILE_MODAL

    shown_words = everything_shown(bot)
    assert not any(bad in shown_words for bad in NEVER_SHOWN)


def test_models_of_another_channel_are_refused(bot: BotUnderTest) -> None:
    model_job, training_file = train(bot)
    results = results_message(bot, training_file["message_ts"], model_job)
    _, button = element(results["blocks"], PREDICT_BUTTON_ACTION)

    # Someone in another channel: no model listed, the shortcut has none to offer.
    other = bot.fake.add_channel("C0OTHER")
    bot.post(bot.requests.command(other, "models", user="U0OTHER"))
    wait_for(
        lambda: [e for e in bot.ephemerals("U0OTHER") if "no trained model yet" in str(e)],
        30,
        "the empty list",
    )
    shared = bot.fake.add_file("new.csv", NEW_CUSTOMERS, channel=other, user="U0OTHER")
    message = bot.fake.message(other, shared["message_ts"])
    bot.post(
        bot.requests.message_shortcut(other, message, PREDICT_SHORTCUT_CALLBACK_ID, user="U0OTHER")
    )
    wait_for(
        lambda: [e for e in bot.ephemerals("U0OTHER") if "no model you can use" in str(e)],
        30,
        "the shortcut's refusal",
    )

    # A Predict button replayed from another channel by someone else: told there is no job.
    elsewhere = {**results, "ts": bot.fake.post_user_message(other, "x", user="U0OTHER")}
    notice = open_view(
        bot,
        lambda: bot.post(bot.requests.block_action(other, elsewhere, button, user="U0OTHER")),
    )
    assert f"There is no job `{model_job}`" in " ".join(texts(notice["blocks"]))

    # The Home tab of someone who never trained here offers no model of this channel.
    bot.post(bot.requests.event({"type": "app_home_opened", "user": "U0OTHER", "tab": "home"}))
    home = wait_for(lambda: bot.fake.home_views.get("U0OTHER"), 30, "the Home tab")
    assert model_job not in "\n".join(texts(home["blocks"]))
    assert not [j for j in bot.bot.backend.jobs.list_for_channel(other) if j.kind == "predict"]


# ---- retraining ---------------------------------------------------------------------------------


def test_retrain_in_the_thread_compares_with_the_previous_model(bot: BotUnderTest) -> None:
    model_job, training_file = train(bot)
    thread_ts = training_file["message_ts"]
    results_message(bot, thread_ts, model_job)

    # A new month of labelled rows shared in the results thread, then `@AutoML retrain`.
    lines = CHURN.decode().splitlines()
    newer = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    workspace = bot.fake.workspace
    with workspace.lock:
        obj = workspace.store_file(
            workspace.new_id("F"), "march.csv", "march.csv", newer.encode(), HUMAN
        )
        reply = workspace.append_message(
            bot.fake.channel, {"user": HUMAN, "text": "", "files": [obj]}, thread_ts
        )
        workspace.record_share(obj, bot.fake.channel, reply["ts"], thread_ts)
    before = job_ids(bot)
    bot.post(
        bot.requests.mention(
            bot.fake.channel,
            f"<@{bot.fake.bot_user_id}> retrain",
            ts=bot.fake.post_user_message(bot.fake.channel, "retrain", thread_ts=thread_ts),
            thread_ts=thread_ts,
        )
    )
    retrained = newest_job(bot, "train", before)
    assert retrained.file_name == "march.csv" and retrained.target == "churned"
    assert retrained.thread_ts == thread_ts
    assert bot.wait_for_job_end(retrained.job_id).status == "succeeded"

    result = bot.bot.backend.artifacts.load_result(retrained.job_id)
    assert result is not None and result.comparison is not None
    assert result.comparison.previous_job_id == model_job
    assert result.comparison.previous_score is not None and result.comparison.note is None
    assert result.comparison.rows == result.holdout_rows

    words = "\n".join(shown(results_message(bot, thread_ts, retrained.job_id)))
    assert f"previous model `{model_job}`" in words and "on the same" in words
    assert f"`predict` now uses this model (`{retrained.job_id}`) by default" in words

    # The Retrain button on those results: a form with a file input, then the same again.
    newest = results_message(bot, thread_ts, retrained.job_id)
    _, button = element(newest["blocks"], RETRAIN_BUTTON_ACTION)
    form = open_view(
        bot, lambda: bot.post(bot.requests.block_action(bot.fake.channel, newest, button))
    )
    assert form["callback_id"] == RETRAIN_FILE_MODAL
    upload = bot.fake.upload_through_form("april.csv", CHURN)
    before = job_ids(bot)
    values = {FILE_BLOCK: {FILE_ACTION: bot.fake.file_input_state(upload)}}
    bot.post(bot.requests.view_submission(form, values))
    bot.post(bot.requests.view_submission(form, values))  # Slack's retry: still one job
    third = newest_job(bot, "train", before)
    assert third.file_id == upload["id"] and third.thread_ts == thread_ts
    assert bot.wait_for_job_end(third.job_id).status == "succeeded"
    assert len(job_ids(bot) - before) == 1
    compared = bot.bot.backend.artifacts.load_result(third.job_id)
    assert compared is not None and compared.comparison is not None
    assert compared.comparison.previous_job_id == retrained.job_id
    assert not any(bad in everything_shown(bot) for bad in NEVER_SHOWN)
