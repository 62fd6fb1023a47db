"""Hostile requests against the real web app on 127.0.0.1 (uvicorn with `automl serve`'s
options, in a thread): bodies too large, too slow, unsigned or malformed, slow headers and a
flood of idle connections. `test_serve_abuse.py` repeats the worst against `automl serve`."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.cli import _parser
from bot.console.slack_requests import sign
from tests.bot.harness import SIGNING_SECRET, BotUnderTest
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[BotUnderTest]:
    under_test = BotUnderTest(
        fake_slack,
        tmp_path / "data",
        AUTOML_WARM_WORKER=False,
        AUTOML_REQUEST_TIMEOUT_S=1,
        AUTOML_MAX_CONNECTIONS=60,
    )
    yield under_test
    under_test.close()


def _connect(bot: BotUnderTest) -> socket.socket:
    host, port = bot.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _head(path: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(conn: socket.socket) -> bytes:
    """What the server sent until it closed the connection (or 5 s passed)."""
    received = b""
    try:
        while chunk := conn.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0


def _signed(body: bytes, content_type: str) -> dict[str, str]:
    """Slack's headers for any bytes (`sign` takes text, so cannot sign invalid UTF-8)."""
    ts = str(int(time.time()))
    base = b"v0:%s:%s" % (ts.encode(), body)
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def test_an_oversized_body_is_refused_before_it_is_read(bot: BotUnderTest) -> None:
    with _connect(bot) as conn:
        started = time.perf_counter()
        conn.sendall(_head("/slack/events", **{"Content-Length": str(100 * 1024 * 1024)}))
        conn.sendall(b"x" * 65536)  # the rest never comes: the answer must not wait for it
        raw = _answer(conn)
    assert _status(raw) == 413, raw
    assert time.perf_counter() - started < 2
    assert raw.endswith(b"request body too large")


def test_an_oversized_chunked_body_is_refused_while_it_streams(bot: BotUnderTest) -> None:
    chunk = b"x" * 65536
    with _connect(bot) as conn:
        conn.sendall(_head("/slack/events", **{"Transfer-Encoding": "chunked"}))
        try:
            for _ in range(40):  # 2.5 MB, more than the 1 MB limit
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: what we want
        raw = _answer(conn)
    assert _status(raw) == 413, raw


def test_a_bad_signature_is_refused_before_the_body_is_parsed(bot: BotUnderTest) -> None:
    # 900 KB (allowed) of bytes no parser accepts: a 401, not a 400 or a 500, shows the
    # signature was checked first.
    body = b"payload=" + b"\xff" * 900_000
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign("other", "wrong")}
    started = time.perf_counter()
    answer = bot.http("POST", "/slack/events", body, headers)
    assert (answer.status, answer.text) == (401, "invalid request")
    assert time.perf_counter() - started < 1
    assert bot.jobs() == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"command=%2Fautoml&text=\xff\xfe", "application/x-www-form-urlencoded"),
        (
            b'{"type": "event_callback", "event": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
            "application/json",
        ),
        (b"payload=" + b"%5B" * 50_000, "application/x-www-form-urlencoded"),
        (b"[1, 2, 3]", "application/json"),
    ],
    ids=["invalid-utf8", "nested-json", "nested-form-payload", "not-an-object"],
)
def test_a_signed_malformed_body_gets_400_without_a_traceback(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    with caplog.at_level(logging.INFO):
        answer = bot.http("POST", "/slack/events", body, _signed(body, content_type))
    assert (answer.status, answer.text) == (400, "malformed request body")
    assert not [record for record in caplog.records if record.exc_info]
    assert "Traceback" not in caplog.text
    assert bot.http("GET", "/health").status == 200


def test_slow_headers_are_cut_off(bot: BotUnderTest) -> None:
    with _connect(bot) as conn:
        started = time.perf_counter()
        conn.sendall(b"POST /slack/events HTTP/1.1\r\n")
        try:
            for _ in range(10):  # a byte every 0.3 s: never a whole request
                conn.sendall(b"X")
                time.sleep(0.3)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert _answer(conn) == b""
    assert time.perf_counter() - started < 3.5  # cut at the 1 s deadline, not served


def test_a_slow_body_is_cut_off_with_408(bot: BotUnderTest) -> None:
    with _connect(bot) as conn:
        started = time.perf_counter()
        conn.sendall(_head("/slack/events", **{"Content-Length": "1000"}))
        try:
            for _ in range(10):
                conn.sendall(b"x")
                time.sleep(0.3)
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw = _answer(conn)
    assert _status(raw) == 408, raw
    assert time.perf_counter() - started < 3.5


def test_health_stays_fast_during_a_flood_of_slow_connections(bot: BotUnderTest) -> None:
    with ExitStack() as stack:
        slow = [stack.enter_context(_connect(bot)) for _ in range(50)]
        for conn in slow:
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
        for _ in range(5):
            started = time.perf_counter()
            assert bot.http("GET", "/health").status == 200
            assert time.perf_counter() - started < 1
        for conn in slow:
            conn.sendall(b"X")  # one more byte each: no answer, only the deadline
        time.sleep(1.5)
        for conn in slow:  # each was closed by the server (a timeout here fails the test)
            conn.settimeout(0.5)
            assert conn.recv(10) == b""


def test_connections_beyond_the_cap_get_503_at_once(bot: BotUnderTest) -> None:
    with ExitStack() as stack:
        for _ in range(60):  # the cap in this fixture
            stack.enter_context(_connect(bot))
        time.sleep(0.2)
        started = time.perf_counter()
        assert bot.http("GET", "/health").status == 503
        assert time.perf_counter() - started < 1
    time.sleep(0.2)
    assert bot.http("GET", "/health").status == 200


def test_serve_listens_on_localhost_unless_told() -> None:
    assert _parser().parse_args(["serve"]).host == "127.0.0.1"
    assert _parser().parse_args(["serve", "--host", "0.0.0.0"]).host == "0.0.0.0"


def test_a_signed_slack_request_still_reaches_bolt(bot: BotUnderTest) -> None:
    answer = bot.post(bot.requests.command(bot.fake.channel, "trian target=x"))
    assert answer.status == 200
    assert json.loads(answer.body)["response_type"] == "ephemeral"
