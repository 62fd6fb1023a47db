"""`SubprocessPreviewer`: the `Previewer` port on `python -m training preview`.

Reading a table needs pandas, which the bot's process must never import (the Lambda bundle
carries no pandas, and a huge file must not take the bot's memory with it). So the preview
runs in a child process with a timeout, a memory cap and no secrets in its environment;
its stdout is one JSON document. At most `max_concurrent` run at once.

Standard library and the contract models only.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Sequence

from pydantic import ValidationError

from bot.backends.local.child_env import child_environment
from bot.errors import PreviewFailed
from common.files import path_from_uri
from common.memory import limit_memory
from contract import exit_codes
from contract.jobs import DatasetPreview, Limits

log = logging.getLogger(__name__)

DEFAULT_COMMAND = (sys.executable, "-m", "training", "preview")
_STDERR_TAIL = 4000  # characters of the child's stderr worth keeping in the log

TRAIN_ANYWAY_HINT = (
    "You can still train on it if you name the target yourself: "
    "`@AutoML train target=COLUMN` in the file's thread."
)


class SubprocessPreviewer:
    """Runs `[*command, --name=NAME, ..., PATH]` and parses the `DatasetPreview` it prints."""

    def __init__(
        self,
        command: Sequence[str] = DEFAULT_COMMAND,
        timeout_s: float = 120,
        *,
        limits: Limits | None = None,
        memory_mb: int = 0,
        max_concurrent: int = 2,
    ) -> None:
        self._command = list(command)
        self._timeout_s = timeout_s
        self._limits = limits or Limits()
        self._memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(max_concurrent)

    def preview(self, dataset_uri: str, file_name: str) -> DatasetPreview:
        if not self._slots.acquire(timeout=self._timeout_s):
            raise PreviewFailed(
                f"The bot was too busy to read “{file_name}” for a preview.",
                TRAIN_ANYWAY_HINT,
                code="preview_busy",
            )
        try:
            return self._preview(dataset_uri, file_name)
        finally:
            self._slots.release()

    def _argv(self, path: str, file_name: str) -> list[str]:
        # `--opt=value` and a path: a name such as `-h` or `--max-cells=9` stays a value.
        limits = self._limits
        return [
            *self._command,
            f"--name={file_name}",
            f"--max-file-mb={limits.max_file_mb}",
            f"--max-columns={limits.max_columns}",
            f"--max-cells={limits.max_cells}",
            f"--max-unpacked-mb={limits.max_unpacked_mb}",
            path,
        ]

    def _preview(self, dataset_uri: str, file_name: str) -> DatasetPreview:
        path = path_from_uri(dataset_uri).absolute()  # never taken for an option: starts with /
        argv = self._argv(str(path), file_name)
        try:
            done = self._run(argv)
        except subprocess.TimeoutExpired as expired:  # _run has killed the child already
            log.warning(
                "preview of %s timed out after %s s; stderr: %s",
                path,
                self._timeout_s,
                _tail(expired.stderr),
            )
            raise PreviewFailed(
                f"Reading “{file_name}” took longer than {self._timeout_s:g} s, "
                "so there is no preview.",
                TRAIN_ANYWAY_HINT,
                code="preview_timeout",
            ) from None
        except OSError:
            log.exception("could not start the previewer %s", argv[:4])
            raise _crashed(file_name) from None

        if done.returncode == exit_codes.SUCCEEDED:
            try:
                return DatasetPreview.model_validate_json(done.stdout)
            except ValidationError:
                log.exception(
                    "preview of %s printed no valid preview; stderr: %s", path, _tail(done.stderr)
                )
                raise _crashed(file_name) from None
        if done.returncode == exit_codes.BAD_INPUT:
            error = _input_error(done.stdout)
            if error is not None:
                raise error
        log.error(
            "preview of %s failed with exit code %s; stderr: %s",
            path,
            done.returncode,
            _tail(done.stderr),
        )
        if done.returncode < 0 and self._memory_mb > 0:
            # Some C code (pandas' parser) crashes rather than raise when memory runs out.
            raise PreviewFailed(
                f"Reading “{file_name}” stopped, most likely because it needs more memory "
                f"than a preview may use (the limit is {self._memory_mb:,} MB).",
                "Share a sample of the rows or fewer columns. Whoever runs the bot can raise "
                "the limit (AUTOML_JOB_MEMORY_MB). " + TRAIN_ANYWAY_HINT,
                code="file_too_large",
            )
        raise _crashed(file_name)

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[bytes]:
        with subprocess.Popen(
            argv,  # a list, never a shell
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(),
        ) as process:
            # Capped from here: a file that expands too far fails the preview, not the bot.
            limit_memory(self._memory_mb, process.pid)
            try:
                stdout, stderr = process.communicate(timeout=self._timeout_s)
            except subprocess.TimeoutExpired as expired:
                process.kill()
                expired.stderr = process.communicate()[1]
                raise
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _input_error(stdout: bytes) -> PreviewFailed | None:
    """The job's own explanation of a file it cannot read, or None if stdout holds none."""
    try:
        error = json.loads(stdout)["error"]
        message, hint, code = str(error["message"]), str(error.get("hint") or ""), error["code"]
    except (ValueError, KeyError, TypeError):
        return None
    # The job's code (`not_a_table`, `empty_file`...) tells the caller what kind of problem.
    return PreviewFailed(message, hint, code=str(code) or None)


def _crashed(file_name: str) -> PreviewFailed:
    return PreviewFailed(
        f"Something went wrong while reading “{file_name}” for a preview.",
        "Try again in a minute; if it keeps happening, tell whoever runs the bot. "
        + TRAIN_ANYWAY_HINT,
    )


def _tail(stderr: bytes | str | None) -> str:
    if not stderr:
        return "(empty)"
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    return text[-_STDERR_TAIL:].strip() or "(empty)"
