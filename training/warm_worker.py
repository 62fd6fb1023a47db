"""A fork server for training jobs: the heavy imports once, then one fork per job.

    python -m training.warm_worker --socket PATH

`python -m training run SPEC` spends 5-7 s of a small job's budget importing pandas,
scikit-learn, LightGBM, XGBoost, FLAML and plotly. This process imports them once (`PRELOAD`),
then listens on a Unix socket at PATH (mode 0600; it appears only once the worker accepts).

A request is one JSON line, `{"spec": "<abs path of spec.json>", "log": "<abs path>"}`, with
`"command": "predict"` for a prediction job (`run` when left out). The
worker forks; the child runs exactly what `python -m training <command> SPEC` runs, in a session of
its own (so the launcher signals its process group as it does a subprocess's), with stdin and
stdout on /dev/null and stderr appended to the log. The reply is one JSON line,
`{"pid": ..., "start_time": ...}` (field 22 of /proc/<pid>/stat: with the pid it names one
process for good, where a pid alone may be reused), or `{"error": "..."}` when nothing started.

Before the fork nothing may start threads or OpenMP work (fork after threads is unsafe), hence
imports only. OpenBLAS does start threads when numpy and scipy load, but it stops them around
fork() itself (pthread_atfork) and starts them again when needed. Children are never waited
for: SIGCHLD is ignored, so the kernel reaps them. The worker exits on SIGTERM and when the
process that started it dies (PR_SET_PDEATHSIG). A job runs the code as it was when the worker
started: restart the bot to pick up changes to the training code.

This module imports only the standard library (and `contract.exit_codes` and `common.logs`,
which do too) at the top: the bot imports `request_start` and `process_stat` from it.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import importlib
import json
import logging
import os
import select
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from common.logs import configure_logging
from common.memory import limit_memory
from contract import exit_codes
from contract.environment import JOB_MEMORY_MB

log = logging.getLogger(__name__)

PARENT_PID_ENV = "AUTOML_WARM_PARENT_PID"
REQUEST_TIMEOUT_S = 5.0
MAX_LINE_BYTES = 16_384
JOB_COMMANDS = ("run", "predict")  # the `python -m training` commands a child may run
PR_SET_PDEATHSIG = 1

# What a job imports on its way to the search. `training` comes first (it is the package of
# this module): its __init__ sets OMP_WAIT_POLICY before any OpenMP library loads.
PRELOAD = (
    "pandas",
    "numpy",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.model_selection",
    "sklearn.metrics",
    "lightgbm",
    "xgboost",
    "flaml.tune.searcher.blendsearch",
    "plotly.graph_objects",
    "kaleido",
    "joblib",
    "training.__main__",
    "training.run",
    "training.input.reading",
    "training.pipeline.prepare",
    "training.pipeline.search",
    "training.pipeline.learners",
    "training.outputs.charts.figures",
    "training.outputs.charts.rendering",
    "training.outputs.report",
)
# The EDA report's library: the report is forked from the job, so a job forked from this
# worker starts its report without importing it. Not preloaded by a cold job (preload.py),
# whose main thread would wait for it.
REPORT_MODULES = ("sweetviz",)


# ---- shared with the bot ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessStat:
    state: str  # R, S, D, ... Z for a zombie (ended, not reaped yet)
    start_time: int  # clock ticks after boot


def process_stat(pid: int) -> ProcessStat | None:
    """Fields 3 and 22 of /proc/<pid>/stat, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_bytes().decode("ascii", errors="replace")
    except OSError:
        return None
    # Field 2, the command name, may hold spaces and parentheses: count from the last ")".
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return ProcessStat(state=fields[0], start_time=int(fields[19]))
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Started:
    pid: int
    start_time: int


class WorkerUnreachable(OSError):
    """No worker listens at the socket: nothing was started."""


class WorkerRefused(Exception):
    """The worker answered that it did not start the job (the reason is the message)."""


def request_start(
    socket_path: Path,
    spec: Path,
    log_path: Path,
    *,
    timeout_s: float = REQUEST_TIMEOUT_S,
    command: str = "run",
) -> Started:
    """Ask the worker at `socket_path` to start the job of `spec`.

    Raises `WorkerUnreachable` or `WorkerRefused` when the job was not started, and OSError or
    ValueError when the request went out but no usable answer came back.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        try:
            conn.connect(str(socket_path))
        except OSError as error:
            raise WorkerUnreachable(str(error)) from error
        request = {"spec": str(spec), "log": str(log_path), "command": command}
        conn.sendall(json.dumps(request).encode() + b"\n")
        reply = json.loads(_read_line(conn))
    if not isinstance(reply, dict):
        raise ValueError(f"not a reply: {reply!r:.200}")
    if "error" in reply:
        raise WorkerRefused(str(reply["error"]))
    pid, start_time = reply.get("pid"), reply.get("start_time")
    if not isinstance(pid, int) or not isinstance(start_time, int):
        raise ValueError(f"not a reply: {reply!r:.200}")
    return Started(pid, start_time)


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE_BYTES:
            raise ValueError("the line is too long")
    return data.split(b"\n", 1)[0]


# ---- the server --------------------------------------------------------------------------------


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class _Request:
    spec: Path
    log: Path
    command: str = "run"  # `python -m training <command> SPEC`: run or predict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.warm_worker")
    parser.add_argument("--socket", type=Path, required=True, help="the Unix socket to listen on")
    args = parser.parse_args(argv)
    configure_logging(
        "%(asctime)s %(levelname)s warm worker %(process)d: %(message)s", level=logging.INFO
    )
    signal.signal(signal.SIGTERM, _exit_on_signal)
    _die_with_parent()
    preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the jobs; we never wait
    serve(args.socket.absolute())
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)  # unwinds `serve`, which removes the socket


def _die_with_parent() -> None:
    # training/outputs/report_worker.py does the same at its import, together with a nice();
    # here the worker must keep its priority: its children are the jobs.
    expected = os.environ.pop(PARENT_PID_ENV, None)  # the jobs have no use for it
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if expected and os.getppid() != int(expected):
        raise SystemExit(0)  # the bot died before prctl took effect: nobody will ask


def preload(names: tuple[str, ...] = PRELOAD + REPORT_MODULES) -> None:
    started = time.monotonic()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the job imports it again and reports the failure as it would cold
            log.exception("could not import %s", name)
    if "training.outputs.charts.figures" in names:
        try:
            importlib.import_module("training.outputs.charts.figures").load_figure_code()
        except Exception:
            log.exception("could not load plotly's figure code")
    threads = len(os.listdir("/proc/self/task")) if Path("/proc/self/task").is_dir() else 0
    log.info("imported in %.1f s; %d threads (OpenBLAS's)", time.monotonic() - started, threads)


def serve(socket_path: Path) -> None:
    listener = _listen(socket_path)
    inode = socket_path.stat().st_ino
    log.info("listening on %s", socket_path)
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # out of file descriptors, say: wait, do not end
                log.exception("accept failed")
                time.sleep(1.0)
                continue
            with conn:
                try:
                    _answer(conn, listener)
                except Exception:  # one bad request must never end the server
                    log.exception("could not answer a request")
    finally:
        listener.close()
        with contextlib.suppress(OSError):  # only our own: a new worker may have replaced it
            if socket_path.stat().st_ino == inode:
                socket_path.unlink()


def _listen(path: Path) -> socket.socket:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)  # created 0600: only this user may start jobs
    try:
        listener.bind(str(temporary))
    finally:
        os.umask(umask)
    listener.listen(16)
    os.replace(temporary, path)  # it appears once it accepts: a client that finds it connects
    return listener


def _answer(conn: socket.socket, listener: socket.socket) -> None:
    conn.settimeout(REQUEST_TIMEOUT_S)
    try:
        request = _parse(_read_line(conn))
        reply: dict[str, object] = _fork_job(request, listener, conn)
    except (BadRequest, ValueError) as error:
        log.warning("refused a request: %s", error)
        reply = {"error": str(error)}
    except TimeoutError:
        log.warning("a client sent no request within %.0f s", REQUEST_TIMEOUT_S)
        return
    try:
        conn.sendall(json.dumps(reply).encode() + b"\n")
    except OSError:
        pid = reply.get("pid")
        if isinstance(pid, int):  # the launcher will start the job itself: no second copy
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        raise


def _parse(line: bytes) -> _Request:
    try:
        data = json.loads(line)
    except ValueError:
        raise BadRequest(f"not a JSON line: {line!r:.200}") from None
    if not isinstance(data, dict):
        raise BadRequest("the request is not a JSON object")
    spec, log_path = data.get("spec"), data.get("log")
    if not isinstance(spec, str) or not isinstance(log_path, str):
        raise BadRequest('"spec" and "log" must be paths')
    command = data.get("command", "run")
    if command not in JOB_COMMANDS:
        raise BadRequest(f'"command" must be one of {", ".join(JOB_COMMANDS)}')
    request = _Request(Path(spec), Path(log_path), command)
    if not request.spec.is_absolute() or not request.log.is_absolute():
        raise BadRequest("the paths must be absolute")
    if not request.spec.is_file():
        raise BadRequest(f"the spec {spec!r} is not a file")
    if not request.log.parent.is_dir():
        raise BadRequest(f"the log's folder {request.log.parent} does not exist")
    return request


def _fork_job(request: _Request, listener: socket.socket, conn: socket.socket) -> dict[str, object]:
    # The child says its start time (or why it cannot run) on a pipe once it is in its own
    # session: after the reply, the launcher may signal its group at once.
    read_end, write_end = os.pipe()
    for stream in (sys.stdout, sys.stderr):  # nothing of ours may reach the job's log
        stream.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _become_job(request, listener, conn, write_end)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], REQUEST_TIMEOUT_S)
        message = os.read(read_end, 4096).decode(errors="replace").strip() if ready else ""
    finally:
        os.close(read_end)
    if message.isdigit():
        log.info("started %s as pid %d", request.spec, pid)
        return {"pid": pid, "start_time": int(message)}
    log.warning("the child for %s did not start: %s", request.spec, message or "no word from it")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # silent children are not left to start a job later
    return {"error": message or "the job's process did not start"}


def _become_job(
    request: _Request, listener: socket.socket, conn: socket.socket, status_fd: int
) -> NoReturn:
    """The forked child: become a job process, run the job, exit. Never returns."""
    code = exit_codes.NOT_STARTED
    try:
        listener.close()
        conn.close()
        os.setsid()  # its own session and process group, as `start_new_session` gives
        # The job's memory cap, in the job only: the worker itself forks many jobs.
        limit_memory(int(os.environ.get(JOB_MEMORY_MB) or 0))
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _redirect_std_streams(request.log)
        stat = process_stat(os.getpid())
        if stat is None:
            raise OSError("cannot read /proc/<pid>/stat")
        os.write(status_fd, b"%d\n" % stat.start_time)
        os.close(status_fd)
        status_fd = -1
        code = _run_job(request.spec, request.command)
    except BaseException as error:
        if status_fd >= 0:
            with contextlib.suppress(OSError):
                os.write(status_fd, f"{type(error).__name__}: {error}\n".encode())
        else:
            traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _redirect_std_streams(log_path: Path) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    job_log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    for fd, target in ((0, null), (1, null), (2, job_log)):
        os.dup2(target, fd)
    os.close(null)
    os.close(job_log)


def _run_job(spec: Path, command: str = "run") -> int:
    """What `python -m training <command> SPEC` does, up to its exit code."""
    import training.__main__ as entry

    # Logging as a fresh interpreter has it: the job's main() sets it up itself.
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    sys.argv = [entry.__file__ or "training", command, str(spec)]
    try:
        code = entry.main([command, str(spec)])
    except SystemExit as exit_:
        code = _exit_code(exit_.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()  # what an interpreter's exit runs: closes the chart browser
    return code


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
