"""`common.logs.configure_logging`: what each entry point gets, and `basicConfig`'s rule."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from common.logs import TIMED_FORMAT, configure_logging


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger as a fresh interpreter has it (no handlers, not even pytest's, which it
    adds around each test's body); restored after."""
    logger = logging.getLogger()
    saved, level = list(logger.handlers), logger.level
    logger.handlers.clear()
    logger.setLevel(logging.WARNING)
    try:
        yield logger
    finally:
        logger.handlers[:] = saved
        logger.setLevel(level)


def test_a_stderr_handler_in_the_format_given() -> None:
    with bare_root() as root:
        configure_logging("%(levelname)s %(name)s: %(message)s", stderr_level=logging.WARNING)
        (handler,) = root.handlers
        levels = (handler.level, root.level)
    assert isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr
    assert levels == (logging.WARNING, logging.WARNING)
    record = logging.LogRecord("bot.x", logging.ERROR, __file__, 1, "boom", None, None)
    assert handler.format(record) == "ERROR bot.x: boom"


def test_the_timed_format_and_a_root_level() -> None:
    with bare_root() as root:
        configure_logging(level=logging.INFO)
        (handler,) = root.handlers
        levels = (handler.level, root.level)
    assert handler.formatter is not None and handler.formatter._fmt == TIMED_FORMAT
    assert levels == (logging.NOTSET, logging.INFO)


def test_handlers_already_there_are_kept() -> None:
    existing = logging.NullHandler()
    with bare_root() as root:
        root.addHandler(existing)
        configure_logging(stderr_level=logging.WARNING)
        handlers = list(root.handlers)
    assert handlers == [existing] and existing.level == logging.WARNING
