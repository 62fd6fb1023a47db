"""`WarmWorker`: the local launcher's warm worker, a fork server that starts jobs without the
5-7 s of imports a fresh `python -m training run` spends (see training/warm_worker.py).

The launcher starts it (once, as a child of the bot) and asks it to start each job; whenever
it cannot (still importing, gone, refused, no answer) the launcher starts a plain subprocess,
so no job waits on it or is lost. A worker found dead is started again at the next job, once
per failure; after `max_failures` failures in a row with no job started in between it stays
off. The worker's own log is `<data>/warm-worker.log`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from bot.backends.local.child_env import child_environment
from contract.environment import JOB_MEMORY_MB
from training.warm_worker import (
    PARENT_PID_ENV,
    REQUEST_TIMEOUT_S,
    Started,
    WorkerRefused,
    WorkerUnreachable,
    request_start,
)

log = logging.getLogger(__name__)

SOCKET_NAME = "warm-worker.sock"
LOG_NAME = "warm-worker.log"
# AF_UNIX paths hold at most 107 bytes on Linux; the worker binds a slightly longer name first.
MAX_SOCKET_PATH_BYTES = 90
STOP_WAIT_S = 5.0


def warm_start_supported() -> bool:
    return sys.platform.startswith("linux")  # fork() and /proc/<pid>/stat


class WarmWorker:
    """Starts, asks and stops one `python -m training.warm_worker`. Thread-safe.

    Call `start` and `start_job` from a thread that lives as long as the worker should (the
    launcher's dispatcher): the kernel ends the worker when the thread that started it ends.
    """

    def __init__(
        self,
        data_root: Path,
        *,
        command: Sequence[str] = (sys.executable, "-m", "training.warm_worker"),
        timeout_s: float = REQUEST_TIMEOUT_S,
        max_failures: int = 3,
        memory_mb: int = 0,
    ) -> None:
        self._data_root = Path(data_root).absolute()
        self._command = list(command)
        self._timeout_s = timeout_s
        self._max_failures = max_failures
        self._memory_mb = memory_mb  # each job's cap: the worker sets it in the forked child
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: Path | None = None
        self._private_dir: Path | None = None  # where the socket is when data_root is too deep
        self._failures = 0  # in a row, without a job started in between
        self._closed = False
        self.spawned = 0  # processes started so far (for the logs and the tests)

    @property
    def log_path(self) -> Path:
        return self._data_root / LOG_NAME

    @property
    def pid(self) -> int | None:
        """The worker process's pid while it runs."""
        with self._lock:
            return self._process.pid if self._process is not None and self._alive() else None

    def start(self) -> None:
        """Start the worker process, unless it runs already; it is ready some seconds later."""
        with self._lock:
            if self._process is None and not self._closed and self._failures < self._max_failures:
                self._spawn()

    def ready(self) -> bool:
        """Whether the worker runs and listens (it does once it has imported everything)."""
        with self._lock:
            return self._alive() and self._socket is not None and self._socket.exists()

    def start_job(self, spec: Path, log_path: Path, command: str = "run") -> Started | None:
        """Have the worker fork the job of `spec` (`python -m training <command>`: run or
        predict); None when it did not (start it another way)."""
        with self._lock:
            if self._process is None or self._closed:
                return None
            if not self._alive():
                log.warning(
                    "the warm worker ended (exit code %s); see %s",
                    self._process.returncode,
                    self.log_path,
                )
                self._failed()
                return None
            assert self._socket is not None
            if not self._socket.exists():
                return None  # still importing
            try:
                started = request_start(
                    self._socket, spec, log_path, timeout_s=self._timeout_s, command=command
                )
            except WorkerUnreachable as error:
                log.info("the warm worker did not take job %s: %s", spec, error)
                return None
            except WorkerRefused as error:
                log.warning("the warm worker refused %s: %s", spec, error)
                return None
            except (OSError, ValueError):  # asked, but no usable answer: do not trust it again
                log.exception("the warm worker did not answer about %s; restarting it", spec)
                self._stop_process()
                self._failed()
                return None
            self._failures = 0
            return started

    def stop(self) -> None:
        """Stop the worker. The jobs it started run on: they are in sessions of their own."""
        with self._lock:
            self._closed = True
            self._stop_process()
            if self._private_dir is not None:
                shutil.rmtree(self._private_dir, ignore_errors=True)

    # ---- with the lock held ------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _spawn(self) -> None:
        self._socket = self._socket or self._socket_path()
        with contextlib.suppress(FileNotFoundError):
            self._socket.unlink()  # a previous worker's; a client finding it would wait for none
        env = child_environment()  # its forks, the jobs, inherit it
        env[PARENT_PID_ENV] = str(os.getpid())
        env[JOB_MEMORY_MB] = str(self._memory_mb)
        try:
            self._data_root.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as stderr:
                self._process = subprocess.Popen(
                    [*self._command, "--socket", str(self._socket)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    env=env,
                    start_new_session=True,  # Ctrl-C in the bot's terminal is the bot's to handle
                )
        except OSError:
            log.exception("could not start the warm worker; jobs start as plain subprocesses")
            self._process = None
            return
        self.spawned += 1
        log.info("started the warm worker (pid %d) on %s", self._process.pid, self._socket)

    def _failed(self) -> None:
        self._stop_process()
        self._failures += 1
        if self._failures >= self._max_failures:
            log.error(
                "the warm worker failed %d times in a row; jobs start as plain subprocesses "
                "until the bot restarts (see %s)",
                self._failures,
                self.log_path,
            )
            self._process = None
            return
        self._spawn()

    def _stop_process(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()  # the worker removes its socket on SIGTERM
            try:
                process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._socket is not None:
            with contextlib.suppress(FileNotFoundError):
                self._socket.unlink()

    def _socket_path(self) -> Path:
        path = self._data_root / SOCKET_NAME
        if len(os.fsencode(path)) <= MAX_SOCKET_PATH_BYTES:
            return path
        # mkdtemp makes the folder 0700: only this user reaches the socket, as in data_root.
        self._private_dir = Path(tempfile.mkdtemp(prefix="automl-"))
        return self._private_dir / SOCKET_NAME
