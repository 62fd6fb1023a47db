"""The warm worker (training/warm_worker.py): a real fork server forking real training jobs.

One worker serves the whole module: its imports take 5-7 s of CPU, more on a busy machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.builders import make_spec
from tests.training.tables import breast_cancer
from training.__main__ import LOG_PRELOADED_ENV
from training.warm_worker import (
    PARENT_PID_ENV,
    WorkerRefused,
    process_stat,
    request_start,
)

# Starts worker processes that import the training stack: not for the fast loop.
pytestmark = pytest.mark.slow

READY_TIMEOUT_S = 180.0  # the worker's imports on a busy machine
JOB_TIMEOUT_S = 180.0
EVERYTHING_PRELOADED = "preloaded modules: pandas sklearn lightgbm xgboost flaml"


def wait_until(condition: Callable[[], object], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    found = process_stat(pid)
    return found is None or found.state == "Z"


def parent_pid(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rfind(")") + 2 :].split()[1])


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    socket: Path
    log: Path


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    folder = tmp_path_factory.mktemp("warm")
    socket_path, log = folder / "worker.sock", folder / "worker.log"
    env = {**os.environ, LOG_PRELOADED_ENV: "1"}
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "training.warm_worker", "--socket", str(socket_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        wait_until(lambda: socket_path.exists() or process.poll() is not None, READY_TIMEOUT_S)
        assert process.poll() is None, log.read_text()
        yield Worker(process, socket_path, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return breast_cancer(tmp_path_factory.mktemp("table") / "cancer.csv", rows=150)


def job(folder: Path, table: Path, *, target: str = "diagnosis", budget_s: int = 5) -> Path:
    """A run folder holding a spec; returns the spec's path."""
    run = folder / f"run-{len(list(folder.glob('run-*')))}"
    run.mkdir()
    spec = make_spec(job_id=run.name, dataset_uri=str(table), file_name=table.name,
                     target=target, time_budget_s=budget_s, output_uri=str(run))  # fmt: skip
    (run / "spec.json").write_text(spec.model_dump_json())
    return run / "spec.json"


def result(spec: Path) -> dict[str, object]:
    answer: dict[str, object] = json.loads((spec.parent / "result.json").read_text())
    return answer


@pytest.mark.slow
def test_forks_real_jobs_from_one_server(worker: Worker, table: Path, tmp_path: Path) -> None:
    good, bad = job(tmp_path, table), job(tmp_path, table, target="no_such_column")
    first = request_start(worker.socket, good, good.parent / "job.log")
    pids = [first.pid]
    try:
        found = process_stat(first.pid)
        assert found is not None and found.start_time == first.start_time
        # Its own session and process group, as the launcher's SIGTERM/SIGKILL expect.
        assert os.getpgid(first.pid) == first.pid == os.getsid(first.pid)
        assert parent_pid(first.pid) == worker.process.pid

        second = request_start(worker.socket, bad, bad.parent / "job.log")
        pids.append(second.pid)
        assert second.pid not in (first.pid, worker.process.pid)
        wait_until(lambda: gone(first.pid) and gone(second.pid), JOB_TIMEOUT_S)
    finally:
        for pid in pids:
            if not gone(pid):
                os.killpg(pid, signal.SIGKILL)

    assert worker.process.poll() is None  # the same server answered both
    assert result(good)["status"] == "succeeded"
    assert result(bad)["status"] == "failed"
    log = (good.parent / "job.log").read_text()
    # The job began with everything imported: a cold start begins with none of it (below).
    assert log.splitlines()[0] == EVERYTHING_PRELOADED, log
    worker_log = worker.log.read_text()
    assert f"as pid {first.pid}" in worker_log and f"as pid {second.pid}" in worker_log


@pytest.mark.slow
def test_a_cold_job_begins_with_nothing_preloaded(table: Path, tmp_path: Path) -> None:
    spec = job(tmp_path, table, target="no_such_column")  # fails fast, after reading the table
    done = subprocess.run(
        [sys.executable, "-m", "training", "run", str(spec)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, LOG_PRELOADED_ENV: "1"},
        timeout=JOB_TIMEOUT_S,
    )
    assert done.stderr.splitlines()[0] == "preloaded modules: none", done.stderr
    assert result(spec)["status"] == "failed"


def ask_raw(path: Path, payload: bytes | None) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(str(path))
        if payload is not None:
            conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
        return conn.recv(65536)


def test_malformed_requests_do_not_stop_the_worker(worker: Worker, tmp_path: Path) -> None:
    assert stat.S_IMODE(worker.socket.stat().st_mode) == 0o600
    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    bad = [
        None,  # connects and sends nothing
        b"",
        b"not json\n",
        b"[1, 2]\n",
        b'{"spec": 1, "log": 2}\n',
        json.dumps({"spec": "spec.json", "log": str(tmp_path / "job.log")}).encode() + b"\n",
        json.dumps({"spec": str(tmp_path), "log": str(tmp_path / "job.log")}).encode() + b"\n",
        json.dumps({"spec": str(spec), "log": str(tmp_path / "no" / "job.log")}).encode() + b"\n",
        json.dumps({"spec": str(spec) + "\0", "log": str(tmp_path / "job.log")}).encode() + b"\n",
        b"x" * 100_000 + b"\n",
    ]
    for payload in bad:
        reply = ask_raw(worker.socket, payload)
        assert "error" in json.loads(reply), (payload, reply)
    with pytest.raises(WorkerRefused, match="is not a file"):
        request_start(worker.socket, tmp_path / "missing.json", tmp_path / "job.log")
    assert worker.process.poll() is None
    assert not (tmp_path / "job.log").exists()  # nothing was forked


INTERMEDIATE = """
import os, subprocess, sys, time

env = {**os.environ, sys.argv[2]: str(os.getpid())}
worker = subprocess.Popen(
    [sys.executable, "-m", "training.warm_worker", "--socket", sys.argv[1]], env=env,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
print(worker.pid, flush=True)
time.sleep(float(sys.argv[3]))
"""


@pytest.mark.parametrize("parent_lives_s", [0.0, 2.0])
def test_the_worker_ends_with_the_process_that_started_it(
    tmp_path: Path, parent_lives_s: float
) -> None:
    # 0 s: the parent may be gone before the worker's prctl (its ppid check catches that);
    # 2 s: the kernel's PR_SET_PDEATHSIG does, in the middle of the imports.
    done = subprocess.run(
        [sys.executable, "-c", INTERMEDIATE, str(tmp_path / "w.sock"), PARENT_PID_ENV,
         str(parent_lives_s)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    pid = int(done.stdout)
    try:
        wait_until(lambda: gone(pid), 60)
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)
    assert not (tmp_path / "w.sock").exists()
