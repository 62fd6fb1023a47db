"""`SubprocessPreviewer`: the `Previewer` port on `python -m training preview`.

Reading a table needs pandas, which the bot's process must never import (the Lambda bundle
carries no pandas, and a huge file must not take the bot's memory with it). So the preview
runs in a child process with a timeout; its stdout is one JSON document.

Standard library and the contract models only.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.errors import PreviewFailed
from common.files import path_from_uri
from contract import exit_codes
from contract.jobs import DatasetPreview

log = logging.getLogger(__name__)

DEFAULT_COMMAND = (sys.executable, "-m", "training", "preview")
_STDERR_TAIL = 4000  # characters of the child's stderr worth keeping in the log

TRAIN_ANYWAY_HINT = (
    "You can still train on it if you name the target yourself: "
    "`@AutoML train target=COLUMN` in the file's thread."
)


class SubprocessPreviewer:
    """Runs `[*command, PATH, "--name", NAME]` and parses the `DatasetPreview` it prints."""

    def __init__(self, command: Sequence[str] = DEFAULT_COMMAND, timeout_s: float = 120) -> None:
        self._command = list(command)
        self._timeout_s = timeout_s

    def preview(self, dataset_uri: str, file_name: str) -> DatasetPreview:
        path = path_from_uri(dataset_uri)  # the local backend stores datasets on this machine
        argv = [*self._command, str(path), "--name", file_name]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                timeout=self._timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as expired:  # run() has killed the child already
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
        raise _crashed(file_name)


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
