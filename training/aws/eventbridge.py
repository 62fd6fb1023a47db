"""The run's events on EventBridge, for the completion Lambda: `EventBridgeSink(bus_name)`.

Each event goes out as it happens (PutEvents is synchronous, so the client's timeouts are
short: a slow network must not hold the search up). Progress is sent at most every 10 s;
`started` and `finished` always. Events are best effort: a failure is logged, never raised,
and the next event is tried again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from contract.aws import TRAINING_EVENT_DETAIL_TYPE, TRAINING_EVENT_SOURCE
from training.outputs.events import AnyEvent

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 10.0


class EventBridgeSink:
    def __init__(
        self,
        bus_name: str,
        client: Any = None,
        *,
        progress_every_s: float = PROGRESS_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus_name = bus_name
        self._client = client
        self._progress_every_s = progress_every_s
        self._clock = clock
        self._last_progress: float | None = None
        self._lock = threading.Lock()

    def __call__(self, event: AnyEvent) -> None:
        if not self._due(event):
            return
        entry = {
            "Source": TRAINING_EVENT_SOURCE,
            "DetailType": TRAINING_EVENT_DETAIL_TYPE,
            "Detail": event.model_dump_json(),
            "EventBusName": self.bus_name,
        }
        try:
            response = self._events().put_events(Entries=[entry])
        except Exception:  # botocore's errors, a missing region, ...: never into the job
            log.warning(
                "could not send the %s event to EventBridge bus %s",
                event.type,
                self.bus_name,
                exc_info=True,
            )
            return
        # PutEvents answers 200 even when it rejected the entry: the count says so.
        if response.get("FailedEntryCount"):
            failure = (response.get("Entries") or [{}])[0]
            log.warning(
                "EventBridge bus %s refused the %s event: %s %s",
                self.bus_name,
                event.type,
                failure.get("ErrorCode"),
                failure.get("ErrorMessage"),
            )

    def _due(self, event: AnyEvent) -> bool:
        if event.type != "progress":
            return True
        with self._lock:
            now = self._clock()
            last = self._last_progress
            if last is not None and now - last < self._progress_every_s:
                return False
            self._last_progress = now
            return True

    def _events(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Worst case about 10 s per event when the network is down, instead of minutes.
            config = Config(
                connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2}
            )
            self._client = boto3.client("events", config=config)
        return self._client
