"""The worst hostile requests against a real `automl serve` process on 127.0.0.1: memory stays
where it was, /health keeps answering, the log holds no traceback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _health_s(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url + "/health", timeout=5) as answer:
        assert answer.status == 200
    return time.perf_counter() - started


@pytest.fixture
def served(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUTOML_"))}
    env |= {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": "abuse-signing-secret-0123456789",
        "SLACK_API_URL": fake_slack.url,
        "AUTOML_DATA_DIR": str(tmp_path / "data"),
        "AUTOML_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AUTOML_WARM_WORKER": "off",
        "AUTOML_REQUEST_TIMEOUT_S": "2",
    }
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]  # default host
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                _health_s(url)
                break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url, process.pid, log
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_100mb_unsigned_body_costs_no_memory(served: tuple[str, int, Path]) -> None:
    url, pid, log = served
    before = _rss_mb(pid)
    port = int(url.rsplit(":", 1)[1])
    chunk = b"A" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        started = time.perf_counter()
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % (100 * len(chunk))
        )
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(100):
                conn.sendall(chunk)
        first = conn.recv(4096)
    assert first.startswith(b"HTTP/1.1 413"), first
    assert time.perf_counter() - started < 2
    assert _rss_mb(pid) - before < 20
    assert _health_s(url) < 1
    assert "Traceback" not in log.read_text()


def test_health_answers_while_slow_clients_hold_connections(
    served: tuple[str, int, Path],
) -> None:
    url, _, log = served
    port = int(url.rsplit(":", 1)[1])
    slow = []
    try:
        for _ in range(140):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
            slow.append(conn)
        worst = max(_health_s(url) for _ in range(10))
        assert worst < 1
        time.sleep(3)  # past the 2 s deadline for headers
        assert all(conn.recv(10) == b"" for conn in slow)  # each was cut off
    finally:
        for conn in slow:
            conn.close()
    assert _health_s(url) < 1
    assert "Traceback" not in log.read_text()
