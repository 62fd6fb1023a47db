"""Attacks on a real `automl serve` (127.0.0.1, the Slack stand-in) and on the CLI, and faults.

    python benchmarks/abuse.py [--only requests,files,faults]   (`make bench` runs it all)

Three parts, each a table in benchmarks/results/abuse.md (and abuse.json):

- hostile requests: each a function `(bot) -> (outcome, passed)` in ATTACKS; while it runs, a
  probe asks /health every 0.2 s and samples the server's resident memory;
- hostile files (abuse_files.py, made by hostile_files.py at run time): through `automl
  train` and through the served bot (share, preview, `/automl train`), with the peak memory of
  the server and of the processes below it, /health, and the sentence the person reads;
- faults (abuse_faults.py): the bot or the training SIGKILLed mid-job, the disk full mid-run,
  Slack answering 500/503/429 in bursts; did every job end with a message in its thread.

Before issue 10 (from the issue): a 100 MB unsigned body took the server to 5.2 GB and 50 s
of CPU before its 401; a 30 MB one held /health for 7.4 s; invalid UTF-8 or nested JSON gave a
500 with a traceback; 140 slow connections made it refuse new ones.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import selectors
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from abuse_faults import FAULTS, measure_faults
from abuse_files import BOT_EXTRA_GOAL_MB, CLI_TIMEOUT_S, measure_files
from hostile_files import MAKERS
from serve_harness import (
    ROOT,
    SIGNING_SECRET,
    Probe,
    ServedBot,
    machine,
    markdown_table,
    rss_mb,
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
    worst = probe.worst_health_s
    healthy = probe.healthy(HEALTH_GOAL_S)
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


def measure_requests() -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="abuse-") as tmp,
        SlackStandIn() as slack,
        ServedBot(slack, Path(tmp) / "data", AUTOML_WARM_WORKER="off") as bot,
    ):
        rows = [run_attack(bot, attack) for attack in ATTACKS]
        log = bot.log_tail(1_000_000)
    return {"attacks": rows, "traceback_in_log": "Traceback" in log}


PARTS = ("requests", "files", "faults")


def measure(parts: tuple[str, ...]) -> dict[str, Any]:
    measured: dict[str, Any] = {}
    if "requests" in parts:
        measured |= measure_requests()
    if "files" in parts:
        measured["files"] = measure_files(MAKERS)
    if "faults" in parts:
        measured["faults"] = measure_faults(FAULTS)
    return measured


def _previous() -> dict[str, Any]:
    """The last results, so a run of one part keeps the others' tables."""
    try:
        return dict(json.loads((RESULTS / "abuse.json").read_text()))
    except (OSError, ValueError):
        return {}


def write_results(env: dict[str, Any], measured: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {**_previous(), "machine": env, "health_goal_s": HEALTH_GOAL_S, **measured}
    (RESULTS / "abuse.json").write_text(json.dumps(payload, indent=2) + "\n")
    md = [
        "# Abuse and faults: `automl serve` and `automl train` under attack",
        "",
        f"{env['date']}, {env['cpus']} CPUs, Python {env['python']}, load {env['load_1m']}. "
        f"Goals: /health under {HEALTH_GOAL_S:g} s and never refused, the server growing by "
        f"less than {BOT_EXTRA_GOAL_MB / 1024:g} GB, every job ending with a message in its "
        "thread, no traceback to a person, nothing lost.",
        "",
        *_requests_md(payload),
        *_files_md(payload),
        *_faults_md(payload),
    ]
    (RESULTS / "abuse.md").write_text("\n".join(md))


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def _requests_md(payload: dict[str, Any]) -> list[str]:
    if "attacks" not in payload:
        return []
    head = ["attack", "answer", "server RSS before → peak (MB)", "/health worst (s)", "ok"]
    rows = [
        [
            r["attack"],
            r["outcome"],
            f"{r['rss_before_mb']:.0f} → {r['peak_rss_mb']:.0f}",
            f"{r['health_max_s']:.3f}" if r["health_max_s"] is not None else "-",
            _yes(r["passed"]),
        ]
        for r in payload["attacks"]
    ]
    return [
        "## Hostile requests",
        "",
        "/health asked every 0.2 s during each attack.",
        "",
        *markdown_table(head, rows),
        "",
        f"Traceback in the server's log: {'YES' if payload['traceback_in_log'] else 'none'}.",
        "",
    ]


def _files_md(payload: dict[str, Any]) -> list[str]:
    if "files" not in payload:
        return []
    cli_head = ["file", "size (KB)", "exit", "s", "peak RSS (MB)", "what the person reads", "ok"]
    cli_rows = [
        [
            f"{r['attack']} (`{r['file']}`)",
            f"{r['file_kb']:,}",
            str(r["cli"]["exit_code"]),
            f"{r['cli']['seconds']:.1f}",
            f"{r['cli']['peak_rss_mb']:.0f}",
            _cell(r["cli"]["sentence"]),
            _yes(r["cli"]["passed"]) + (" (traceback)" if r["cli"]["traceback"] else ""),
        ]
        for r in payload["files"]
    ]
    served_head = [
        "file",
        "server RSS before → peak (MB)",
        "previews + jobs peak (MB)",
        "/health worst (s)",
        "preview says",
        "the thread says",
        "ok",
    ]
    served_rows = [
        [
            r["attack"],
            f"{r['served']['bot_rss_before_mb']:.0f} → {r['served']['bot_peak_rss_mb']:.0f}",
            f"{r['served']['children_peak_rss_mb']:.0f}",
            f"{r['served']['health_max_s']:.3f}",
            _cell(r["served"]["preview"], 120),
            _cell(r["served"]["sentence"]),
            _yes(r["served"]["passed"]) + (" (traceback)" if r["served"]["traceback"] else ""),
        ]
        for r in payload["files"]
    ]
    return [
        "## Hostile files",
        "",
        "Made at run time (benchmarks/hostile_files.py). Each file has a `label` column.",
        "",
        f"### `automl train FILE --target label --time-budget 10` (killed after "
        f"{CLI_TIMEOUT_S:.0f} s)",
        "",
        "Peak RSS is summed over the command's process tree, sampled every 50 ms.",
        "",
        *markdown_table(cli_head, cli_rows),
        "",
        "### Shared in Slack, previewed, then `/automl train target=label time=10s`",
        "",
        "The server's own memory; previews and jobs are processes below it (summed).",
        "",
        *markdown_table(served_head, served_rows),
        "",
    ]


def _faults_md(payload: dict[str, Any]) -> list[str]:
    if "faults" not in payload:
        return []
    head = ["fault", "jobs", "ended with a message", "s to the message", "the thread says", "ok"]
    rows = []
    for r in payload["faults"]:
        if "error" in r or "skipped" in r:
            rows.append([r["fault"], "-", "-", "-", _cell(r.get("error") or r["skipped"]), "NO"])
            continue
        rows.append(
            [
                r["fault"],
                str(r["jobs"]),
                f"{r['ended_with_message']} ({r['outcome_messages']} message(s))",
                "-" if r["seconds_to_message"] is None else f"{r['seconds_to_message']:.1f}",
                _cell(r["sentence"]),
                _yes(r["passed"]) + (" (traceback)" if r["traceback"] else ""),
            ]
        )
    notes = [
        f"- {r['fault']}: " + ", ".join(f"{k} {v}" for k, v in r.items() if k in _NOTE_KEYS)
        for r in payload["faults"]
        if any(k in r for k in _NOTE_KEYS)
    ]
    return [
        "## Faults",
        "",
        "Real training jobs (samples/churn.csv, `time=15s`) under `automl serve`, local backend. "
        "Seconds are from the fault to the job's outcome message in its thread.",
        "",
        *markdown_table(head, rows),
        "",
        *notes,
        "",
        *BEFORE_FIXES,
    ]


# What these faults and files did before the fixes that came with them.
BEFORE_FIXES = [
    "Before the fixes that came with this suite:",
    "",
    "- `bomb.xlsx` (no `<dimension>`, 1 GiB of rows), measured on this machine the same day: "
    "openpyxl parsed the whole sheet on opening; `automl train` ran 425 s at 2.3 GB (RSS) "
    "and, stopped by SIGTERM at 300 s, called the file damaged; served, the preview ran "
    "into its 120 s timeout at 843 MB. Now "
    "openpyxl stops at `<sheetData>` (training/input/xlsx_dimensions.py) and a sheet ends at "
    "Excel's 1,048,576 rows.",
    "- Slack answering HTTP 500/503: not retried, so a failed `chat.postMessage` of the results "
    "lost them for good (tests/faults/test_slack_outage.py fails without the retry).",
    "- disk full: a job that could not write result.json was told “The training process "
    "stopped unexpectedly (exit code 1) before writing its results”, and one that could was "
    "told “Something went wrong inside the training job” (tests/faults/test_disk_full.py "
    "fails without the fix); now both say the disk is full and what to do.",
    "",
]

_NOTE_KEYS = ("errors_served", "results", "charts", "filler_mb", "next_job", "health_max_s")


def _cell(text: str, limit: int = 220) -> str:
    one_line = " ".join(str(text).split()).replace("|", "\\|")
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _passed(measured: dict[str, Any]) -> bool:
    rows = [
        *measured.get("attacks", []),
        *[r["cli"] for r in measured.get("files", [])],
        *[r["served"] for r in measured.get("files", [])],
        *measured.get("faults", []),
    ]
    return all(r.get("passed") for r in rows) and not measured.get("traceback_in_log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help="requests,files,faults")
    parts = tuple(p for p in parser.parse_args(argv).only.split(",") if p)
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    stop_cleanly_on_sigterm()
    env = machine()
    measured = measure(parts)
    write_results(env, measured)
    print(f"wrote {RESULTS.relative_to(ROOT)}/abuse.json and abuse.md")
    return 0 if _passed(measured) else 1


if __name__ == "__main__":
    sys.exit(main())
