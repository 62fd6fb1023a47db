"""`automl serve` as a real subprocess against a Slack stand-in, for the bot benchmarks.

Not a benchmark itself (run_all.py does not run it): bot_ack.py and bot_end_to_end.py use it.

    with SlackStandIn() as slack, ServedBot(slack, data_dir) as bot:
        status, seconds, body = bot.post(bot.requests.command(slack.channel, "help"))

The server runs `.venv/bin/automl serve` (the `automl` next to this interpreter) in a session
of its own, with its working directory in the run's temporary folder (so no `.env` of the
developer's is read), and with only the Slack and AUTOML_ variables set here. Stopping it
signals its process group and every process below it that left the group (training jobs and
previews run in sessions of their own, by design: they survive a restart of the bot), then
kills whatever is still alive after a grace period.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.console.slack_requests import SignedRequest, SlackRequests
from bot.console.slack_standin import SlackStandIn

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
HEALTH_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
HEAVY = ("pandas", "numpy", "flaml", "plotly", "sklearn")


def automl_command() -> list[str]:
    """The `automl` console script of this environment (or the module, if it is missing)."""
    script = Path(sys.executable).with_name("automl")  # not resolved: .venv/bin/python
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(root: int) -> list[int]:
    """Every process below `root` (not `root` itself), from one pass over /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and ")"
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of one process (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(root: int) -> float:
    """Resident memory summed over every process below `root` (not `root` itself)."""
    return sum(rss_mb(pid) for pid in descendants(root))


def mapped_heavy_libraries(pid: int) -> list[str]:
    """Which of HEAVY have a compiled extension mapped into the process (pandas, numpy, sklearn).

    flaml and plotly are pure Python and never show here; this is a cheap look from outside.
    """
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    return [name for name in HEAVY if f"/site-packages/{name}/" in maps]


class ServedBot:
    """`automl serve` on a free port of 127.0.0.1, talking to `slack`; a context manager."""

    def __init__(self, slack: SlackStandIn, data_dir: Path, **env: str) -> None:
        self.slack = slack
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        self.extra_env = env
        self.requests = SlackRequests(slack, SIGNING_SECRET)
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None  # spawn to the first 200 from /health

    # ---- lifecycle -----------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLACK_", "AUTOML_"))
        }
        return {
            **inherited,
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.url,
            "AUTOML_DATA_DIR": str(self.data_dir),
            "AUTOML_PUBLIC_URL": self.url,
            **self.extra_env,
        }

    def start(self) -> ServedBot:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [*automl_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.data_dir.parent,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a group of its own: stopped with all it started
            )
        try:
            self._wait_for_health(started)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_health(self, started: float) -> None:
        assert self.process is not None
        deadline = started + HEALTH_TIMEOUT_S
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"automl serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError):
                status, _, _ = self.http("GET", "/health", timeout_s=2)
                if status == 200:
                    self.startup_s = time.perf_counter() - started
                    return
            time.sleep(0.05)
        raise RuntimeError(f"automl serve did not answer /health in time:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # The jobs and previews left the server's group (start_new_session): find them first.
        below = descendants(process.pid)
        own_group = process.pid  # start_new_session: the server leads its own group
        _signal(below, own_group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE_S)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and any(_alive(pid) for pid in below):
            time.sleep(0.1)
        _signal([p for p in below if _alive(p)], own_group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE_S)

    def kill(self) -> None:
        """SIGKILL the server alone, as a crash or the OOM killer would: its jobs live on."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_GRACE_S)

    def __enter__(self) -> ServedBot:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, characters: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return ""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    # ---- HTTP ----------------------------------------------------------------------------

    def post(self, request: SignedRequest, timeout_s: float = 30) -> tuple[int, float, bytes]:
        """POST a signed request to /slack/events: (status, seconds to the whole answer, body)."""
        started = time.perf_counter()
        status, body, _ = self.http(
            "POST", "/slack/events", request.bytes, request.headers, timeout_s=timeout_s
        )
        return status, time.perf_counter() - started, body

    def http(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 30,
    ) -> tuple[int, bytes, dict[str, Any]]:
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:
                return answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; it only waits for its parent to read its status.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _signal(below: list[int], root_group: int, signum: signal.Signals) -> None:
    """Signal the server's group, then each process below it that is in another group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(root_group, signum)
    for pid in below:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            group = os.getpgid(pid)
            if group == root_group:
                continue  # reached by the group signal already
            if group == pid:  # a group leader (a job): its group holds its own children
                os.killpg(pid, signum)
            else:
                os.kill(pid, signum)


# ---- shared by the bot benchmarks ---------------------------------------------------------------


class Probe:
    """While it is entered: /health every 0.2 s (a new connection each time), and every 50 ms
    the server's resident memory and that of every process below it (previews, jobs, the
    warm worker), summed."""

    def __init__(self, bot: ServedBot) -> None:
        self.bot = bot
        self.health_s: list[float] = []
        self.health_failures = 0
        self.peak_rss_mb = 0.0
        self.peak_children_mb = 0.0
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

    @property
    def worst_health_s(self) -> float | None:
        return max(self.health_s, default=None)

    def healthy(self, goal_s: float) -> bool:
        worst = self.worst_health_s
        return worst is not None and worst < goal_s and self.health_failures == 0

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
        while not self._stop.wait(0.05):
            pid = self.bot.pid
            if pid is None:
                continue
            self.peak_rss_mb = max(self.peak_rss_mb, rss_mb(pid))
            self.peak_children_mb = max(self.peak_children_mb, tree_rss_mb(pid))


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM unwind `with` blocks (as Ctrl-C does), so the server is always stopped."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)


def machine() -> dict[str, Any]:
    """When and where the numbers were taken, and which uncommitted bot files they include."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": len(os.sched_getaffinity(0)),
        "load_1m": round(os.getloadavg()[0], 2),
        "git": _git("rev-parse", "--short", "HEAD"),
        # Others edit the bot too: record which uncommitted files these numbers include.
        "uncommitted_bot_files": [
            line.strip() for line in _git("status", "--porcelain", "bot").splitlines()
        ],
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return ""
    return done.stdout.strip()


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (`share` in 0..1): a value that was measured, never interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def markdown_table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]
