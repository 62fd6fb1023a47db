"""A real `automl serve` on 127.0.0.1 writes JSON lines with the request's fields, and never
a secret: Slack's bot token and signing secret are known fakes, looked for in all of stderr."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from common.logs import REDACTED
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-5550001-7770002-ServeLogsFakeBotToken"
SIGNING_SECRET = "5e1f0a9b8c7d6e5f40312233445566ab"
VERIFICATION_TOKEN = "gIkuvaNzQIHg97ATvDxqgjtO"  # Slack's old per-app token, in every command
CHANNEL, USER = "C0GENERAL", "U0ALICE"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def served(slack: FakeSlack, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`automl serve` at DEBUG, the most it can say; its stderr in a file."""
    port = _free_port()
    stderr = tmp_path / "stderr.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUTOML_"))}
    env |= {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "AUTOML_DATA_DIR": str(tmp_path / "data"),
        "AUTOML_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AUTOML_WARM_WORKER": "off",
        "AUTOML_LOG_LEVEL": "DEBUG",
    }
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    with stderr.open("wb") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(url + "/health", timeout=5):
                break
            assert process.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.1)
        yield url, stderr
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post(url: str, body: bytes, *, secret: str = SIGNING_SECRET) -> int:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:%s:%s" % (ts.encode(), body), hashlib.sha256)
    request = urllib.request.Request(
        url + "/slack/events",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def _command(text: str, response_url: str) -> bytes:
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": "T0FAKE",
            "channel_id": CHANNEL,
            "user_id": USER,
            "command": "/automl",
            "text": text,
            "response_url": response_url,
            "trigger_id": f"trigger-{time.monotonic_ns()}",
        }
    ).encode()


def _lines(stderr: Path, until: str, timeout_s: float = 20) -> list[dict[str, Any]]:
    """Every stderr line, parsed (each must be JSON), once one of them contains `until`."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = stderr.read_text(encoding="utf-8")
        if until in text or time.monotonic() > deadline:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        time.sleep(0.2)


def test_no_secret_reaches_the_log_of_a_real_server(
    served: tuple[str, Path], slack: FakeSlack
) -> None:
    url, stderr = served
    reply_to = slack.response_url(CHANNEL, USER)
    # A person pastes the secrets into a command: the answer quotes the words it cannot read.
    assert _post(url, _command(f"train target=label {BOT_TOKEN} {SIGNING_SECRET}", reply_to)) == 200
    # Signatures that do not match: made with a wrong secret, and with none.
    assert _post(url, _command("help", reply_to), secret="not-the-signing-secret") == 401
    assert _post(url, b"token=" + BOT_TOKEN.encode(), secret="") == 401
    # A command whose Slack call fails: slack_sdk logs the request it made.
    slack.fail_next("conversations.history", "invalid_auth")
    assert _post(url, _command("train target=label", reply_to)) == 200

    lines = _lines(stderr, "Slack did not accept the bot's token")  # the reply, sent
    text = stderr.read_text(encoding="utf-8")
    for secret in (BOT_TOKEN, SIGNING_SECRET, VERIFICATION_TOKEN, "ServeLogsFakeBotToken"):
        assert secret not in text
    # Not vacuous: the lines that held them are there, redacted.
    responding = [line for line in lines if "Responding with status: 200" in line["message"]]
    assert any(f"{REDACTED} {REDACTED}" in line["message"] for line in responding), text
    # Every line is an object with its level and logger; the Slack call's says where and who.
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
    history = [line for line in lines if "conversations.history" in line["message"]]
    assert history, text
    assert all((line["channel"], line["user"]) == (CHANNEL, USER) for line in history)
    assert all(line["event"] == "command train" for line in history)
