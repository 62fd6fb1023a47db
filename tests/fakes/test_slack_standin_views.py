"""The stand-in's Home tabs, permalinks and file inputs, driven by the real slack_sdk client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messages.model_forms import FILE_ACTION, file_form
from tests.builders import make_job
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.url)


def _home(text: str) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def test_views_publish_keeps_each_persons_latest_home_tab(
    client: WebClient, fake: FakeSlack
) -> None:
    client.views_publish(user_id="U1", view=_home("first"))
    answer = client.views_publish(user_id="U1", view=_home("second"))
    client.views_publish(user_id="U2", view=_home("other"))
    assert answer["view"]["id"].startswith("V")
    assert fake.home_views["U1"]["blocks"][0]["text"]["text"] == "second"
    assert set(fake.home_views) == {"U1", "U2"}
    with pytest.raises(SlackApiError) as refused:  # a modal is not a Home tab
        client.views_publish(user_id="U1", view={**_home("x"), "type": "modal"})
    assert refused.value.response["error"] == "invalid_arguments"


def test_chat_get_permalink(client: WebClient, fake: FakeSlack) -> None:
    ts = fake.post_user_message(fake.channel, "hello")
    link = client.chat_getPermalink(channel=fake.channel, message_ts=ts)["permalink"]
    assert link == f"https://fake.slack.com/archives/{fake.channel}/p{ts.replace('.', '')}"
    with pytest.raises(SlackApiError) as missing:
        client.chat_getPermalink(channel=fake.channel, message_ts="1.000001")
    assert missing.value.response["error"] == "message_not_found"


def test_file_input_forms_are_checked_as_slack_checks_them(
    client: WebClient, fake: FakeSlack
) -> None:
    form = file_form(
        "predict", make_job(), channel_id=fake.channel, thread_ts="1.0", filetypes=["csv"]
    )
    client.views_open(trigger_id=fake.trigger_id(), view=form)
    no_submit = {key: value for key, value in form.items() if key != "submit"}
    too_many = {**form, "blocks": [dict(b) for b in form["blocks"]]}
    too_many["blocks"][1] = {
        **too_many["blocks"][1],
        "element": {"type": "file_input", "action_id": FILE_ACTION, "max_files": 11},
    }
    for bad in (no_submit, too_many):
        with pytest.raises(SlackApiError):
            client.views_open(trigger_id=fake.trigger_id(), view=bad)

    # A file attached to the form is stored but shared nowhere, and files.info knows it.
    upload = fake.upload_through_form("new.csv", b"a,b\n1,2\n")
    assert client.files_info(file=upload["id"])["file"]["channels"] == []
    state = fake.file_input_state(upload)
    assert state == {"type": "file_input", "files": [upload]}
