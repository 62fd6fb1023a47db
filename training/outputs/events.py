"""Where a run's events go: its events log, stdout for a parent process, a terminal, the cloud.

A sink is any callable taking an event. Sinks never break a run: a failing sink is logged
and dropped for the rest of the run.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from contract.jobs import AnyEvent

__all__ = ["AnyEvent", "EventEmitter", "EventSink", "JsonLinesSink"]

log = logging.getLogger(__name__)

EventSink = Callable[[AnyEvent], None]


class JsonLinesSink:
    """One JSON object per line, flushed at once so a reader sees it immediately."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @classmethod
    def to_file(cls, path: Path) -> JsonLinesSink:
        return cls(path.open("a", encoding="utf-8", buffering=1))

    @classmethod
    def to_stdout(cls) -> JsonLinesSink:
        return cls(sys.stdout)

    def __call__(self, event: AnyEvent) -> None:
        with self._lock:
            self._stream.write(event.model_dump_json() + "\n")
            self._stream.flush()


class EventEmitter:
    """Sends each event to every sink; keeps the last progress event for the final summary."""

    def __init__(self, sinks: list[EventSink]) -> None:
        self._sinks = list(sinks)

    def emit(self, event: AnyEvent) -> None:
        for sink in list(self._sinks):
            try:
                sink(event)
            except Exception:
                log.warning("dropping an event sink that failed: %r", sink, exc_info=True)
                self._sinks.remove(sink)
