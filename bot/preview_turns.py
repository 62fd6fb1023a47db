"""One preview at a time per person: sharing twenty files at once starts one reader, not
twenty.

The turn is a lease in the job store, so it holds across every process that serves the bot:
`automl serve`'s threads locally, and on AWS every Lambda container (a burst of shares lands
on several). A preview that dies without giving its turn back blocks its sharer only until
the lease runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.jobs import JobStore

log = logging.getLogger(__name__)

# Longer than any preview's holder lives: the local previewer waits up to 2 minutes for a slot
# and reads for up to 2 more; on AWS the lazy half that previews lives at most 5 minutes.
LEASE_S = 300.0


class PreviewTurns:
    def __init__(self, store: JobStore, *, lease_s: float = LEASE_S) -> None:
        self._store = store
        self._lease_s = lease_s

    @contextmanager
    def take(self, user_id: str) -> Iterator[bool]:
        """Yields True when this person had no preview running (theirs until the block ends)."""
        key = f"preview-turn:{user_id}"
        mine = self._store.take_lease(key, self._lease_s)
        try:
            yield mine
        finally:
            if mine:
                try:
                    self._store.end_lease(key)
                except Exception:  # the lease runs out by itself
                    log.warning("could not give back the preview turn of %s", user_id)
