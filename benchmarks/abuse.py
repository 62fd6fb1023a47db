"""Attacks on a real `automl serve` (127.0.0.1, the Slack stand-in): what each costs the server.

    python benchmarks/abuse.py            (`make bench` runs it through run_all.py)

Each attack is a function `(bot) -> (outcome, passed)` listed in ATTACKS; while it runs, a
probe asks /health every 0.2 s and samples the server's resident memory. Writes
benchmarks/results/abuse.json and abuse.md. Other attacks (hostile files, faults) are more
functions in ATTACKS.

Before issue 10 (from the issue): a 100 MB unsigned body took the server to 5.2 GB and 50 s
of CPU before its 401; a 30 MB one held /health for 7.4 s; invalid UTF-8 or nested JSON gave a
500 with a traceback; 140 slow connections made it refuse new ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import selectors
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from serve_harness import (
    ROOT,
    SIGNING_SECRET,
    ServedBot,
    machine,
    markdown_table,
    stop_cleanly_on_sigterm,
)

from bot.console.slack_standin import SlackStandIn

RESULTS = ROOT / "benchmarks" / "results"
HEALTH_GOAL_S = 1.0
AFTERMATH_S = 2.0  # each attack is watched for at least this long
MB = 1024 * 1024


# ---- raw HTTP, as an attacker sends it -----------------------------------------------------------


def _connect(bot: ServedBot, timeout_s: float = 30) -> socket.socket:
    return socket.create_connection(("127.0.0.1", bot.port), timeout=timeout_s)


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(conn: socket.socket) -> str:
    """The status line's code, or what happened instead."""
    try:
        first = conn.recv(4096)
    except TimeoutError:
        return "no answer"
    except ConnectionResetError:
        return "reset"
    return first.split(b" ", 2)[1].decode() if first.startswith(b"HTTP/1.1 ") else "closed"


def _signed(body: bytes, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:%s:%s" % (ts.encode(), body), hashlib.sha256)
    return {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def _post(bot: ServedBot, chunks: Iterable[bytes], headers: dict[str, str]) -> str:
    """Send the whole body (an attacker does not stop at a 413), then read the answer."""
    with _connect(bot) as conn:
        conn.sendall(_head("/slack/events", headers))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for chunk in chunks:
                conn.sendall(chunk)
        return _status(conn)


# ---- the attacks -------------------------------------------------------------------------------


def unsigned_body(megabytes: int) -> Callable[[ServedBot], tuple[str, bool]]:
    def attack(bot: ServedBot) -> tuple[str, bool]:
        chunk = b"A" * MB  # streamed: never the whole body in this process
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(megabytes * MB),
        }
        status = _post(bot, (chunk for _ in range(megabytes)), headers)
        return status, status == "413"

    attack.__name__ = f"unsigned {megabytes} MB body"
    return attack


def invalid_utf8(bot: ServedBot) -> tuple[str, bool]:
    """Signed, so it passes the signature: the parser must not meet it."""
    body = b"command=%2Fautoml&text=" + b"\xff\xfe" * 1000
    status = _post(bot, [body], _signed(body, "application/x-www-form-urlencoded"))
    return status, status == "400"


def nested_json(bot: ServedBot) -> tuple[str, bool]:
    body = b'{"type": "event_callback", "event": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    status = _post(bot, [body], _signed(body, "application/json"))
    return status, status == "400"


SLOW_CONNECTIONS = 140
SLOW_BYTE_EVERY_S = 5.0
SLOW_FOR_S = 25.0


def slow_connections(start: bytes, name: str) -> Callable[[ServedBot], tuple[str, bool]]:
    """140 clients that send `start`, then a byte every 5 s, reconnecting when cut off."""

    def attack(bot: ServedBot) -> tuple[str, bool]:
        return _slow(bot, start)

    attack.__name__ = name
    return attack


def _slow(bot: ServedBot, start: bytes) -> tuple[str, bool]:
    selector = selectors.DefaultSelector()
    cut = 0

    def open_one() -> None:
        conn = _connect(bot, timeout_s=5)
        conn.sendall(start)
        conn.setblocking(False)
        selector.register(conn, selectors.EVENT_READ)

    for _ in range(SLOW_CONNECTIONS):
        open_one()
    ends = time.monotonic() + SLOW_FOR_S
    next_byte = time.monotonic() + SLOW_BYTE_EVERY_S
    while time.monotonic() < ends:
        for key, _ in selector.select(timeout=0.2):
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            with contextlib.suppress(OSError):
                if conn.recv(4096):
                    continue
            selector.unregister(conn)
            conn.close()
            cut += 1
            open_one()
        if time.monotonic() >= next_byte:
            next_byte += SLOW_BYTE_EVERY_S
            for key in list(selector.get_map().values()):
                with contextlib.suppress(OSError):
                    key.fileobj.send(b"X")  # type: ignore[union-attr]
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    return f"{cut} cut off", cut >= SLOW_CONNECTIONS


ATTACKS: list[Callable[[ServedBot], tuple[str, bool]]] = [
    unsigned_body(100),
    unsigned_body(30),
    invalid_utf8,
    nested_json,
    slow_connections(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n", "140 slow headers"),
    slow_connections(_head("/slack/events", {"Content-Length": "1000"}), "140 slow bodies"),
]


# ---- measuring -------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Probe:
    """/health every 0.2 s (a new connection each time) and the server's RSS every 50 ms."""

    def __init__(self, bot: ServedBot) -> None:
        self.bot = bot
        self.health_s: list[float] = []
        self.health_failures = 0
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._health), threading.Thread(target=self._rss)]

    def __enter__(self) -> Probe:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _health(self) -> None:
        while True:  # the first at once: some attacks take a fraction of a second
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.bot.url + "/health", timeout=10) as answer:
                    ok = answer.status == 200
            except OSError:
                ok = False
            self.health_s.append(time.perf_counter() - started)
            self.health_failures += not ok
            if self._stop.wait(0.2):
                return

    def _rss(self) -> None:
        assert self.bot.pid is not None
        while not self._stop.wait(0.05):
            with contextlib.suppress(OSError):
                self.peak_rss_mb = max(self.peak_rss_mb, rss_mb(self.bot.pid))


def run_attack(bot: ServedBot, attack: Callable[[ServedBot], tuple[str, bool]]) -> dict[str, Any]:
    assert bot.pid is not None
    before = rss_mb(bot.pid)
    started = time.perf_counter()
    with Probe(bot) as probe:
        try:
            outcome, passed = attack(bot)
        except OSError as error:
            outcome, passed = f"client error: {error}", False
        seconds = time.perf_counter() - started
        time.sleep(max(0.0, AFTERMATH_S - seconds))  # the server may still be at work
    worst = max(probe.health_s, default=None)
    healthy = worst is not None and worst < HEALTH_GOAL_S and probe.health_failures == 0
    row = {
        "attack": attack.__name__.replace("_", " "),
        "outcome": outcome,
        "seconds": round(seconds, 2),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(max(probe.peak_rss_mb, before), 1),
        "health_max_s": round(worst, 3) if worst is not None else None,
        "health_failures": probe.health_failures,
        "passed": passed and healthy,
    }
    print(json.dumps(row))
    return row


def measure() -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="abuse-") as tmp,
        SlackStandIn() as slack,
        ServedBot(slack, Path(tmp) / "data", AUTOML_WARM_WORKER="off") as bot,
    ):
        rows = [run_attack(bot, attack) for attack in ATTACKS]
        log = bot.log_tail(1_000_000)
    return {"attacks": rows, "traceback_in_log": "Traceback" in log}


def write_results(env: dict[str, Any], measured: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": env, "health_goal_s": HEALTH_GOAL_S, **measured}
    (RESULTS / "abuse.json").write_text(json.dumps(payload, indent=2) + "\n")
    head = ["attack", "answer", "server RSS before → peak (MB)", "/health worst (s)", "ok"]
    rows = [
        [
            r["attack"],
            r["outcome"],
            f"{r['rss_before_mb']:.0f} → {r['peak_rss_mb']:.0f}",
            f"{r['health_max_s']:.3f}" if r["health_max_s"] is not None else "-",
            "yes" if r["passed"] else "NO",
        ]
        for r in measured["attacks"]
    ]
    md = [
        "# Hostile requests against `automl serve`",
        "",
        f"{env['date']}, {env['cpus']} CPUs, Python {env['python']}. /health asked every 0.2 s "
        f"during each attack (goal: under {HEALTH_GOAL_S:g} s, never refused).",
        "",
        *markdown_table(head, rows),
        "",
        f"Traceback in the server's log: {'YES' if measured['traceback_in_log'] else 'none'}.",
        "",
    ]
    (RESULTS / "abuse.md").write_text("\n".join(md))


def main() -> int:
    stop_cleanly_on_sigterm()
    env = machine()
    measured = measure()
    write_results(env, measured)
    print(f"wrote {RESULTS.relative_to(ROOT)}/abuse.json and abuse.md")
    passed = all(r["passed"] for r in measured["attacks"]) and not measured["traceback_in_log"]
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
