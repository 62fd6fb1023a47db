"""`LocalLauncher`: the local backend's launcher, a pool of training subprocesses.

- A dispatcher thread starts queued jobs, oldest first, while fewer than `max_concurrent`
  run. Each job runs in a session of its own, so neither a bot crash nor Ctrl-C in the bot's
  terminal kills a training run: forked by the warm worker when there is one and it answers
  (warm_start.py: the heavy imports are done already), else as `[*command, <run>/spec.json]`.
  A warm-started job is not the launcher's child: like a re-attached job, it is watched through
  /proc and its exit code is unknown.
- One watcher thread per running job tails `<run>/events.jsonl` (the job's own events log;
  its stdout is not read) and reports to a `JobEvents` when the process exits.
- The budget holds as on Batch: a job still running at its budget plus a margin gets SIGTERM
  (it stops and keeps its best models), and SIGKILL `kill_grace_s` later, however stuck.
- Jobs run with the secrets left out of their environment (child_env.py) and, cold or warm,
  under a memory cap (`memory_mb`, common/memory.py).
- `<run>/launcher.json` records the process, so a restarted bot re-attaches to jobs that are
  still running and reports the ones that ended while it was away (`start()`). The record's
  `start_time` (/proc/<pid>/stat field 22) tells the job from a later process with its pid;
  records without one (older bots) are checked by the command line instead.

The launcher asks `bot.lifecycle.JobLifecycle` to move a job from `queued` to `running`
when it starts its process, and starts nothing the lifecycle refuses (a job cancelled while
it waited). Whoever receives `job_ended` (`bot.job_events`) has the lifecycle end it.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.backends.local.child_env import child_environment
from bot.backends.local.warm_start import WarmWorker
from bot.jobs import Job, JobStore
from bot.lifecycle import JobLifecycle
from bot.links import check_job_id
from bot.messages.failure import (
    COULD_NOT_START,
    DISK_FULL,
    RESTARTED_BEFORE_STORED,
    RESTARTED_WHILE_RUNNING,
    process_stopped,
    stopped_at_time_limit,
)
from bot.ports import JobEnding, JobEvents
from common.files import path_from_uri, write_atomically
from common.memory import limit_memory
from contract.jobs import (
    REPORT_FOLLOW_UP_MAX_S,
    AnyEvent,
    FinishedEvent,
    JobSpec,
    PredictionSpec,
    ProgressEvent,
    ReportEvent,
    StartedEvent,
    parse_event,
    utc_now,
)
from contract.run_folder import EVENTS_FILE, JOB_LOG_FILE, RUNS_DIR, SPEC_FILE
from training.warm_worker import process_stat

log = logging.getLogger(__name__)

RECORD_FILE = "launcher.json"
LOG_TAIL_LINES = 20
# SIGTERM at the budget plus this much (at least DEADLINE_MARGIN_S): time to start, save, upload.
DEADLINE_MARGIN_SHARE = 0.1
DEADLINE_MARGIN_S = 30.0
# Until the job says it started (its imports done; a loaded machine takes longer), it has this too.
STARTUP_ALLOWANCE_S = 60.0
# A job that ended without results where less than this is free most likely died of a full disk.
DISK_FULL_BELOW_BYTES = 8 * 1024 * 1024


@dataclass(order=True)
class _Waiting:
    created_at: datetime
    seq: int
    job_id: str = field(compare=False)
    spec: Path = field(compare=False)
    kind: str = field(default="train", compare=False)  # `Job.kind`: which command runs it


@dataclass
class _Running:
    job_id: str
    pid: int
    spec: Path
    run_dir: Path
    process: subprocess.Popen[bytes] | None  # None when re-attached or warm-started
    start_time: int | None = None  # /proc/<pid>/stat field 22, where known
    kill_at: float | None = None  # monotonic time of the SIGKILL after a SIGTERM
    stopping: bool = False  # we sent SIGTERM (cancel or terminate_all)
    thread: threading.Thread | None = None
    budget_s: int | None = None  # the spec's time budget, where readable
    stop_at: float | None = None  # monotonic time of the SIGTERM at the time limit
    timed_out: bool = False  # stopped at its time limit
    results_reported: bool = False  # ended at its results; still running for its EDA report


class LocalLauncher:
    """The `bot.ports.Launcher` port on local subprocesses. Thread-safe."""

    def __init__(
        self,
        store: JobStore,
        data_root: Path,
        *,
        max_concurrent: int,
        command: Sequence[str] = (sys.executable, "-m", "training", "run"),
        predict_command: Sequence[str] = (sys.executable, "-m", "training", "predict"),
        poll_s: float = 0.5,
        kill_grace_s: float = 20.0,
        warm_worker: WarmWorker | None = None,
        deadline_margin_s: float = DEADLINE_MARGIN_S,
        memory_mb: int = 0,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._store = store  # read for recovery; its statuses change through the lifecycle
        self._lifecycle = JobLifecycle(store)
        self._data_root = Path(data_root)
        self._max = max_concurrent
        self._command = list(command)
        self._predict_command = list(predict_command)
        self._poll_s = poll_s
        self._kill_grace_s = kill_grace_s
        self._warm = warm_worker
        self._deadline_margin_s = deadline_margin_s
        self._memory_mb = memory_mb
        self._events: JobEvents | None = None
        self._lock = threading.Condition()
        self._queue: list[_Waiting] = []
        self._seq = 0
        self._running: dict[str, _Running] = {}
        self._starting: str | None = None  # popped from the queue, not yet in _running
        self._cancel_when_started: set[str] = set()
        self._draining = False  # terminate_all(): start nothing more
        self._stop = threading.Event()
        self._dispatcher: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self, events: JobEvents) -> None:
        """Recover the jobs a previous bot left behind, then start dispatching.

        Call it before the bot accepts requests: a `queued` job without a spec is taken for
        one whose upload a restart cut off.
        """
        self._events = events
        self._recover()
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="launcher-dispatcher", daemon=True
        )
        self._dispatcher.start()

    def close(self) -> None:
        """Stop the threads and the warm worker. Training processes keep running; the next
        `start()` finds them."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
            threads = [w.thread for w in self._running.values() if w.thread is not None]
        for thread in [self._dispatcher, *threads]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=max(5.0, 2 * self._poll_s))
        if self._warm is not None:
            self._warm.stop()

    def terminate_all(self, wait_s: float = 30) -> None:
        """SIGTERM every running job, wait up to `wait_s` for them to end (SIGKILL after),
        report their endings, then `close()`. Queued jobs stay queued for the next start."""
        with self._lock:
            self._draining = True
            while self._starting is not None:  # let a start in progress finish: stop it too
                self._lock.wait()
            running = list(self._running.values())
        for watch in running:
            self._terminate(watch, grace_s=wait_s)
        # The watchers SIGKILL at the deadline; give them a little longer to report.
        deadline = time.monotonic() + wait_s + max(5.0, 4 * self._poll_s)
        for watch in running:
            if watch.thread is not None:
                watch.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.close()

    # ---- the port ------------------------------------------------------------------------

    def submit(self, job: Job, spec_uri: str) -> None:
        self._enqueue(job, path_from_uri(spec_uri))

    def cancel(self, job: Job) -> None:
        with self._lock:
            for index, waiting in enumerate(self._queue):
                if waiting.job_id == job.job_id:
                    del self._queue[index]
                    return
            watch = self._running.get(job.job_id)
            if watch is None:
                if self._starting == job.job_id:  # the dispatcher cancels it once started
                    self._cancel_when_started.add(job.job_id)
                return
        self._terminate(watch, grace_s=self._kill_grace_s)

    def queue_position(self, job_id: str) -> int | None:
        with self._lock:
            for index, waiting in enumerate(self._queue):
                if waiting.job_id == job_id:
                    return index + 1
        return None

    def _run_dir(self, job_id: str) -> Path:
        # The same folder as `LocalArtifactStore.run_dir`, where the job service put the spec.
        return self._data_root / RUNS_DIR / check_job_id(job_id)

    # ---- queue and dispatcher ------------------------------------------------------------

    def _enqueue(self, job: Job, spec: Path) -> None:
        with self._lock:
            known = job.job_id in self._running or job.job_id == self._starting
            if known or any(w.job_id == job.job_id for w in self._queue):
                return  # a repeated submit or a job recovered already
            self._seq += 1
            waiting = _Waiting(job.created_at, self._seq, job.job_id, spec, job.kind)
            bisect.insort(self._queue, waiting)
            self._lock.notify_all()

    def _dispatch(self) -> None:
        if self._warm is not None:
            # From this thread, which lives as long as the launcher: the kernel stops the
            # worker when the thread that started it ends.
            self._warm.start()
        while not self._stop.is_set():
            with self._lock:
                while not self._stop.is_set() and not self._can_start():
                    self._lock.wait()
                if self._stop.is_set():
                    return
                waiting = self._queue.pop(0)
                self._starting = waiting.job_id
            try:
                watch = self._start_job(waiting)
            except Exception:  # the store or the file system failed: say so, keep going
                log.exception("could not start job %s", waiting.job_id)
                self._report_ended(waiting.job_id, JobEnding(detail=COULD_NOT_START))
                watch = None
            with self._lock:
                self._starting = None
                cancel_now = waiting.job_id in self._cancel_when_started
                self._cancel_when_started.discard(waiting.job_id)
                if watch is not None:
                    self._running[watch.job_id] = watch
                self._lock.notify_all()
            if watch is not None:
                self._report("job_started", watch.job_id)
                self._watch(watch)
                if cancel_now:
                    self._terminate(watch, grace_s=self._kill_grace_s)

    def _can_start(self) -> bool:
        return bool(self._queue) and not self._draining and len(self._running) < self._max

    def _start_job(self, waiting: _Waiting) -> _Running | None:
        job_id = waiting.job_id
        if not self._lifecycle.start(job_id):
            return None  # cancelled (or otherwise ended) while it waited
        run_dir = self._run_dir(job_id)
        spec = waiting.spec.absolute()
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            watch = self._start_warm(job_id, spec, run_dir, waiting.kind) or self._start_cold(
                job_id, spec, run_dir, waiting.kind
            )
        except OSError:
            log.exception("could not start the training process of job %s", job_id)
            self._report_ended(job_id, JobEnding(detail=COULD_NOT_START))
            return None
        self._set_deadline(watch, elapsed_s=-STARTUP_ALLOWANCE_S)
        record = {
            "pid": watch.pid,
            "start_time": watch.start_time,
            "spec": str(spec),
            "started_at": utc_now().isoformat(),
            "warm": watch.process is None,
        }
        try:
            write_atomically(run_dir / RECORD_FILE, json.dumps(record))
        except OSError:  # the job runs all the same; only a restart would lose track of it
            log.exception("could not record the process of job %s", job_id)
        return watch

    def _start_warm(self, job_id: str, spec: Path, run_dir: Path, kind: str) -> _Running | None:
        if self._warm is None:
            return None
        command = "predict" if kind == "predict" else "run"  # `python -m training <command>`
        try:
            started = self._warm.start_job(spec, run_dir / JOB_LOG_FILE, command)
        except Exception:  # whatever goes wrong there, the job starts the cold way
            log.exception("job %s: the warm worker failed", job_id)
            return None
        if started is None:
            return None
        log.info("job %s: forked by the warm worker as pid %d", job_id, started.pid)
        return _Running(job_id, started.pid, spec, run_dir, None, started.start_time)

    def _start_cold(self, job_id: str, spec: Path, run_dir: Path, kind: str) -> _Running:
        command = self._predict_command if kind == "predict" else self._command
        with (run_dir / JOB_LOG_FILE).open("ab") as stderr:
            process = subprocess.Popen(
                [*command, str(spec)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # events come from the events file
                stderr=stderr,
                env=child_environment(),
                start_new_session=True,  # its own process group: survives the bot
            )
        limit_memory(self._memory_mb, process.pid)  # before it reads the file; inherited
        stat = process_stat(process.pid)  # our unreaped child: readable even if it ended
        start_time = stat.start_time if stat is not None else None
        return _Running(job_id, process.pid, spec, run_dir, process, start_time)

    # ---- watching ------------------------------------------------------------------------

    def _watch(self, watch: _Running) -> None:
        watch.thread = threading.Thread(
            target=self._follow, args=(watch,), name=f"launcher-watch-{watch.job_id}", daemon=True
        )
        watch.thread.start()

    def _follow(self, watch: _Running) -> None:
        tail = _EventsTail(watch.run_dir / EVENTS_FILE)
        finished: FinishedEvent | None = None
        while not self._stop.is_set():
            exit_code, exited = self._exit_status(watch)
            # Read after checking the exit, so nothing written before it is missed.
            finished = self._report_events(watch, tail) or finished
            if exited:
                # Report first: the next job must not show as running beside this one.
                self._report_ended(watch.job_id, self._ending(watch, finished, exit_code))
                with self._lock:
                    self._running.pop(watch.job_id, None)
                    self._lock.notify_all()  # a slot is free
                return
            if watch.stop_at is not None and time.monotonic() >= watch.stop_at:
                watch.stop_at = None
                if not watch.stopping:
                    log.warning("job %s ran past its time limit; stopping it", watch.job_id)
                    watch.timed_out = True
                    self._terminate(watch, grace_s=self._kill_grace_s)
            if watch.kill_at is not None and time.monotonic() >= watch.kill_at:
                log.warning("job %s ignored SIGTERM; killing it", watch.job_id)
                _signal_group(watch.pid, signal.SIGKILL)
                watch.kill_at = None
            self._stop.wait(self._poll_s)

    def _exit_status(self, watch: _Running) -> tuple[int | None, bool]:
        if watch.process is not None:
            code = watch.process.poll()
            return code, code is not None
        return None, not _process_alive(watch.pid, watch.spec, watch.start_time)

    def _report_events(self, watch: _Running, tail: _EventsTail) -> FinishedEvent | None:
        """Report the newest progress among the new lines; return a finished event if any.

        Only the newest progress matters to a status message, and it keeps a re-attach
        (which re-reads the whole log) from replaying the run. A job whose EDA report follows
        its results is ended at its `finished` event (its results posted at once), given time
        for the report, and its `report` event reported; its exit is reported as usual.
        """
        job_id = watch.job_id
        progress: ProgressEvent | None = None
        finished: FinishedEvent | None = None
        reports: list[ReportEvent] = []
        for event in tail.read_new():
            if isinstance(event, StartedEvent) and watch.stop_at is not None:
                # The budget counts from here, as the job's own clock does.
                self._set_deadline(watch, elapsed_s=(utc_now() - event.at).total_seconds())
            if isinstance(event, ProgressEvent):
                progress = event
            elif isinstance(event, FinishedEvent):
                finished = event
            elif isinstance(event, ReportEvent):
                reports.append(event)
        if progress is not None:
            self._report("job_progress", job_id, progress)
        if finished is not None and finished.report_pending and not watch.results_reported:
            watch.results_reported = True
            if watch.stop_at is not None:  # the job stops its report then itself
                watch.stop_at = time.monotonic() + REPORT_FOLLOW_UP_MAX_S + self._deadline_margin_s
            self._report_ended(job_id, JobEnding(finished=finished, still_running=True))
        for report in reports:
            self._report("job_report", job_id, report)
        return finished

    def _ending(
        self, watch: _Running, finished: FinishedEvent | None, exit_code: int | None
    ) -> JobEnding:
        if finished is not None:
            return JobEnding(finished=finished, exit_code=exit_code)
        if watch.timed_out and watch.budget_s is not None:
            detail = stopped_at_time_limit(watch.budget_s)
        elif not watch.stopping and _disk_full(watch.run_dir):
            detail = DISK_FULL  # it could not even write its result.json
        else:
            detail = process_stopped(
                stopped_by_us=watch.stopping, exit_code=exit_code, memory_mb=self._memory_mb
            )
        return JobEnding(
            exit_code=exit_code, detail=detail, log_tail=_log_tail(watch.run_dir / JOB_LOG_FILE)
        )

    def _set_deadline(self, watch: _Running, *, elapsed_s: float) -> None:
        """When the job gets SIGTERM: at its budget plus a margin, as Batch's attempt timeout."""
        watch.budget_s = _budget_of(watch.spec)
        if watch.budget_s is None:
            return  # an unreadable spec: the job fails on it at once
        margin = max(self._deadline_margin_s, DEADLINE_MARGIN_SHARE * watch.budget_s)
        watch.stop_at = time.monotonic() + watch.budget_s + margin - elapsed_s

    def _terminate(self, watch: _Running, *, grace_s: float) -> None:
        """SIGTERM the job's process group; its watcher sends SIGKILL after `grace_s`."""
        if watch.process is None and not _process_alive(watch.pid, watch.spec, watch.start_time):
            return  # re-attached and gone: the pid may belong to someone else by now
        if watch.process is not None and watch.process.poll() is not None:
            return
        watch.stopping = True
        watch.kill_at = time.monotonic() + grace_s
        _signal_group(watch.pid, signal.SIGTERM)

    # ---- restart recovery ----------------------------------------------------------------

    def _recover(self) -> None:
        for job in self._store.list_by_status("running"):
            try:
                self._recover_running(job)
            except Exception:
                log.exception("could not recover running job %s", job.job_id)
        for job in self._store.list_by_status("queued"):
            spec = self._run_dir(job.job_id) / SPEC_FILE
            if spec.is_file():
                self._enqueue(job, spec)
            else:
                self._report_ended(job.job_id, JobEnding(detail=RESTARTED_BEFORE_STORED))

    def _recover_running(self, job: Job) -> None:
        run_dir = self._run_dir(job.job_id)
        record = _read_record(run_dir / RECORD_FILE)
        if record is not None and _process_alive(*record):
            pid, spec, start_time = record
            watch = _Running(job.job_id, pid, spec, run_dir, None, start_time)
            self._set_deadline(watch, elapsed_s=_seconds_since_start(run_dir / RECORD_FILE))
            with self._lock:
                self._running[job.job_id] = watch
            self._report("job_started", job.job_id)  # harmless if it was reported before
            self._watch(watch)
            return
        finished = None
        for event in _EventsTail(run_dir / EVENTS_FILE).read_new():
            if isinstance(event, FinishedEvent):
                finished = event
        if finished is not None:
            ending = JobEnding(finished=finished)
        else:
            ending = JobEnding(
                detail=RESTARTED_WHILE_RUNNING, log_tail=_log_tail(run_dir / JOB_LOG_FILE)
            )
        self._report_ended(job.job_id, ending)

    # ---- reporting -----------------------------------------------------------------------

    def _report_ended(self, job_id: str, ending: JobEnding) -> None:
        self._report("job_ended", job_id, ending)

    def _report(self, method: str, job_id: str, *args: Any) -> None:
        """Call `events.<method>`; a failing receiver must never stop the launcher."""
        if self._events is None:
            log.error("job %s: %s before start(); not reported", job_id, method)
            return
        try:
            callback: Callable[..., None] = getattr(self._events, method)
            callback(job_id, *args)
        except Exception:
            log.exception("JobEvents.%s failed for job %s", method, job_id)


class _EventsTail:
    """Reads the complete lines appended to an events log since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read_new(self) -> list[AnyEvent]:
        try:
            with self.path.open("rb") as file:
                file.seek(self.offset)
                data = file.read()
        except FileNotFoundError:
            return []  # the job has not written its first event yet
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        self.offset += end
        events: list[AnyEvent] = []
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                events.append(parse_event(line))
            except ValueError:
                log.warning("skipping an unreadable line in %s: %.200r", self.path, line)
        return events


# ---- processes and files ---------------------------------------------------------------------


def _process_alive(pid: int, spec: Path, start_time: int | None = None) -> bool:
    """Whether `pid` is still the job started with `spec` (pids get reused).

    With the job's `start_time` that is what tells: a warm-started job has the warm worker's
    command line. Without it (records of older bots), the command line must name the spec.
    """
    if start_time is not None:
        stat = process_stat(pid)
        return stat is not None and stat.start_time == start_time and stat.state not in "ZX"
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: no way to check the command line
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        cmdline = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    # A zombie (exited, not yet reaped) has an empty command line: dead, as it should be.
    return os.fsencode(str(spec)) in cmdline.split(b"\0")


def _signal_group(pid: int, signum: signal.Signals) -> None:
    # start_new_session made the job a group leader: its group id is its pid. Signalling
    # the group reaches whatever the job started too (report workers, joblib pools).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _read_record(path: Path) -> tuple[int, Path, int | None] | None:
    """(pid, spec, start_time) from launcher.json; start_time is None in older records."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        start_time = record.get("start_time")
        return (
            int(record["pid"]),
            Path(record["spec"]),
            None if start_time is None else int(start_time),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _budget_of(spec: Path) -> int | None:
    try:
        content = spec.read_bytes()
    except OSError:
        return None
    for model in (JobSpec, PredictionSpec):  # a training job's spec, or a prediction's
        try:
            return model.model_validate_json(content).time_budget_s
        except ValueError:
            continue
    return None


def _seconds_since_start(record: Path) -> float:
    """How long ago launcher.json says the job started (0 when it does not say)."""
    try:
        started = datetime.fromisoformat(json.loads(record.read_text("utf-8"))["started_at"])
        return max(0.0, (utc_now() - started).total_seconds())
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def _disk_full(run_dir: Path) -> bool:
    try:
        return shutil.disk_usage(run_dir).free < DISK_FULL_BELOW_BYTES
    except OSError:
        return False


def _log_tail(path: Path, lines: int = LOG_TAIL_LINES, max_bytes: int = 64_000) -> str:
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - max_bytes))
            data = file.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])
