"""The local launcher: queue, concurrency, cancel, crashes and restart recovery.

Most tests run a small fake training job (`FAKE_JOB`) that the test steers through files in
the run folder, so nothing depends on timing: the test waits for what it expects to happen,
with a generous timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.backends.local.job_store import SqliteJobStore
from bot.backends.local.launcher import LocalLauncher, _EventsTail, _process_alive
from bot.backends.local.warm_start import WarmWorker
from bot.jobs import Job
from bot.messages.failure import RESTARTED_BEFORE_STORED, RESTARTED_WHILE_RUNNING
from bot.ports import JobEnding, JobEvents, Launcher
from contract.jobs import FinishedEvent, ProgressEvent, ReportEvent, StartedEvent
from tests.builders import make_job, spec_for
from tests.training import tables
from training.__main__ import LOG_PRELOADED_ENV
from training.warm_worker import process_stat

# The fake job: writes `started` and one `progress` event, then waits for `<run>/go`:
#   "succeed" -> result.json + finished(succeeded); "crash" -> stderr and exit 7 with no event;
#   "segfault" -> ends by SIGSEGV; "progress" -> one more progress event, then wait again.
# SIGTERM -> finished(interrupted), exit 3, unless `<run>/ignore-term` exists.
# With `<run>/with-child`, it first starts a child that records the SIGTERM it gets.
FAKE_JOB = """
import os, signal, subprocess, sys, time
from pathlib import Path
from contract.jobs import FinishedEvent, JobResult, JobSpec, ProgressEvent, StartedEvent

spec = JobSpec.model_validate_json(Path(sys.argv[1]).read_bytes())
run = Path(spec.output_uri)
events = (run / "events.jsonl").open("a", buffering=1)
trials = 0

def emit(event):
    events.write(event.model_dump_json() + "\\n")

def finish(status, code):
    (run / "result.json").write_text(JobResult(job_id=spec.job_id, status=status).model_dump_json())
    emit(FinishedEvent(job_id=spec.job_id, status=status, result_path=str(run / "result.json")))
    sys.exit(code)

def progress():
    global trials
    trials += 1
    emit(ProgressEvent(job_id=spec.job_id, stage="search", elapsed_s=trials, budget_s=60,
                       trials=trials, best_estimator="lgbm", best_score=0.5, metric="roc_auc"))

def on_term(signum, frame):
    (run / "sigterm").write_text("")
    finish("interrupted", 3)

child = None
if (run / "with-child").exists():
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(run)])
signal.signal(signal.SIGTERM, signal.SIG_IGN if (run / "ignore-term").exists() else on_term)
emit(StartedEvent(job_id=spec.job_id, time_budget_s=60, file_name=spec.file_name))
progress()
print("fake job running", file=sys.stderr, flush=True)
while True:
    go = run / "go"
    if go.exists():
        order = go.read_text()
        go.unlink()
        if order == "succeed":
            finish("succeeded", 0)
        if order == "crash":
            print("Traceback (most recent call last):\\nMemoryError: boom", file=sys.stderr)
            sys.exit(7)
        if order == "segfault":  # what a failed allocation in C code under a memory cap does
            os.kill(os.getpid(), signal.SIGSEGV)
        if order == "progress":
            progress()
    time.sleep(0.02)
"""
CHILD = """
import signal, sys, time
from pathlib import Path
run = Path(sys.argv[1])
def on_term(signum, frame):
    (run / "child-sigterm").write_text("")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
(run / "child-ready").write_text("")
while True:
    time.sleep(0.05)
"""

TIMEOUT_S = 30.0


def wait_until(condition: Callable[[], object], timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        time.sleep(0.02)


class Recorder:
    """A `JobEvents` that remembers every call."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail  # raise from every callback, after recording it
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.progress: list[tuple[str, ProgressEvent]] = []
        self.ended: dict[str, JobEnding] = {}
        self.reports: list[tuple[str, ReportEvent]] = []

    def job_started(self, job_id: str) -> None:
        with self.lock:
            self.started.append(job_id)
        self._maybe_fail()

    def job_progress(self, job_id: str, event: ProgressEvent) -> None:
        with self.lock:
            self.progress.append((job_id, event))
        self._maybe_fail()

    def job_ended(self, job_id: str, ending: JobEnding) -> None:
        with self.lock:
            self.ended[job_id] = ending
        self._maybe_fail()

    def job_report(self, job_id: str, event: ReportEvent) -> None:
        with self.lock:
            self.reports.append((job_id, event))
        self._maybe_fail()

    def exited(self, job_id: str) -> bool:
        """Whether the job's exit was reported (not only its results, its report to follow)."""
        with self.lock:
            ending = self.ended.get(job_id)
            return ending is not None and not ending.still_running

    def trials(self, job_id: str) -> list[int]:
        with self.lock:
            return [event.trials for jid, event in self.progress if jid == job_id]

    def _maybe_fail(self) -> None:
        if self.fail:
            raise RuntimeError("the receiver broke")


class World:
    """A store, a data folder and the launchers made on them; cleans up every process."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.data_root = tmp_path / "data"
        self.store = SqliteJobStore(tmp_path / "jobs.sqlite3")
        self.script = tmp_path / "fake_job.py"
        self.script.write_text(f"CHILD = {CHILD!r}\n{FAKE_JOB}")
        self.launchers: list[LocalLauncher] = []

    def launcher(
        self, events: JobEvents, *, max_concurrent: int = 1, **options: object
    ) -> LocalLauncher:
        values: dict[str, object] = {"command": [sys.executable, str(self.script)], "poll_s": 0.05}
        values.update(options)
        launcher = LocalLauncher(
            self.store,
            self.data_root,
            max_concurrent=max_concurrent,
            **values,  # type: ignore[arg-type]
        )
        launcher.start(events)
        self.launchers.append(launcher)
        return launcher

    def run_dir(self, job_id: str) -> Path:
        return self.data_root / "runs" / job_id

    def job(self, *files: str, spec: bool = True, log: str = "") -> tuple[Job, str]:
        """A queued job in the store; its run folder holds its spec, empty `files` and `log`."""
        job = make_job(file_name="data.csv", target="label")
        self.store.create(job)
        run = self.run_dir(job.job_id)
        run.mkdir(parents=True)
        for name in files:
            (run / name).write_text("")
        if log:
            (run / "job.log").write_text(log)
        spec_path = run / "spec.json"
        if spec:
            written = spec_for(
                job, dataset_uri=str(self.tmp_path / "data.csv"), output_uri=str(run)
            )
            spec_path.write_text(written.model_dump_json())
        return job, str(spec_path)

    def go(self, job_id: str, order: str) -> None:
        run = self.run_dir(job_id)
        wait_until(lambda: not (run / "go").exists())  # the previous order was taken
        (run / "go").write_text(order)

    def status(self, job_id: str) -> str:
        job = self.store.get(job_id)
        assert job is not None
        return job.status

    def close(self) -> None:
        for launcher in self.launchers:
            launcher.close()
        for record in self.data_root.glob("runs/*/launcher.json"):
            values = json.loads(record.read_text())
            pid, spec = values["pid"], Path(values["spec"])
            if _process_alive(pid, spec, values.get("start_time")):
                os.killpg(pid, signal.SIGKILL)
        self.store.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


def test_a_job_it_never_saw_is_nothing_to_do(world: World) -> None:
    launcher: Launcher = world.launcher(Recorder())
    job, _ = world.job()

    launcher.cancel(job)  # neither queued nor running here: nothing to stop, nothing raised

    assert launcher.queue_position(job.job_id) is None
    assert world.status(job.job_id) == "queued"  # the launcher moves no job on its own


def test_runs_a_job_and_reports_it(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events)
    job, spec = world.job()
    launcher.submit(job, spec)
    wait_until(lambda: events.trials(job.job_id) == [1])
    assert events.started == [job.job_id]
    assert world.status(job.job_id) == "running"
    record = json.loads((world.run_dir(job.job_id) / "launcher.json").read_text())
    assert record["spec"] == str(Path(spec).absolute())

    world.go(job.job_id, "progress")
    wait_until(lambda: events.trials(job.job_id) == [1, 2])
    world.go(job.job_id, "succeed")
    wait_until(lambda: job.job_id in events.ended)
    ending = events.ended[job.job_id]
    assert ending.finished is not None and ending.finished.status == "succeeded"
    assert ending.exit_code == 0
    assert ending.detail == "" and ending.log_tail == ""
    # The launcher never ends a job itself: whoever receives job_ended has the lifecycle do it.
    assert world.status(job.job_id) == "running"
    assert "fake job running" in (world.run_dir(job.job_id) / "job.log").read_text()


def test_concurrency_limit_and_queue_order(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events, max_concurrent=2)
    jobs = [world.job() for _ in range(4)]
    for job, spec in jobs:
        launcher.submit(job, spec)
    ids = [job.job_id for job, _ in jobs]
    wait_until(lambda: len(events.trials(ids[0])) == 1 and len(events.trials(ids[1])) == 1)
    assert events.started == ids[:2]
    assert [launcher.queue_position(i) for i in ids] == [None, None, 1, 2]
    assert [world.status(i) for i in ids] == ["running", "running", "queued", "queued"]

    world.go(ids[1], "succeed")
    wait_until(lambda: events.started == ids[:3])
    assert [launcher.queue_position(i) for i in ids] == [None, None, None, 1]
    world.go(ids[0], "succeed")
    wait_until(lambda: events.started == ids)
    assert launcher.queue_position(ids[3]) is None
    assert launcher.queue_position("unknown") is None


def test_repeated_submit_runs_once(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events)
    first, first_spec = world.job()
    second, second_spec = world.job()
    for _ in range(2):
        launcher.submit(first, first_spec)
        launcher.submit(second, second_spec)
    wait_until(lambda: events.started == [first.job_id])
    assert launcher.queue_position(second.job_id) == 1
    world.go(first.job_id, "succeed")
    wait_until(lambda: events.started == [first.job_id, second.job_id])
    assert launcher.queue_position(second.job_id) is None


def test_cancel_a_queued_job(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events)
    (running, s0), (cancelled, s1), (dropped, s2), (last, s3) = (world.job() for _ in range(4))
    for job, spec in [(running, s0), (cancelled, s1), (dropped, s2), (last, s3)]:
        launcher.submit(job, spec)
    wait_until(lambda: events.started == [running.job_id])

    assert world.store.transition(cancelled.job_id, "cancelled")
    launcher.cancel(cancelled)
    assert launcher.queue_position(cancelled.job_id) is None
    assert launcher.queue_position(dropped.job_id) == 1
    # Cancelled in the store only (the launcher not told): the start is skipped all the same.
    assert world.store.transition(dropped.job_id, "cancelled")

    world.go(running.job_id, "succeed")
    wait_until(lambda: events.started == [running.job_id, last.job_id])
    assert world.status(cancelled.job_id) == world.status(dropped.job_id) == "cancelled"
    assert not (world.run_dir(cancelled.job_id) / "job.log").exists()


def test_cancel_a_running_job_stops_its_process_group(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events)
    job, spec = world.job("with-child")
    launcher.submit(job, spec)
    run = world.run_dir(job.job_id)
    wait_until(lambda: (run / "child-ready").exists() and events.trials(job.job_id))

    assert world.store.transition(job.job_id, "cancelled")
    launcher.cancel(job)
    wait_until(lambda: job.job_id in events.ended)
    ending = events.ended[job.job_id]
    assert ending.finished is not None and ending.finished.status == "interrupted"
    assert ending.exit_code == 3
    assert (run / "sigterm").exists()
    wait_until((run / "child-sigterm").exists)  # the whole group got SIGTERM


def test_cancel_kills_a_job_that_ignores_sigterm(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events, kill_grace_s=0.2)
    job, spec = world.job("ignore-term")
    launcher.submit(job, spec)
    wait_until(lambda: events.trials(job.job_id))

    assert world.store.transition(job.job_id, "cancelled")
    launcher.cancel(job)
    wait_until(lambda: job.job_id in events.ended)
    ending = events.ended[job.job_id]
    assert ending.finished is None
    assert ending.exit_code == -signal.SIGKILL
    assert "stopped" in ending.detail
    assert "fake job running" in ending.log_tail


def test_a_crash_is_reported_with_the_log_tail(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events)
    job, spec = world.job()
    launcher.submit(job, spec)
    world.go(job.job_id, "crash")
    wait_until(lambda: job.job_id in events.ended)
    ending = events.ended[job.job_id]
    assert ending.finished is None
    assert ending.exit_code == 7
    assert "(exit code 7)" in ending.detail
    assert ending.log_tail.endswith("MemoryError: boom")


def test_a_job_ended_by_a_signal_under_a_memory_cap_is_told_it_ran_out(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events, memory_mb=4096)
    job, spec = world.job()
    launcher.submit(job, spec)
    world.go(job.job_id, "segfault")
    wait_until(lambda: job.job_id in events.ended)
    ending = events.ended[job.job_id]
    assert ending.exit_code == -signal.SIGSEGV
    assert "SIGSEGV" in ending.detail and "4,096 MB" in ending.detail
    assert "AUTOML_JOB_MEMORY_MB" in ending.detail


def test_a_command_that_cannot_start_is_reported(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events, command=[str(world.tmp_path / "no-such-program")])
    job, spec = world.job()
    launcher.submit(job, spec)
    wait_until(lambda: job.job_id in events.ended)
    assert events.ended[job.job_id].detail.startswith("The training process could not be started")
    assert events.started == []


def test_a_failing_receiver_does_not_stop_the_launcher(world: World) -> None:
    events = Recorder(fail=True)
    launcher = world.launcher(events)
    first, first_spec = world.job()
    second, second_spec = world.job()
    launcher.submit(first, first_spec)
    launcher.submit(second, second_spec)
    wait_until(lambda: events.trials(first.job_id))
    world.go(first.job_id, "succeed")
    wait_until(lambda: first.job_id in events.ended and events.trials(second.job_id))
    world.go(second.job_id, "succeed")
    wait_until(lambda: second.job_id in events.ended)
    # Every report raised, and still each job was started, watched and ended in turn.
    assert events.started == [first.job_id, second.job_id]
    for job in (first, second):
        ending = events.ended[job.job_id]
        assert ending.finished is not None and ending.finished.status == "succeeded"


def test_terminate_all_interrupts_running_jobs_and_starts_no_more(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events, max_concurrent=2)
    jobs = [world.job() for _ in range(3)]
    for job, spec in jobs:
        launcher.submit(job, spec)
    ids = [job.job_id for job, _ in jobs]
    wait_until(lambda: all(events.trials(i) for i in ids[:2]))

    launcher.terminate_all(wait_s=10)
    for job_id in ids[:2]:
        ending = events.ended[job_id]
        assert ending.finished is not None and ending.finished.status == "interrupted"
    assert events.started == ids[:2]
    assert world.status(ids[2]) == "queued"  # for the next start


# ---- restart recovery ------------------------------------------------------------------------


def test_a_restarted_launcher_reattaches_to_a_running_job(world: World) -> None:
    before = Recorder()
    first = world.launcher(before)
    job, spec = world.job()
    first.submit(job, spec)
    wait_until(lambda: before.trials(job.job_id) == [1])
    world.go(job.job_id, "progress")
    wait_until(lambda: before.trials(job.job_id) == [1, 2])
    first.close()

    after = Recorder()
    second = world.launcher(after)
    wait_until(lambda: after.trials(job.job_id))
    assert after.trials(job.job_id) == [2]  # only the newest progress on re-attach
    assert after.started == [job.job_id]
    world.go(job.job_id, "progress")
    wait_until(lambda: after.trials(job.job_id) == [2, 3])

    # It counts against the limit like any running job.
    queued, queued_spec = world.job()
    second.submit(queued, queued_spec)
    assert second.queue_position(queued.job_id) == 1

    world.go(job.job_id, "succeed")
    wait_until(lambda: job.job_id in after.ended)
    ending = after.ended[job.job_id]
    assert ending.finished is not None and ending.finished.status == "succeeded"
    assert job.job_id not in before.ended
    wait_until(lambda: queued.job_id in after.started)


def test_a_restarted_launcher_can_cancel_a_reattached_job(world: World) -> None:
    first = world.launcher(Recorder())
    job, spec = world.job()
    first.submit(job, spec)
    wait_until((world.run_dir(job.job_id) / "events.jsonl").exists)
    first.close()

    after = Recorder()
    second = world.launcher(after)
    assert world.store.transition(job.job_id, "cancelled")
    second.cancel(job)
    wait_until(lambda: job.job_id in after.ended)
    ending = after.ended[job.job_id]
    assert ending.finished is not None and ending.finished.status == "interrupted"
    assert ending.exit_code is None  # not our child: its exit code is unknown


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_recovery_reports_a_dead_job_with_its_finished_event(world: World) -> None:
    job, spec = world.job()
    assert world.store.transition(job.job_id, "running")
    run = world.run_dir(job.job_id)
    finished = FinishedEvent(job_id=job.job_id, status="failed", result_path=str(run / "r.json"))
    (run / "events.jsonl").write_text(
        StartedEvent(job_id=job.job_id, time_budget_s=60, file_name="data.csv").model_dump_json()
        + "\n"
        + finished.model_dump_json()
        + "\n"
    )
    (run / "launcher.json").write_text(json.dumps({"pid": dead_pid(), "spec": spec}))

    events = Recorder()
    world.launcher(events)
    assert events.ended[job.job_id] == JobEnding(finished=finished)
    assert events.started == []


def test_recovery_reports_a_dead_job_without_finished_event(world: World) -> None:
    job, spec = world.job(log="line\n" * 30 + "Killed\n")
    assert world.store.transition(job.job_id, "running")
    # A live pid that is not the job (pid reuse): this test's own process.
    record = {"pid": os.getpid(), "spec": spec}
    (world.run_dir(job.job_id) / "launcher.json").write_text(json.dumps(record))
    never_recorded, _ = world.job()  # the bot died between `running` and the spawn
    assert world.store.transition(never_recorded.job_id, "running")

    events = Recorder()
    world.launcher(events)
    ending = events.ended[job.job_id]
    assert ending.finished is None
    assert ending.detail == RESTARTED_WHILE_RUNNING
    assert ending.log_tail.splitlines() == ["line"] * 19 + ["Killed"]
    assert events.ended[never_recorded.job_id].detail == RESTARTED_WHILE_RUNNING


def test_recovery_requeues_queued_jobs_with_a_spec(world: World) -> None:
    waiting = [world.job() for _ in range(2)]
    no_spec, _ = world.job(spec=False)

    events = Recorder()
    launcher = world.launcher(events)
    assert events.ended == {no_spec.job_id: JobEnding(detail=RESTARTED_BEFORE_STORED)}
    first, second = (job.job_id for job, _ in waiting)
    wait_until(lambda: events.started == [first])
    assert launcher.queue_position(second) == 1
    world.go(first, "succeed")
    wait_until(lambda: events.started == [first, second])


def test_events_tail_reads_complete_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = _EventsTail(path)
    assert tail.read_new() == []  # no file yet
    progress = ProgressEvent(job_id="j", stage="search", elapsed_s=1, budget_s=5).model_dump_json()
    half = len(progress) // 2
    path.write_text("not json\n" + progress[:half])
    assert tail.read_new() == []
    with path.open("a") as file:
        file.write(progress[half:] + "\n")
    assert [event.type for event in tail.read_new()] == ["progress"]
    assert tail.read_new() == []


# ---- the real training job ---------------------------------------------------------------------


@pytest.mark.slow
def test_runs_the_real_training_job(tmp_path: Path) -> None:
    data = tables.breast_cancer(tmp_path / "cancer.csv", rows=200)
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    job = make_job(file_name=data.name, target="diagnosis", time_budget_s=5)
    store.create(job)
    run = tmp_path / "data" / "runs" / job.job_id
    run.mkdir(parents=True)
    spec = spec_for(job, dataset_uri=str(data), output_uri=str(run))
    (run / "spec.json").write_text(spec.model_dump_json())

    events = Recorder()
    launcher = LocalLauncher(store, tmp_path / "data", max_concurrent=1, poll_s=0.1)
    launcher.start(events)
    try:
        launcher.submit(job, str(run / "spec.json"))
        wait_until(lambda: events.exited(job.job_id), timeout_s=300)
    finally:
        launcher.terminate_all(wait_s=10)
        store.close()
    ending = events.ended[job.job_id]
    if ending.finished is not None and ending.finished.report_pending:  # its report followed
        assert [jid for jid, _ in events.reports] == [job.job_id]
    assert events.started == [job.job_id]
    assert events.trials(job.job_id), "no progress was reported"
    assert ending.finished is not None and ending.finished.status == "succeeded", ending
    assert ending.exit_code == 0
    assert (run / "result.json").exists()


# ---- telling the job from a process that reuses its pid ----------------------------------------


def start_time_of(pid: int) -> int:
    found = process_stat(pid)
    assert found is not None, f"no process {pid}"
    return found.start_time


def gone(pid: int) -> bool:
    found = process_stat(pid)
    return found is None or found.state == "Z"


def parent_pid(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rfind(")") + 2 :].split()[1])


def test_the_start_time_tells_the_job_from_a_zombie_or_a_newcomer(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        started = start_time_of(process.pid)
        assert _process_alive(process.pid, spec, started)  # the command line does not matter
        assert not _process_alive(process.pid, spec, started + 1)
        assert process.stdin is not None
        process.stdin.close()
        wait_until(lambda: gone(process.pid))  # ended, not reaped yet: a zombie
        assert not _process_alive(process.pid, spec, started)
    finally:
        process.kill()
        process.wait()


def test_recovery_takes_a_pid_with_another_start_time_for_a_dead_job(world: World) -> None:
    job, spec = world.job(log="Killed\n")
    assert world.store.transition(job.job_id, "running")
    # A live process whose command line names the spec, as the job's did: only the start time
    # says it is not the job.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", spec])
    try:
        # Until the child has exec'd, /proc shows the parent's command line.
        deadline = time.monotonic() + 10
        while not _process_alive(other.pid, Path(spec)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _process_alive(other.pid, Path(spec))
        record = {"pid": other.pid, "spec": spec, "start_time": start_time_of(other.pid) - 1}
        (world.run_dir(job.job_id) / "launcher.json").write_text(json.dumps(record))

        events = Recorder()
        world.launcher(events)
        ending = events.ended[job.job_id]
        assert ending.finished is None
        assert ending.detail == RESTARTED_WHILE_RUNNING
        assert ending.log_tail == "Killed"
        assert events.started == []
        assert other.poll() is None  # not signalled: it is someone else's
    finally:
        other.kill()
        other.wait()


def test_recovery_reattaches_by_start_time_whatever_the_command_line(world: World) -> None:
    job, spec = world.job()
    assert world.store.transition(job.job_id, "running")
    # Like a warm-started job, whose command line is the warm worker's: it does not name the spec.
    copy = world.tmp_path / "copy-of-spec.json"
    copy.write_text(Path(spec).read_text())
    process = subprocess.Popen([sys.executable, str(world.script), str(copy)])
    try:
        run = world.run_dir(job.job_id)
        wait_until((run / "events.jsonl").exists)
        record = {"pid": process.pid, "spec": spec, "start_time": start_time_of(process.pid)}
        (run / "launcher.json").write_text(json.dumps(record))

        events = Recorder()
        world.launcher(events)
        wait_until(lambda: events.trials(job.job_id) == [1])
        assert events.started == [job.job_id]
        world.go(job.job_id, "succeed")
        wait_until(lambda: job.job_id in events.ended)  # it stays a zombie: our child, unreaped
        ending = events.ended[job.job_id]
        assert ending.finished is not None and ending.finished.status == "succeeded"
        assert ending.exit_code is None  # not the launcher's child
    finally:
        process.kill()
        process.wait()


def test_recovery_understands_a_record_without_start_time(world: World) -> None:
    first = world.launcher(Recorder())
    job, spec = world.job()
    first.submit(job, spec)
    run = world.run_dir(job.job_id)
    wait_until((run / "events.jsonl").exists)
    first.close()
    record = json.loads((run / "launcher.json").read_text())
    assert record["start_time"] == start_time_of(record["pid"])
    assert record["warm"] is False
    # What bots before the warm worker wrote.
    old = {key: record[key] for key in ("pid", "spec", "started_at")}
    (run / "launcher.json").write_text(json.dumps(old))

    after = Recorder()
    world.launcher(after)
    wait_until(lambda: after.trials(job.job_id) == [1])
    assert after.started == [job.job_id]
    world.go(job.job_id, "succeed")
    wait_until(lambda: job.job_id in after.ended)
    ending = after.ended[job.job_id]
    assert ending.finished is not None and ending.finished.status == "succeeded"


# ---- the warm worker ---------------------------------------------------------------------------

# Stand-ins for `python -m training.warm_worker --socket PATH` that fail in the two ways that
# matter to the launcher: it never listens (still importing), or it dies at once.
NEVER_LISTENS = "import time; time.sleep(300)"
DIES_AT_ONCE = """
import os, sys
with open(sys.argv[1], "a") as spawns:
    spawns.write(f"{os.getpid()}\\n")
sys.exit(5)
"""


def test_falls_back_to_a_subprocess_while_the_worker_does_not_listen(world: World) -> None:
    warm = WarmWorker(world.data_root, command=[sys.executable, "-c", NEVER_LISTENS])
    events = Recorder()
    launcher = world.launcher(events, warm_worker=warm)
    job, spec = world.job()
    launcher.submit(job, spec)
    wait_until(lambda: events.trials(job.job_id) == [1])
    record = json.loads((world.run_dir(job.job_id) / "launcher.json").read_text())
    assert record["warm"] is False
    assert parent_pid(record["pid"]) == os.getpid()  # the launcher's own child

    world.go(job.job_id, "succeed")
    wait_until(lambda: job.job_id in events.ended)
    ending = events.ended[job.job_id]
    assert ending.finished is not None and ending.finished.status == "succeeded"
    assert ending.exit_code == 0
    worker_pid = warm.pid
    assert worker_pid is not None and warm.spawned == 1  # alive: not started again
    launcher.close()
    assert warm.pid is None and gone(worker_pid)


def test_a_dead_worker_is_started_again_once_per_failure(world: World) -> None:
    spawns = world.tmp_path / "spawns"
    warm = WarmWorker(
        world.data_root, command=[sys.executable, "-c", DIES_AT_ONCE, str(spawns)], max_failures=3
    )
    events = Recorder()
    launcher = world.launcher(events, warm_worker=warm)

    def pids() -> list[int]:
        return [int(pid) for pid in spawns.read_text().split()] if spawns.exists() else []

    def workers_after_it_died(count: int) -> bool:
        return len(pids()) >= count and all(gone(pid) for pid in pids())

    def run_a_job() -> JobEnding:
        job, spec = world.job()
        launcher.submit(job, spec)
        world.go(job.job_id, "succeed")
        wait_until(lambda: job.job_id in events.ended)
        return events.ended[job.job_id]

    # Each job finds the last worker dead, starts it again and runs as a subprocess; after three
    # failures in a row the launcher stops trying.
    for spawned_before in (1, 2, 3, 3, 3):
        wait_until(lambda: workers_after_it_died(spawned_before))  # noqa: B023 (waited here)
        assert len(pids()) == spawned_before
        assert run_a_job().exit_code == 0
    assert warm.spawned == 3


@pytest.mark.slow
def test_a_warm_started_job_is_watched_and_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOG_PRELOADED_ENV, "1")  # the worker's environment, so the job's too
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-for-jobs")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-jobs")
    monkeypatch.setenv("SOME_API_TOKEN", "not-for-jobs")
    data = tables.breast_cancer(tmp_path / "cancer.csv", rows=200)
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    job = make_job(file_name=data.name, target="diagnosis", time_budget_s=60)
    run = tmp_path / "data" / "runs" / job.job_id
    run.mkdir(parents=True)
    spec = spec_for(job, dataset_uri=str(data), output_uri=str(run))
    (run / "spec.json").write_text(spec.model_dump_json())

    def searching() -> bool:
        with events.lock:
            return any(e.stage == "search" and e.trials >= 1 for _, e in events.progress)

    events = Recorder()
    warm = WarmWorker(tmp_path / "data", memory_mb=6000)
    launcher = LocalLauncher(store, tmp_path / "data", max_concurrent=1, poll_s=0.1,
                             kill_grace_s=60, warm_worker=warm)  # fmt: skip
    launcher.start(events)
    worker_pid = None
    try:
        wait_until(warm.ready, timeout_s=180)
        worker_pid = warm.pid
        store.create(job)  # only now: start() would have started a queued job at once, cold
        launcher.submit(job, str(run / "spec.json"))
        wait_until(searching, timeout_s=120)
        record = json.loads((run / "launcher.json").read_text())
        assert record["warm"] is True
        assert record["start_time"] == start_time_of(record["pid"])
        assert parent_pid(record["pid"]) == worker_pid  # forked by the worker, not our child
        environ = Path(f"/proc/{record['pid']}/environ").read_bytes().split(b"\0")
        assert b"AUTOML_LOG_PRELOADED=1" in environ
        assert not [name for name in environ if name.startswith(b"SLACK_")]
        assert not [name for name in environ if b"not-for-jobs" in name]
        # The cap is set in the forked job, not in the worker, which forks every job.
        cap = f"Max data size             {6000 * 1024 * 1024}"
        assert cap in Path(f"/proc/{record['pid']}/limits").read_text()
        assert cap not in Path(f"/proc/{worker_pid}/limits").read_text()

        assert store.transition(job.job_id, "cancelled")
        launcher.cancel(job)
        wait_until(lambda: job.job_id in events.ended, timeout_s=120)
    finally:
        launcher.terminate_all(wait_s=10)
        store.close()
    ending = events.ended[job.job_id]
    assert ending.finished is not None and ending.finished.status == "interrupted", ending
    assert ending.exit_code is None  # the launcher cannot know it
    assert json.loads((run / "result.json").read_text())["status"] == "interrupted"
    log = (run / "job.log").read_text()
    assert "preloaded modules: pandas sklearn lightgbm xgboost flaml" in log.splitlines()[0]
    assert worker_pid is not None and gone(worker_pid)  # terminate_all stopped the worker
    assert not (tmp_path / "data" / "warm-worker.sock").exists()


# ---- the budget, the environment and the memory cap --------------------------------------


def short_budget(world: World, *files: str, budget_s: int = 5) -> tuple[Job, str]:
    """A job whose spec gives it `budget_s`; the fake job never looks at its deadline."""
    job, spec = world.job(*files)
    values = json.loads(Path(spec).read_text())
    values["time_budget_s"] = budget_s
    Path(spec).write_text(json.dumps(values))
    return job, spec


def test_a_job_past_its_budget_is_stopped_and_keeps_its_results(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events, deadline_margin_s=0.5, kill_grace_s=5)
    job, spec = short_budget(world)
    started = time.monotonic()
    launcher.submit(job, spec)
    wait_until(lambda: job.job_id in events.ended)
    took = time.monotonic() - started
    ending = events.ended[job.job_id]
    # SIGTERM at 5 s + 0.5 s: the job handles it and ends with what it found.
    assert ending.finished is not None and ending.finished.status == "interrupted"
    assert (world.run_dir(job.job_id) / "sigterm").exists()
    assert 5.4 < took < 9, took


def test_a_job_stuck_past_its_budget_is_killed_with_a_sentence(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events, deadline_margin_s=0.5, kill_grace_s=0.5)
    job, spec = short_budget(world, "ignore-term")  # as a job stuck in a C call would
    started = time.monotonic()
    launcher.submit(job, spec)
    wait_until(lambda: job.job_id in events.ended)
    took = time.monotonic() - started
    ending = events.ended[job.job_id]
    assert ending.finished is None and ending.exit_code == -signal.SIGKILL
    assert "stopped at its time limit" in ending.detail and "(5 s)" in ending.detail
    assert 5.9 < took < 10, took


def test_the_margin_is_a_tenth_of_the_budget_at_least_the_minimum(world: World) -> None:
    events = Recorder()
    launcher = world.launcher(events, deadline_margin_s=30)
    job, spec = short_budget(world, budget_s=600)
    launcher.submit(job, spec)
    wait_until(lambda: job.job_id in launcher._running)
    watch = launcher._running[job.job_id]
    assert watch.stop_at is not None  # until the job says it started: a minute more
    assert 600 + 60 + 60 - 2 < watch.stop_at - time.monotonic() <= 600 + 60 + 60
    wait_until(lambda: events.trials(job.job_id))  # its started event came before
    assert 658 < watch.stop_at - time.monotonic() <= 660  # 600 s + max(30 s, 60 s)


def test_a_job_sees_no_secrets_and_runs_under_the_memory_cap(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GITHUB_TOKEN", "DB_PASSWORD",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AUTOML_MODEL_KEY"):  # fmt: skip
        monkeypatch.setenv(name, "not-for-jobs")
    monkeypatch.setenv("AUTOML_KEEP_ME", "1")
    events = Recorder()
    launcher = world.launcher(events, memory_mb=3000)
    job, spec = world.job()
    launcher.submit(job, spec)
    wait_until(lambda: events.trials(job.job_id))
    pid = json.loads((world.run_dir(job.job_id) / "launcher.json").read_text())["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"not-for-jobs" not in environ
    assert b"AUTOML_KEEP_ME=1" in environ
    limits = Path(f"/proc/{pid}/limits").read_text()
    assert f"Max data size             {3000 * 1024 * 1024}" in limits
    world.go(job.job_id, "succeed")
    wait_until(lambda: job.job_id in events.ended)
