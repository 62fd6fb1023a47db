"""The Slack fake, driven by the real slack_sdk WebClient."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.slack_api import LOGIN_PAGE, FakeSlack, retry_waits

__all__ = ["retry_waits"]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.url)


def test_auth_test(client: WebClient, fake: FakeSlack) -> None:
    resp = client.auth_test()
    assert resp["user_id"] == fake.bot_user_id
    assert "files:read" in resp.headers["x-oauth-scopes"]


def test_post_update_and_read_thread(client: WebClient, fake: FakeSlack) -> None:
    parent = fake.post_user_message(fake.channel, "here is my data")
    status = client.chat_postMessage(channel=fake.channel, thread_ts=parent, text="queued")
    client.chat_postMessage(
        channel=fake.channel,
        thread_ts=parent,
        text="done",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*done*"}}],
    )
    client.chat_update(channel=fake.channel, ts=status["ts"], text="running 10s / 60s")

    replies = client.conversations_replies(channel=fake.channel, ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["here is my data", "running 10s / 60s", "done"]
    assert replies[0]["reply_count"] == 2
    assert replies[1]["edited"]["user"] == fake.bot_user_id
    assert replies[2]["blocks"][0]["text"]["text"] == "*done*"
    assert [m["text"] for m in fake.thread(fake.channel, parent)] == [m["text"] for m in replies]
    # Only the parent is at the top of the channel.
    history = client.conversations_history(channel=fake.channel)["messages"]
    assert [m["ts"] for m in history] == [parent]
    assert [c.params["text"] for c in fake.calls("chat.postMessage")] == ["queued", "done"]


def test_chat_update_needs_an_existing_message(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=fake.channel, ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"
    human = fake.post_user_message(fake.channel, "mine")
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=fake.channel, ts=human, text="x")
    assert err.value.response["error"] == "cant_update_message"


def test_unknown_channel_and_missing_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0NOPE", text="hi")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C0GENERAL")
    assert err.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0GENERAL", text="x" * 40_001)
    assert err.value.response["error"] == "msg_too_long"


@pytest.mark.parametrize("token", ["xoxb-wrong", None])
def test_bad_or_missing_token(fake: FakeSlack, token: str | None) -> None:
    client = WebClient(token=token, base_url=fake.url)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=fake.channel, text="hi")
    assert err.value.response["error"] == ("invalid_auth" if token else "not_authed")
    assert fake.messages(fake.channel) == []


def test_block_kit_limits(client: WebClient, fake: FakeSlack) -> None:
    divider = {"type": "divider"}
    client.chat_postMessage(channel=fake.channel, text="ok", blocks=[divider] * 50)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=fake.channel, text="x", blocks=[divider] * 51)
    assert err.value.response["error"] == "invalid_blocks"
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "a" * 3001}}
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=fake.channel, text="x", blocks=[long_section])
    assert err.value.response["error"] == "invalid_blocks"
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=fake.channel, text="x", blocks=[header])
    assert err.value.response["error"] == "invalid_blocks"
    table = {"type": "table", "rows": [[{"type": "raw_text", "text": "a"}]] * 101}
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=fake.channel, text="x", blocks=[table])
    assert err.value.response["error"] == "invalid_blocks"
    assert len(fake.messages(fake.channel)) == 1


def test_files_upload_v2_into_a_thread(client: WebClient, fake: FakeSlack) -> None:
    csv = fake.add_file("churn.csv", b"a,b\n1,2\n", channel=fake.channel)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    resp = client.files_upload_v2(
        channel=fake.channel,
        thread_ts=csv["message_ts"],
        file=png,
        filename="leaderboard.png",
        title="Leaderboard",
        alt_txt="Bar chart of the models' scores",
        initial_comment="Results",
    )
    file_id = resp["file"]["id"]
    assert fake.uploaded(file_id) == png
    assert [c.method for c in fake.calls() if c.method != "download"] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    thread = fake.thread(fake.channel, csv["message_ts"])
    assert thread[-1]["text"] == "Results"
    assert thread[-1]["files"][0]["id"] == file_id
    info = client.files_info(file=file_id)["file"]
    assert info["alt_txt"] == "Bar chart of the models' scores"
    assert info["shares"]["public"][fake.channel][0]["thread_ts"] == csv["message_ts"]


def test_files_upload_v2_shares_asynchronously() -> None:
    with FakeSlack(share_delay_s=0.3) as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)
        client.files_upload_v2(channel=fake.channel, content="x,y\n", filename="a.csv")
        assert fake.messages(fake.channel) == []
        deadline = time.monotonic() + 10
        while not fake.messages(fake.channel) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(fake.messages(fake.channel)) == 1


def _get(url: str, token: str | None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read()


def test_url_private_download_needs_the_bot_token(fake: FakeSlack) -> None:
    f = fake.add_file("data.csv", b"x,y\n1,2\n", channel=fake.channel)
    assert _get(f["url_private_download"], fake.bot_token) == (200, "text/csv", b"x,y\n1,2\n")
    for token in (None, "xoxb-wrong"):
        status, ctype, body = _get(f["url_private_download"], token)
        assert (status, ctype) == (200, "text/html; charset=utf-8")
        assert body.decode() == LOGIN_PAGE
    fake.scopes.discard("files:read")
    assert _get(f["url_private_download"], fake.bot_token)[1].startswith("text/html")


def test_429_is_retried_by_the_rate_limit_handler(
    fake: FakeSlack, retry_waits: list[float]
) -> None:
    client = WebClient(token=fake.bot_token, base_url=fake.url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    fake.rate_limit("chat.postMessage", times=2, retry_after=3)
    resp = client.chat_postMessage(channel=fake.channel, text="hi")
    assert resp["ok"]
    assert [c.status for c in fake.calls("chat.postMessage")] == [429, 429, 200]
    assert [int(wait) for wait in retry_waits] == [3, 3]  # Retry-After, as the fake sent it


def test_429_without_retry_handler_surfaces(fake: FakeSlack) -> None:
    client = WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[])
    fake.rate_limit("chat.update", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=fake.channel, ts="1.0", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["retry-after"] == "7"


def test_ephemeral_views_and_injected_failures(client: WebClient, fake: FakeSlack) -> None:
    client.chat_postEphemeral(channel=fake.channel, user="U0HUMAN", text="usage: ...")
    assert fake.ephemerals[0]["text"] == "usage: ..."
    assert fake.messages(fake.channel) == []
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Train a model"}, "blocks": []}
    client.views_open(trigger_id=fake.trigger_id(), view=view)
    assert fake.views[0]["title"]["text"] == "Train a model"
    fake.fail_next("chat.postMessage", "not_in_channel")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=fake.channel, text="hi")
    assert err.value.response["error"] == "not_in_channel"
    client.chat_postMessage(channel=fake.channel, text="hi")


def test_the_console_shows_a_date_token_as_its_fallback() -> None:
    from bot.console.render import mrkdwn

    text = "ran <!date^1796314741^{date_short_pretty} {time}|2026-12-03 16:19 UTC> · <@U1>"
    assert mrkdwn(text) == "ran 2026-12-03 16:19 UTC · @U1"
    assert mrkdwn("see <https://x.example/r|the report>") == "see the report (https://x.example/r)"
