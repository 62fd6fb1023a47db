"""`ProgressBudget`: one allowance of `chat.update` calls per workspace, shared by every job.

Slack allows `chat.update` about 50 times a minute per workspace (Tier 3). Each job's progress
bar would spend that alone once a few jobs run together, and the final results would then
wait behind `Retry-After`. So progress draws from one budget: a progress update that finds
no room is skipped (the job's newest progress stays in memory and the next allowed update
shows it), the interval between one job's updates grows with the number of jobs running,
and the updates that must not wait (started, results, failures, cancellations) are counted
but never refused.

How the count is shared: fixed windows of `window_s` seconds, each allowed
`per_minute * window_s / 60` updates, counted under a key `<workspace>#<window number>`. Any
60 s then covers at most `60 / window_s + 1` windows, so with the defaults (40 a minute in
6 s windows of 4) no minute sees more than 44 updates, under Slack's 50. The updates that
do not wait are counted too, in the first window with room: a burst of them (thirty jobs
starting at once) holds progress back for the windows it fills instead of adding to it. A
counter is one atomic "add one if below the limit": a lock in one process (the local bot, where one
notifier serves every job), a conditional update of one DynamoDB item on AWS (every Lambda
invocation sees the same count without any coordination beyond that write).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_PER_MINUTE = 40
DEFAULT_WINDOW_S = 6.0
DEFAULT_WORKSPACE = "workspace"  # for jobs recorded without their team id


class WindowCounter(Protocol):
    """Counts calls under a key; shared by everyone who must share the budget."""

    def take(self, key: str, limit: int, expires_at: float) -> bool:
        """Add one to `key` if it is below `limit`; whether it did."""
        ...

    def add(self, key: str, expires_at: float) -> None:
        """Add one to `key` whatever it is."""
        ...


class MemoryWindowCounter:
    """A counter for one process: the local bot, where every job's progress passes here."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: int, expires_at: float) -> bool:
        with self._lock:
            self._drop_expired(before=expires_at - 120.0)  # windows long past this one
            if self._counts.get(key, 0) >= limit:
                return False
            self._count(key, expires_at)
            return True

    def add(self, key: str, expires_at: float) -> None:
        with self._lock:
            self._count(key, expires_at)

    def _count(self, key: str, expires_at: float) -> None:
        self._counts[key] = self._counts.get(key, 0) + 1
        self._expiry[key] = expires_at

    def _drop_expired(self, before: float) -> None:
        for key in [k for k, at in self._expiry.items() if at < before]:
            self._counts.pop(key, None)
            self._expiry.pop(key, None)


class DynamoWindowCounter:
    """A counter shared by every Lambda invocation: one item per key in the job table,
    `n` raised by a conditional update, removed by the table's TTL after its window."""

    def __init__(self, client: Any, table_name: str, *, prefix: str = "slackbudget#") -> None:
        self._client = client
        self._table = table_name
        self._prefix = prefix

    def take(self, key: str, limit: int, expires_at: float) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": self._prefix + key}},
                UpdateExpression="ADD n :one SET expires_at = :exp",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":exp": {"N": str(int(expires_at))},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def add(self, key: str, expires_at: float) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": self._prefix + key}},
            UpdateExpression="ADD n :one SET expires_at = :exp",
            ExpressionAttributeValues={":one": {"N": "1"}, ":exp": {"N": str(int(expires_at))}},
        )


class ProgressBudget:
    """The workspace's allowance of progress updates; safe to share between threads."""

    def __init__(
        self,
        counter: WindowCounter,
        *,
        per_minute: int = DEFAULT_PER_MINUTE,
        window_s: float = DEFAULT_WINDOW_S,
        workspace: str = DEFAULT_WORKSPACE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if per_minute < 1 or window_s <= 0:
            raise ValueError("a progress budget needs at least one update a minute")
        self.per_minute = per_minute
        self._counter = counter
        self._window_s = window_s
        self._per_window = max(1, int(per_minute * window_s / 60))
        self._windows_per_minute = max(1, round(60 / window_s))
        self._workspace = workspace
        self._clock = clock

    def try_take(self, team_id: str | None = None) -> bool:
        """Room for one progress update in workspace `team_id` now? Counted if so. A counter
        that cannot be reached (DynamoDB throttled or down) means no: progress can wait."""
        key, expires_at = self._window(team_id)
        try:
            return self._counter.take(key, self._per_window, expires_at)
        except Exception as exc:  # botocore's errors, whatever the counter raises
            log.warning("could not count a progress update: %s", exc)
            return False

    def spend(self, team_id: str | None = None) -> None:
        """Count an update that does not wait (a start, a result, a cancellation): in the
        first window from now with room, so a burst of them holds progress back for as long
        as Slack needs to forget it; past a minute of windows, in this one. An uncounted
        update is better than a result held back."""
        try:
            for ahead in range(self._windows_per_minute):
                key, expires_at = self._window(team_id, ahead)
                if self._counter.take(key, self._per_window, expires_at):
                    return
            self._counter.add(*self._window(team_id))
        except Exception as exc:  # botocore's errors, whatever the counter raises
            log.warning("could not count a status update: %s", exc)

    def interval_s(self, running_jobs: int, floor_s: float) -> float:
        """How long one job waits between its progress updates when `running_jobs` share
        the budget: never less than `floor_s`, longer as jobs multiply."""
        return max(floor_s, max(1, running_jobs) * 60.0 / self.per_minute)

    def _window(self, team_id: str | None, ahead: int = 0) -> tuple[str, float]:
        number = int(self._clock() // self._window_s) + ahead
        # Kept a minute past its end, then dropped (from memory, or by DynamoDB's TTL).
        return f"{team_id or self._workspace}#{number}", (number + 1) * self._window_s + 60.0


def memory_budget(per_minute: int = DEFAULT_PER_MINUTE) -> ProgressBudget:
    """The budget of one process: the local bot, the console, tests."""
    return ProgressBudget(MemoryWindowCounter(), per_minute=per_minute)
