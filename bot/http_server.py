"""uvicorn's options for `automl serve` (and the links server of `automl socket`): limits a
slow or greedy client cannot outwait. Imported by the CLI only, never on Lambda."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.settings import Settings

MAX_HEADER_BYTES = 16 * 1024
KEEP_ALIVE_S = 5


class HeaderDeadlineH11(H11Protocol):
    """h11 with a deadline for each request's headers. uvicorn's own keep-alive timer stops
    at the first byte, so a client sending one byte every few seconds was never cut off."""

    header_timeout_s = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's headers are in
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # for the next request's headers; before super(), which may start it
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout_s, self.transport.close)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config`/`uvicorn.run`."""
    protocol = type(
        "HeaderDeadlineH11", (HeaderDeadlineH11,), {"header_timeout_s": settings.request_timeout_s}
    )
    return {
        "http": protocol,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "limit_concurrency": settings.max_connections,  # beyond it: 503 at once
    }
