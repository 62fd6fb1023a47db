"""More of the bot end to end: the other ways to ask, the other commands, and the limits.

As in `test_end_to_end`, each test talks to the real bot through its real FastAPI app on a
real port with requests signed the way Slack signs them, Slack is the stand-in, and training
is real (with small budgets). Every test ends by checking that nothing a person was shown
holds a traceback or the bot's generic apology for a bug.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.messages.answers import SORRY
from bot.preview_blocks import SHORTCUT_CALLBACK_ID, TRAIN_MODAL_CALLBACK_ID
from tests.bot.blocks import (
    context_texts,
    header_text,
    of_type,
    says,
    section_texts,
    section_with,
    shown,
    texts,
)
from tests.bot.harness import BotUnderTest, Response, wait_for
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import DEFAULT_SCOPES, Call, FakeSlack, fake_slack

__all__ = ["fake_slack"]

# The whole bot, its warm worker and its preview processes load the training stack.
pytestmark = pytest.mark.slow

CHURN = SAMPLE_CHURN.read_bytes()
HUMAN = "U0HUMAN"
OTHER = "U0OTHER"
FAILED_OUTCOME = ":x: *Training on churn.csv failed.*"
NEVER_SHOWN = ("Traceback", SORRY[:40], 'File "/')


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def start_bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Callable[..., BotUnderTest]]:
    """Start the bot with setting overrides (AUTOML_...=value); stopped after the test."""
    started: list[BotUnderTest] = []

    def start(fake: FakeSlack = fake_slack, **overrides: Any) -> BotUnderTest:
        under_test = BotUnderTest(fake, tmp_path / f"data{len(started)}", **overrides)
        started.append(under_test)
        return under_test

    yield start
    for under_test in started:
        under_test.close()
        terminate = getattr(under_test.bot.backend.launcher, "terminate_all", None)
        if terminate:
            terminate()


@pytest.fixture
def bot(start_bot: Callable[..., BotUnderTest]) -> BotUnderTest:
    return start_bot()


# ---- helpers ------------------------------------------------------------------------------------


def share(
    bot: BotUnderTest,
    name: str = "churn.csv",
    content: bytes = CHURN,
    *,
    channel: str | None = None,
    user: str = HUMAN,
) -> dict[str, Any]:
    """A person shares a file in a channel; Slack tells the bot. Returns the file."""
    where = channel or bot.fake.channel
    file = bot.fake.add_file(name, content, channel=where, user=user)
    file["channel"] = where
    message = bot.fake.message(where, file["message_ts"])
    assert bot.post(bot.requests.file_shared(where, message)).status == 200
    return file


def replies(bot: BotUnderTest, file: dict[str, Any]) -> list[dict[str, Any]]:
    return bot.fake.thread(file["channel"], file["message_ts"])[1:]


def wait_preview(bot: BotUnderTest, file: dict[str, Any]) -> dict[str, Any]:
    return wait_for(lambda: replies(bot, file), 120, "the preview")[0]


def private(bot: BotUnderTest, user: str = HUMAN, containing: str = "") -> list[dict[str, Any]]:
    """Ephemeral messages to `user` (response_url replies included) that contain `containing`."""
    return [e for e in bot.ephemerals(user) if any(containing in text for text in shown(e))]


def wait_private(
    bot: BotUnderTest, containing: str, user: str = HUMAN, timeout_s: float = 60
) -> dict[str, Any]:
    found = wait_for(
        lambda: private(bot, user, containing), timeout_s, f"a private answer with {containing!r}"
    )
    return found[-1]


def command(bot: BotUnderTest, text: str, *, user: str = HUMAN, channel: str | None = None) -> Any:
    answer = bot.post(bot.requests.command(channel or bot.fake.channel, text, user=user))
    assert answer.status == 200, answer.text
    return answer


def ask(
    bot: BotUnderTest, text: str, *, user: str = HUMAN, channel: str | None = None
) -> dict[str, Any]:
    """`/automl <text>`, and the private answer it gets after its acknowledgement."""
    before = len(bot.ephemerals(user))
    command(bot, text, user=user, channel=channel)
    return wait_for(lambda: bot.ephemerals(user)[before:], 60, f"an answer to {text!r}")[0]


def jobs_of(bot: BotUnderTest, channel: str | None = None) -> list[Any]:
    return bot.bot.backend.jobs.list_for_channel(channel or bot.fake.channel, limit=100)


def wait_job(bot: BotUnderTest, count: int = 1, user: str | None = None) -> Any:
    """The newest job (of `user`), once at least `count` jobs are recorded."""

    def found() -> Any:
        jobs = [j for j in jobs_of(bot) if user is None or j.user_id == user]
        return jobs[0] if len(jobs) >= count else None

    return wait_for(found, 60, "a job to be recorded")


def is_results(message: dict[str, Any]) -> bool:
    blocks = message.get("blocks") or []
    return header_text(blocks).startswith("Results") and len(of_type(blocks, "table")) == 1


def results_in(bot: BotUnderTest, file: dict[str, Any]) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((reply for reply in replies(bot, file) if is_results(reply)), None)

    found = wait_for(find, 60, "the results message in the file's thread")
    assert found is not None
    return found


def status_message(bot: BotUnderTest, job: Any) -> dict[str, Any]:
    ts = wait_for(lambda: bot.job(job.job_id).status_ts, 60, "the status message")
    return bot.fake.message(job.channel_id, ts)


def everything_seen(fake: FakeSlack, *answers: Response) -> str:
    """Every message, private answer, form and acknowledgement a person could have seen."""
    seen = [text for channel in fake.channels for m in fake.messages(channel) for text in shown(m)]
    seen += [text for e in fake.ephemerals for text in shown(e)]
    seen += [
        text for view in fake.views for text in [view["title"]["text"], *texts(view["blocks"])]
    ]
    seen += [answer.text for answer in answers]
    return "\n".join(seen)


def assert_nothing_broken_shown(fake: FakeSlack, *answers: Response) -> None:
    seen = everything_seen(fake, *answers)
    for bad in NEVER_SHOWN:
        assert bad not in seen, f"a person was shown {bad!r}"


def modal_values(target: str = "", time: str = "", task: str = "auto") -> dict[str, Any]:
    """`view.state.values` as Slack sends them for the "Train a model" form."""
    values: dict[str, Any] = {
        "target": {"target": {"type": "plain_text_input", "value": target or None}},
        "time": {"time": {"type": "plain_text_input", "value": time or None}},
        "task": {
            "task": {"type": "static_select", "selected_option": {"value": task}},
        },
        "metric": {"metric": {"type": "plain_text_input", "value": None}},
        "exclude": {"exclude": {"type": "plain_text_input", "value": None}},
    }
    return values


def calls_since(fake: FakeSlack, method: str, count: int) -> list[Call]:
    return fake.calls(method)[count:]


def open_form(bot: BotUnderTest, message: dict[str, Any]) -> dict[str, Any]:
    """Use "Train a model" on `message`; the form views.open showed.

    Slack's trigger id lasts 3 s: on a starved machine the first try may miss it, and a
    person would simply click again, so a second click is allowed.
    """
    channel = bot.fake.channel
    for _ in range(2):
        before = len(bot.fake.calls("views.open"))
        request = bot.requests.message_shortcut(channel, message, SHORTCUT_CALLBACK_ID)
        assert bot.post(request).status == 200
        calls = wait_for(partial(calls_since, bot.fake, "views.open", before), 60, "views.open")
        if calls[0].ok:
            return bot.fake.views[-1]
        assert calls[0].response.get("error") == "expired_trigger_id", calls[0].response
    raise AssertionError("views.open missed the trigger id's 3 seconds twice")


# ---- the message shortcut and its form ----------------------------------------------------------


def test_message_shortcut_opens_the_form_and_submitting_it_trains(bot: BotUnderTest) -> None:
    file = share(bot)
    wait_preview(bot, file)
    channel = bot.fake.channel

    # On a message without a table, the shortcut says so privately and opens nothing.
    chat_ts = bot.fake.post_user_message(channel, "the numbers are in the file above")
    chat = bot.fake.message(channel, chat_ts)
    answer = bot.post(bot.requests.message_shortcut(channel, chat, SHORTCUT_CALLBACK_ID))
    assert answer.status == 200
    wait_private(bot, "has no CSV")
    assert bot.fake.views == []

    # On the file's message it opens the form (Bolt may answer before views.open is sent).
    view = open_form(bot, bot.fake.message(channel, file["message_ts"]))
    assert view["callback_id"] == TRAIN_MODAL_CALLBACK_ID
    assert view["title"]["text"] == "Train a model"
    assert section_texts(view["blocks"])[0] == "Train a model on *churn.csv*."
    metadata = json.loads(view["private_metadata"])
    assert metadata == {
        "channel_id": channel,
        "message_ts": file["message_ts"],
        "file_id": file["id"],
    }
    assert {b.get("block_id") for b in view["blocks"]} >= {"target", "time", "task"}

    # Submitting it wrong: Slack shows errors next to the fields; the form stays open.
    refused = []
    for values, fields in (
        (modal_values(target="", time="soon"), {"target", "time"}),
        (modal_values(target="   ", time=""), {"target"}),
        (modal_values(target="churned", time="2s"), {"time"}),
        (modal_values(target="churned", time="99h"), {"time"}),
    ):
        response = bot.post(bot.requests.view_submission(view, values))
        assert response.status == 200
        body = json.loads(response.body)
        assert body["response_action"] == "errors"
        assert set(body["errors"]) == fields, body
        assert all(text.strip() for text in body["errors"].values())
        refused.append(response)
    assert jobs_of(bot) == []

    # Submitting it right closes the form and starts a job in the file's thread.
    values = modal_values(target="churned", time="6s")
    response = bot.post(bot.requests.view_submission(view, values))
    assert response.status == 200
    assert not response.body.strip() or "errors" not in json.loads(response.body)
    job = wait_job(bot)
    assert (job.target, job.time_budget_s) == ("churned", 6)
    assert job.file_id == file["id"]
    assert job.thread_ts == file["message_ts"]
    bot.post(bot.requests.view_submission(view, values))  # Slack's retry, or a double click
    started = wait_private(bot, "Started job")
    assert job.job_id in started["text"]
    assert started["thread_ts"] == file["message_ts"]

    job = bot.wait_for_job_end(job.job_id)
    assert job.status == "succeeded"
    results = results_in(bot, file)
    assert [t for t in context_texts(results["blocks"]) if t.startswith(f"Job `{job.job_id}`")]
    assert len(jobs_of(bot)) == 1, "one form, one job"
    assert says(status_message(bot, job), ":white_check_mark: Training on *churn.csv*: *succeeded*")
    assert_nothing_broken_shown(bot.fake, *refused)


# ---- a mention in the file's thread, then the other commands ------------------------------------


def test_mention_in_thread_trains_there_then_status_list_help(bot: BotUnderTest) -> None:
    file = share(bot)
    preview = wait_preview(bot, file)
    channel = bot.fake.channel
    # A second file shared later: the mention must still use its own thread's file.
    later = share(bot, "later.csv", b"a,b\n1,2\n3,4\n")
    wait_preview(bot, later)

    text = "<@U0BOT> train target=churned time=6s"
    ts = bot.fake.post_user_message(channel, text, thread_ts=file["message_ts"])
    answer = bot.post(bot.requests.mention(channel, text, ts=ts, thread_ts=file["message_ts"]))
    assert answer.status == 200
    job = wait_job(bot)
    assert job.file_id == file["id"] and job.file_name == "churn.csv"
    assert job.thread_ts == file["message_ts"]
    started = wait_private(bot, "Started job")
    assert started["thread_ts"] == file["message_ts"], "answered inside the thread"

    job = bot.wait_for_job_end(job.job_id)
    assert job.status == "succeeded"
    results = results_in(bot, file)
    assert results["ts"] != preview["ts"]
    assert not [m for m in replies(bot, later) if [t for t in shown(m) if job.job_id in t]]

    # /automl status: the person's jobs.
    mine = ask(bot, "status")
    assert "Your latest jobs" in mine["text"]
    assert job.job_id in mine["text"] and "succeeded" in mine["text"]

    # /automl status JOB: the job, with fresh links that work.
    fresh = ask(bot, f"status {job.job_id}")
    assert "Fresh links" in fresh["text"]
    assert job.job_id in fresh["text"]
    links = {label: url for url, label in re.findall(r"<(http[^|>]+)\|(\w+)>", fresh["text"])}
    assert "model" in links, fresh["text"]
    download = bot.get(links["model"])
    assert download.status == 200
    assert download.body == (bot.data_dir / "runs" / job.job_id / "model.joblib").read_bytes()
    result = bot.bot.backend.artifacts.load_result(job.job_id)
    assert result is not None
    assert ("report" in links) == bool(result.artifacts.report)

    # Someone else asking about it sees it too; an unknown job is said to be unknown.
    theirs = ask(bot, f"status {job.job_id}", user=OTHER)["text"]
    assert job.job_id in theirs and "succeeded" in theirs
    assert "There is no job `nosuchjob1`" in ask(bot, "status nosuchjob1")["text"]
    assert "You have no jobs yet" in ask(bot, "status", user=OTHER)["text"]

    # /automl list: the channel's jobs.
    listed = ask(bot, "list")
    assert "Jobs in this channel" in listed["text"]
    assert job.job_id in listed["text"] and "churn.csv" in listed["text"]
    assert "No jobs in this channel yet" in ask(bot, "list", channel="C0RANDOM")["text"]

    # /automl help, and help after a mention in the thread: the usage, privately.
    help_answer = command(bot, "help")
    usage = json.loads(help_answer.body)
    assert usage["response_type"] == "ephemeral"
    assert section_texts(usage["blocks"])[0].startswith("*`/automl train target=COLUMN`*")
    bare = command(bot, "")
    assert "/automl train target=COLUMN" in bare.text
    ts = bot.fake.post_user_message(channel, "<@U0BOT> help", thread_ts=file["message_ts"])
    bot.post(bot.requests.mention(channel, "<@U0BOT> help", ts=ts, thread_ts=file["message_ts"]))
    in_thread = wait_private(bot, "Slash commands do not work inside threads")
    assert in_thread["thread_ts"] == file["message_ts"]

    # status through a mention in the thread answers there, privately.
    words = f"<@U0BOT> status {job.job_id}"
    ts = bot.fake.post_user_message(channel, words, thread_ts=file["message_ts"])
    bot.post(bot.requests.mention(channel, words, ts=ts, thread_ts=file["message_ts"]))
    wait_for(
        lambda: [
            e
            for e in private(bot, containing="Fresh links")
            if e.get("thread_ts") == file["message_ts"]
        ],
        60,
        "status answered in the thread",
    )
    assert len(jobs_of(bot)) == 1
    assert_nothing_broken_shown(bot.fake, help_answer, bare)


# ---- cancel -------------------------------------------------------------------------------------


def test_cancelling_someone_elses_job_is_refused(bot: BotUnderTest) -> None:
    file = share(bot)
    wait_preview(bot, file)
    command(bot, "train target=churned time=2m")
    job = wait_job(bot)

    refusal = ask(bot, f"cancel {job.job_id}", user=OTHER)
    assert "only they can cancel it" in refusal["text"]
    assert f"<@{HUMAN}>" in refusal["text"]
    assert bot.job(job.job_id).active
    assert not private(bot, HUMAN, "Cancelled")

    unknown = ask(bot, "cancel nosuchjob1", user=OTHER)
    assert "There is no job `nosuchjob1`" in unknown["text"]

    cancelled = ask(bot, f"cancel {job.job_id}")  # whoever started it may
    assert f"Cancelled job `{job.job_id}`" in cancelled["text"]
    assert bot.wait_for_job_end(job.job_id, 90).status == "cancelled"
    assert "already ended" in ask(bot, f"cancel {job.job_id}")["text"]
    assert_nothing_broken_shown(bot.fake)


# ---- allowlists ---------------------------------------------------------------------------------


def test_a_channel_not_on_the_allowlist_gets_no_preview_and_a_private_refusal(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot(AUTOML_ALLOWED_CHANNELS="C0RANDOM")
    closed = bot.fake.channel
    assert closed != "C0RANDOM"
    file = share(bot, channel=closed)

    train = command(bot, "train target=churned", channel=closed)
    refusal = wait_private(bot, "not enabled in this channel")
    assert "AUTOML_ALLOWED_CHANNELS" in refusal["text"]
    assert "not enabled in this channel" in ask(bot, "list", channel=closed)["text"]
    text = "<@U0BOT> train target=churned"
    ts = bot.fake.post_user_message(closed, text, thread_ts=file["message_ts"])
    bot.post(bot.requests.mention(closed, text, ts=ts, thread_ts=file["message_ts"]))
    in_thread = wait_for(
        lambda: [
            e
            for e in private(bot, containing="not enabled in this channel")
            if e.get("thread_ts") == file["message_ts"]
        ],
        60,
        "the refusal of the mention",
    )
    assert in_thread

    # In the allowed channel the same file gets its preview; by then the first share's event
    # has long been handled, and it left the closed channel alone.
    opened = share(bot, channel="C0RANDOM")
    wait_preview(bot, opened)
    bot_messages = [m for m in bot.fake.messages(closed) if m.get("bot_id")]
    assert bot_messages == []
    assert jobs_of(bot, closed) == []
    looked_up = [c.params.get("file") for c in bot.fake.calls("files.info")]
    assert file["id"] not in looked_up
    downloads = [c.params["path"] for c in bot.fake.calls("download")]
    assert not [p for p in downloads if file["id"] in p]
    assert_nothing_broken_shown(bot.fake, train)


def test_a_person_not_on_the_allowlist_is_refused(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot(AUTOML_ALLOWED_USERS="U0BOSS")
    file = share(bot)  # shared by someone not on the list: no preview
    command(bot, "train target=churned")
    refusal = wait_private(bot, "not on the list of people")
    assert "AUTOML_ALLOWED_USERS" in refusal["text"]
    shared_by_boss = share(bot, "boss.csv", user="U0BOSS")
    wait_preview(bot, shared_by_boss)
    assert replies(bot, file) == []
    assert jobs_of(bot) == []
    assert_nothing_broken_shown(bot.fake)


# ---- one worker, two people ---------------------------------------------------------------------


def test_with_one_worker_the_second_job_waits_its_turn(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot(AUTOML_MAX_CONCURRENT_JOBS=1, AUTOML_MAX_JOBS_PER_USER=1)
    file = share(bot)
    wait_preview(bot, file)

    command(bot, "train target=churned time=15s")
    first = wait_job(bot, user=HUMAN)
    wait_for(lambda: bot.job(first.job_id).status == "running", 60, "the first job to run")

    command(bot, "train target=churned time=6s", user=OTHER)
    second = wait_job(bot, user=OTHER)
    answer = wait_private(bot, "Started job", user=OTHER)
    assert second.job_id in answer["text"]
    assert "number 1 in the queue" in answer["text"], answer["text"]
    assert bot.job(second.job_id).status == "queued"
    waiting = section_texts(status_message(bot, second)["blocks"])[0]
    assert waiting.startswith(":hourglass_flowing_sand: Training on *churn.csv*: *queued*")
    assert "Waiting for a free worker" in waiting
    assert second.thread_ts == file["message_ts"]

    told = ask(bot, f"status {second.job_id}", user=OTHER)["text"]
    assert f"`{second.job_id}` *queued*" in told and "number 1 in the queue" in told

    # Never both at once: whenever the second has left the queue, the first's process has
    # already ended (it writes result.json before it exits). The job store may still say
    # "running" for the first a moment longer, until its end is reported.
    first_result_file = bot.data_dir / "runs" / first.job_id / "result.json"
    too_early: list[str] = []

    def both_ended() -> bool:
        b = bot.job(second.job_id)
        if b.status != "queued" and not first_result_file.exists():
            too_early.append(b.status)
        a = bot.job(first.job_id)
        return a.finished and b.finished

    wait_for(both_ended, 300, "both jobs to end")
    assert too_early == [], "the second job started while the first was still running"
    assert bot.job(first.job_id).status == "succeeded"
    assert bot.job(second.job_id).status == "succeeded"
    artifacts = bot.bot.backend.artifacts
    first_result = artifacts.load_result(first.job_id)
    second_result = artifacts.load_result(second.job_id)
    assert first_result is not None and second_result is not None
    assert first_result.finished_at is not None and second_result.started_at is not None
    assert second_result.started_at >= first_result.finished_at
    wait_for(
        lambda: sum(1 for m in replies(bot, file) if is_results(m)) >= 2,
        60,
        "both results in the thread",
    )
    assert_nothing_broken_shown(bot.fake)


# ---- files the bot cannot take ------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_explained(
    start_bot: Callable[..., BotUnderTest],
) -> None:
    bot = start_bot(AUTOML_MAX_FILE_MB=0.01)  # about 10 KB; churn.csv is about 200 KB
    file = share(bot)
    preview = wait_preview(bot, file)
    assert says(preview, ":warning: *I couldn't preview churn.csv.*")
    assert "the limit is 10 KB" in section_with(preview["blocks"], "*What went wrong:*")
    assert "AUTOML_MAX_FILE_MB" in section_with(preview["blocks"], "*What to do:*")

    command(bot, "train target=churned time=6s")
    job = bot.wait_for_job_end(wait_job(bot).job_id, 60)
    assert job.status == "failed"
    assert job.error_code == "file_too_large"
    (failure,) = wait_for(  # the outcome: not the preview, nor the status message
        lambda: [m for m in replies(bot, file) if says(m, FAILED_OUTCOME)], 60, "the failure"
    )
    assert "the limit is 10 KB" in section_with(failure["blocks"], "*What went wrong:*")
    assert "AUTOML_MAX_FILE_MB" in section_with(failure["blocks"], "*What to do:*")
    assert says(status_message(bot, job), ":x: Training on *churn.csv*: *failed*")
    # Nothing of the file was kept.
    datasets = bot.data_dir / "datasets"
    assert not datasets.exists() or not any(p.is_file() for p in datasets.rglob("*"))
    assert_nothing_broken_shown(bot.fake)


@pytest.fixture
def slack_without_files_read() -> Iterator[FakeSlack]:
    """Slack for a bot installed without the files:read scope."""
    scopes = tuple(scope for scope in DEFAULT_SCOPES if scope != "files:read")
    with FakeSlack(scopes=scopes) as fake:
        yield fake


def test_a_bot_token_without_files_read_is_told_to_the_person(
    slack_without_files_read: FakeSlack, start_bot: Callable[..., BotUnderTest]
) -> None:
    fake = slack_without_files_read
    bot = start_bot(fake)
    file = share(bot)
    preview = wait_preview(bot, file)
    assert says(preview, ":warning: *I couldn't preview ")  # by its id: files.info is refused
    assert "files:read" in section_with(preview["blocks"], "*What went wrong:*")
    assert "reinstall" in section_with(preview["blocks"], "*What to do:*")

    command(bot, "train target=churned time=6s")
    job = bot.wait_for_job_end(wait_job(bot).job_id, 60)
    assert job.status == "failed"
    assert job.error_code == "missing_scope"
    (failure,) = wait_for(  # the outcome: not the preview, nor the status message
        lambda: [m for m in replies(bot, file) if says(m, FAILED_OUTCOME)], 60, "the failure"
    )
    assert "files:read" in section_with(failure["blocks"], "*What went wrong:*")
    assert "reinstall" in section_with(failure["blocks"], "*What to do:*")
    # The bot did fetch with its token: Slack's sign-in page was the answer.
    downloads = fake.calls("download")
    assert downloads and all(c.token == fake.bot_token for c in downloads)
    assert_nothing_broken_shown(fake)
