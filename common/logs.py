"""The logging set-up of every entry point: `automl`, `python -m training`, the warm worker."""

from __future__ import annotations

import logging
import sys

# A record with its time and logger: the training job's stderr and its run.log.
TIMED_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(
    log_format: str = TIMED_FORMAT,
    *,
    level: int | None = None,
    stderr_level: int | None = None,
) -> None:
    """Log to stderr in `log_format`, as `logging.basicConfig` does: nothing changes where the
    root logger has handlers already.

    `level`: the root logger's (None leaves it at WARNING, or as it is). `stderr_level`: the
    least a record needs to reach stderr, for a caller whose run log takes more (INFO) than
    the person at the terminal should see; it is set on every handler the root logger has.
    """
    logging.basicConfig(stream=sys.stderr, format=log_format, level=level)
    if stderr_level is not None:
        for handler in logging.getLogger().handlers:
            handler.setLevel(stderr_level)
