"""Listeners as plain functions: no Slack, no Bolt dispatch, a recording job service.

The end-to-end tests drive the same functions through Bolt and HTTP; these pin down what
each listener makes of a payload, and that a person always gets words, never a traceback.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.command_parser import TrainCommand
from bot.errors import LimitReached
from bot.listeners import actions, commands, events, shortcuts
from bot.listeners.replies import answer_safely
from bot.listeners.typed_commands import bot_user_id
from bot.messages.answers import SORRY
from bot.preview_blocks import (
    PREVIEW_ACTIONS_BLOCK,
    TARGET_SELECT_ACTION,
    TRAIN_BUTTON_ACTION,
    train_button_value,
)
from bot.service import TrainRequest, TrainStarted
from tests.bot.blocks import section_texts
from tests.builders import make_job


class Recorder:
    """Stands in for Bolt's ack/respond: remembers every call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            kwargs["text"] = args[0]
        self.calls.append(kwargs)

    @property
    def only(self) -> dict[str, Any]:
        """The one call made: what the person was shown."""
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


class Jobs:
    def claim(self, key: str) -> bool:
        return True


class Backend:
    jobs = Jobs()


class RecordingService:
    """The JobService surface the listeners use, recording what they ask for."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.requests: list[TrainRequest] = []
        self.fail_with = fail_with
        self.backend = Backend()
        self.previews: list[dict[str, Any]] = []

        class Settings:
            default_time_budget_s = 60
            preview = "auto"

        self.settings = Settings()

    def train(self, request: TrainRequest) -> TrainStarted:
        if self.fail_with:
            raise self.fail_with
        self.requests.append(request)
        job = make_job(
            job_id="abcd1234",
            user_id=request.user_id,
            channel_id=request.channel_id,
            thread_ts="1.0",
            target=request.command.target,
        )
        return TrainStarted(job, created=True)

    def check_allowed(self, user_id: str, channel_id: str) -> None:
        return None

    def status(self, user_id: str, channel_id: str, job_id: str | None) -> str:
        return f"status of {job_id}"

    def list_jobs(self, channel_id: str) -> str:
        return "the list"

    def cancel(self, user_id: str, job_id: str) -> str:
        return f"cancelled {job_id}"

    def preview_file(self, **kwargs: Any) -> None:
        self.previews.append(kwargs)


def command_payload(text: str) -> dict[str, Any]:
    return {"text": text, "user_id": "U1", "channel_id": "C1", "trigger_id": "t-1"}


# ---- /automl ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", None),  # empty text is a request for help
        ("help", None),
        ("trian target=x", "Did you mean train?"),
        ("train", "Name it with target=COLUMN"),  # train without a target says what is missing
    ],
)
def test_the_ack_answers_help_and_mistakes_privately(text: str, problem: str | None) -> None:
    acknowledge, _ = commands.make_listeners(RecordingService())  # type: ignore[arg-type]
    ack = Recorder()
    acknowledge(ack, command_payload(text))
    answer = ack.only
    assert answer["response_type"] == "ephemeral"
    sections = section_texts(answer["blocks"])
    if problem is None:  # the usage alone
        assert len(sections) == 1
    else:  # what was wrong first, then the usage
        assert len(sections) == 2
        assert sections[0].startswith(":warning:") and problem in sections[0]
    assert sections[-1].startswith("*`/automl train target=COLUMN`*")


def test_train_is_acknowledged_at_once_and_started_in_the_slow_half() -> None:
    service = RecordingService()
    acknowledge, work = commands.make_listeners(service)  # type: ignore[arg-type]
    ack, respond = Recorder(), Recorder()
    acknowledge(ack, command_payload("train target=churned time=2m exclude=id"))
    assert service.requests == []  # nothing slow happens inside the 3 seconds
    work(command_payload("train target=churned time=2m exclude=id"), respond)
    (request,) = service.requests
    assert request.command == TrainCommand(target="churned", time_budget_s=120, exclude=("id",))
    assert request.dedupe_key == "command:t-1"
    assert "abcd1234" in respond.only["text"]
    assert respond.only["response_type"] == "ephemeral"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("status", "status of None"), ("status 1a2b3c4d", "1a2b3c4d"), ("list", "the list")],
)
def test_status_list_cancel_answer_through_the_response_url(text: str, expected: str) -> None:
    _, work = commands.make_listeners(RecordingService())  # type: ignore[arg-type]
    respond = Recorder()
    work(command_payload(text), respond)
    assert expected in respond.only["text"]
    assert respond.only["response_type"] == "ephemeral"


def test_a_problem_is_told_in_words_and_a_bug_is_apologised_for() -> None:
    limit = LimitReached("You already have 1 job running.", "Wait for it to finish.")
    _, work = commands.make_listeners(RecordingService(fail_with=limit))  # type: ignore[arg-type]
    respond = Recorder()
    work(command_payload("train target=y"), respond)
    assert respond.only["text"] == (
        ":warning: You already have 1 job running.\n*What to do:* Wait for it to finish."
    )

    _, work = commands.make_listeners(RecordingService(fail_with=KeyError("boom")))  # type: ignore[arg-type]
    respond = Recorder()
    work(command_payload("train target=y"), respond)
    assert respond.only["text"] == SORRY  # nothing of the bug: no KeyError, no "boom"


def test_a_reply_that_cannot_be_sent_is_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    tried: list[str] = []

    def broken(text: str) -> None:
        tried.append(text)
        raise ConnectionError("slack is down")

    answer_safely(broken, lambda: "hello")  # logged, not raised
    assert tried == ["hello"]
    assert "could not send a reply to Slack" in caplog.text


# ---- the Train button --------------------------------------------------------------------------


def click(target_chosen: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if target_chosen:
        state = {
            PREVIEW_ACTIONS_BLOCK: {
                TARGET_SELECT_ACTION: {
                    "type": "static_select",
                    "selected_option": {"value": target_chosen},
                }
            }
        }
    return {
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "container": {"message_ts": "5.0", "channel_id": "C1"},
        "state": {"values": state},
        "actions": [
            {
                "action_id": TRAIN_BUTTON_ACTION,
                "value": train_button_value("F1", "churned"),
                "action_ts": "6.0",
            }
        ],
    }


def test_train_button_uses_the_menu_choice_over_the_suggestion() -> None:
    service = RecordingService()
    on_train = actions.make_train_button_listener(service)  # type: ignore[arg-type]
    on_train(click("plan"), Recorder())
    on_train(click(None), Recorder())
    assert [r.command.target for r in service.requests] == ["plan", "churned"]
    assert all(r.file_id == "F1" for r in service.requests)
    assert service.requests[0].dedupe_key == "action:5.0:6.0"


# ---- the shortcut's form -----------------------------------------------------------------------


def test_form_fields_are_checked_before_anything_starts() -> None:
    command, errors = shortcuts._command_from_form({"target": "", "time": "forever"})
    assert command is None and set(errors) == {"target", "time"}
    command, errors = shortcuts._command_from_form(
        {"target": "churned", "time": "90s", "exclude": "id, email", "task": ""}
    )
    assert errors == {}
    assert command == TrainCommand(
        target="churned", time_budget_s=90, exclude=("id", "email"), task="auto"
    )


def test_form_keep_reaches_the_command() -> None:
    command, errors = shortcuts._command_from_form(
        {"target": "churned", "exclude": "notes", "keep": "customer_id, refund amount,"}
    )
    assert errors == {}
    assert command == TrainCommand(
        target="churned", exclude=("notes",), keep=("customer_id", "refund amount")
    )


def test_form_refuses_a_column_kept_and_excluded() -> None:
    command, errors = shortcuts._command_from_form(
        {"target": "churned", "exclude": "id, notes", "keep": "id"}
    )
    assert command is None
    assert list(errors) == ["keep"]
    assert "“id” is in both keep and exclude" in errors["keep"]
    _, errors = shortcuts._command_from_form({"target": "churned", "keep": "churned"})
    assert "is the target" in errors["keep"]


class _EphemeralClient:
    """Where the form's answer goes: a private message, not looked at here."""

    def chat_postEphemeral(self, **kwargs: Any) -> None:
        pass


def test_form_submission_shows_the_keep_error_under_its_input() -> None:
    service = RecordingService()
    acknowledge, work = shortcuts.make_form_listeners(service)  # type: ignore[arg-type]
    values = {
        "target": {"target": {"type": "plain_text_input", "value": "churned"}},
        "exclude": {"exclude": {"type": "plain_text_input", "value": "id"}},
        "keep": {"keep": {"type": "plain_text_input", "value": "id"}},
    }
    ack = Recorder()
    acknowledge(ack, {"state": {"values": values}})
    assert ack.calls[0]["response_action"] == "errors"
    assert set(ack.calls[0]["errors"]) == {"keep"}

    values["exclude"]["exclude"]["value"] = "notes"
    ack = Recorder()
    acknowledge(ack, {"state": {"values": values}})
    assert ack.calls == [{}]
    view = {
        "id": "V1",
        "state": {"values": values},
        "private_metadata": json.dumps({"channel_id": "C1", "message_ts": "1.0", "file_id": "F1"}),
    }
    work({"user": {"id": "U1"}}, view, _EphemeralClient())
    (request,) = service.requests
    assert request.command.keep == ("id",) and request.command.exclude == ("notes",)
    assert request.file_id == "F1" and request.dedupe_key == "view:V1"


# ---- events ------------------------------------------------------------------------------------


def test_only_a_person_sharing_a_table_gets_a_preview() -> None:
    service = RecordingService()
    on_message = events.make_message_listener(service)  # type: ignore[arg-type]
    table = {"id": "F1", "name": "a.csv", "filetype": "csv"}
    picture = {"id": "F2", "name": "cat.png", "filetype": "png"}
    base = {"type": "message", "channel": "C1", "user": "U1", "ts": "1.0"}
    on_message({}, {**base, "text": "hello"}, None)  # type: ignore[arg-type]
    on_message({}, {**base, "subtype": "file_share", "files": [picture]}, None)  # type: ignore[arg-type]
    on_message({}, {**base, "subtype": "file_share", "files": [table], "bot_id": "B1"}, None)  # type: ignore[arg-type]
    assert service.previews == []
    on_message({}, {**base, "subtype": "file_share", "files": [picture, table]}, None)  # type: ignore[arg-type]
    assert [p["file_id"] for p in service.previews] == ["F1"]
    assert service.previews[0]["message_ts"] == "1.0"


def test_the_bot_knows_its_own_mention_from_the_event() -> None:
    body = {"authorizations": [{"user_id": "U0BOT", "is_bot": True}]}
    assert bot_user_id(body) == "U0BOT"
    assert bot_user_id({}) is None
