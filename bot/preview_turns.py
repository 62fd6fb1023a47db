"""One preview at a time per person: sharing twenty files at once starts one reader, not
twenty. In-process; the local backend previews in this process's children."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class PreviewTurns:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[str] = set()

    @contextmanager
    def take(self, user_id: str) -> Iterator[bool]:
        """Yields True when this person had no preview running (theirs until the block ends)."""
        with self._lock:
            mine = user_id not in self._busy
            self._busy.add(user_id)
        try:
            yield mine
        finally:
            if mine:
                with self._lock:
                    self._busy.discard(user_id)
