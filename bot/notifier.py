"""`Notifier`: turns a job and how it is doing into Slack messages in the job's thread.

Each job has one status message in its thread, posted by `announce` and then edited in place
(`chat.update`) as the job starts, progresses and ends; the outcome (leaderboard or failure,
then the charts) is posted as threaded replies once.

It changes no job's status: `bot.job_events.JobEventHandler` asks `bot.lifecycle` for that,
then calls it to show what happened. It does read the store (a job's channel and status
message, whether it is still active) and remembers the ts of the status message there.
Progress for a job that is no longer active shows nothing.

Slack failures are logged and swallowed: by the time the notifier runs, the job's state is
already decided, and a failed `chat.update` must not take down a runner or a Lambda.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.jobs import Job, JobStore
from bot.messages import SlackMessage, failure_message, job_status_message, results_message
from bot.messages.prediction import prediction_message, predictions_comment
from bot.messages.results import (
    charts_comment,
    mentioning,
    report_ready_message,
    report_unfinished_message,
)
from bot.messages.sharing import can_share
from bot.messages.text import truncate
from bot.outcome import Outcome
from bot.ports import ArtifactStore
from bot.sharing import share_in_channel
from bot.slack_budget import ProgressBudget
from contract.jobs import JobResult, ProgressEvent, ReportEvent

log = logging.getLogger(__name__)

# Slack shows at most 10 files in one message; more charts go out in further messages.
MAX_FILES_PER_MESSAGE = 10
MAX_ALT_TEXT = 1000  # files.getUploadURLExternal's limit for alt_txt

# What talking to Slack can raise: API refusals (SlackApiError), bad requests and failed
# uploads (SlackRequestError), and the network still failing after the client's retries.
_SLACK_ERRORS: tuple[type[Exception], ...] = (SlackClientError, OSError)


@dataclass
class _JobState:
    """What the notifier remembers about one active job, in memory only."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latest: ProgressEvent | None = None  # newest progress seen, shown by the next update
    last_update: float | None = None  # clock() of the last chat.update, for throttling
    started_sent: bool = False


class Notifier:
    """Posts and updates a job's messages in its Slack thread. Safe to call from threads."""

    def __init__(
        self,
        client: WebClient,
        store: JobStore,
        artifacts: ArtifactStore,
        *,
        min_update_interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        budget: ProgressBudget | None = None,
    ) -> None:
        self._client = client
        # chat.update is shared by every job of the workspace: progress draws from `budget`.
        self._budget = budget
        self._store = store
        self._artifacts = artifacts
        self._interval = min_update_interval_s
        self._clock = clock
        self._states: dict[str, _JobState] = {}
        self._states_lock = threading.Lock()

    # ---- the job's status message -----------------------------------------------------------

    def announce(self, job: Job, queue_position: int | None = None) -> str | None:
        """Post the job's status message in its thread and remember it; its ts, or None."""
        message = self._status_message(job, None, "queued", queue_position)
        ts = self._post(job, job.thread_ts, message, "announce")
        if ts is not None:
            self._store.set_status_message(job.job_id, ts)
        return ts

    def show_queue_position(self, job_id: str, position: int) -> None:
        """Say on a waiting job's status message where it is in the queue."""
        state = self._state(job_id)
        with state.lock:
            job = self._store.get(job_id)
            if job is None or job.status != "queued" or job.status_ts is None:
                return
            self._update_status(job, None, "queued", position)

    def show_started(self, job_id: str) -> None:
        """Show a running job as running, once, however often its start is reported."""
        state = self._state(job_id)
        with state.lock:
            job = self._store.get(job_id)
            if job is None or job.status != "running":
                self._forget(job_id)
                return
            if state.started_sent:
                return
            state.started_sent = True
            state.last_update = self._clock()
            self._update_status(job, state.latest, "running")

    def show_progress(self, job_id: str, event: ProgressEvent) -> None:
        """Show the newest progress, at most once every `min_update_interval_s` (longer when
        many jobs share the workspace's budget), and only when the budget has room."""
        state = self._state(job_id)
        with state.lock:
            if state.latest is None or event.at >= state.latest.at:
                state.latest = event  # an older event arriving late must not move the bar back
            now = self._clock()
            interval = self._progress_interval()
            if state.last_update is not None and now - state.last_update < interval:
                return  # kept in state.latest: the next allowed update shows it
            # Read the store only when an update is due: on AWS every read costs a request.
            job = self._store.get(job_id)
            if job is None or not job.active:
                self._forget(job_id)
                return
            if self._budget is not None and not self._budget.try_take(job.team_id):
                return  # coalesced: the next update that finds room shows the newest state
            state.last_update = now
            self._update_status(job, state.latest, "running", progress=True)

    def _progress_interval(self) -> float:
        if self._budget is None:
            return self._interval
        with self._states_lock:
            running = len(self._states)  # jobs this notifier follows, forgotten when they end
        return self._budget.interval_s(running, self._interval)

    # ---- the end ----------------------------------------------------------------------------

    def show_cancelled(self, job: Job) -> None:
        """Show a cancelled job as cancelled on its status message; nothing else is posted."""
        state = self._state(job.job_id)
        with state.lock:
            try:
                self._update_status(job, state.latest, "cancelled")
            finally:
                self._forget(job.job_id)

    def show_outcome(self, job: Job, outcome: Outcome) -> None:
        """The end of a job: its status message, then the results or the failure, then the
        charts. Call it once per job: for the caller whose move ended it."""
        state = self._state(job.job_id)
        with state.lock:
            try:
                self._post_outcome(job, outcome, state.latest)
            finally:
                self._forget(job.job_id)

    def show_report(self, job: Job, event: ReportEvent) -> None:
        """A threaded reply with the EDA report that followed a job's results (or why not)."""
        url = self._link(job.job_id, event.report)
        message = report_ready_message(url, event.note)
        self._post(job, job.thread_ts or job.status_ts, message, "post the report")

    def show_report_unfinished(self, job: Job) -> None:
        """A threaded reply: the job ended without the EDA report its results promised."""
        message = report_unfinished_message()
        self._post(job, job.thread_ts or job.status_ts, message, "say the report is missing")

    def forget(self, job_id: str) -> None:
        """Drop what is remembered about a job that has ended (its progress, its throttle)."""
        self._forget(job_id)

    def _post_outcome(self, job: Job, outcome: Outcome, latest: ProgressEvent | None) -> None:
        self._update_status(job, latest, outcome.status)
        job = self._store.get(job.job_id) or job  # the status message may have been re-posted
        thread_ts = job.thread_ts or job.status_ts
        prediction = outcome.prediction
        if prediction is not None and prediction.status == "succeeded":
            message = prediction_message(prediction, cost=outcome.cost or None)
            self._post(job, thread_ts, mentioning(message, job.user_id), "prediction")
            self._upload_predictions(job, prediction.predictions_csv, thread_ts)
            return
        message = self._outcome_message(job, outcome.result, outcome.cost)
        self._post(job, thread_ts, mentioning(message, job.user_id), "outcome")
        self._upload_charts(job, outcome.result, thread_ts)
        if job.share_to == "channel" and can_share(outcome.result):  # `share=channel`
            share_in_channel(self._client, self._store, job, outcome.result)

    def _upload_predictions(self, job: Job, csv_path: str | None, thread_ts: str | None) -> None:
        """The scored rows as a CSV file in the thread."""
        if not csv_path:
            return
        try:
            content = self._artifacts.read_bytes(job.job_id, csv_path)
        except Exception:
            log.exception("could not read the predictions of job %s", job.job_id)
            return
        stem = PurePosixPath(job.file_name).stem or "file"
        try:
            self._client.files_upload_v2(
                content=content,
                filename=f"predictions-{stem}.csv",
                title=f"Predictions for {job.file_name}",
                channel=job.channel_id,
                thread_ts=thread_ts,
                initial_comment=predictions_comment(job.file_name, job.job_id),
            )
        except _SLACK_ERRORS as exc:
            _log_slack_error("upload the predictions", job.job_id, exc)

    def _outcome_message(self, job: Job, result: JobResult, cost: str) -> SlackMessage:
        # A result with models is worth showing even when the job did not finish cleanly.
        if result.status == "succeeded" or result.leaderboard:
            report = self._link(job.job_id, result.artifacts.report)
            model = self._link(job.job_id, result.artifacts.model)
            return results_message(result, report, model, cost=cost or None)
        if job.kind == "predict":
            return failure_message(result, cost=cost or None, doing="Scoring")
        return failure_message(result, cost=cost or None)

    def _link(self, job_id: str, relative_path: str | None) -> str | None:
        if not relative_path:
            return None
        try:
            return self._artifacts.link(job_id, relative_path)
        except Exception:
            log.exception("could not link %s of job %s", relative_path, job_id)
            return None

    def _upload_charts(self, job: Job, result: JobResult, thread_ts: str | None) -> None:
        uploads: list[dict[str, Any]] = []
        for chart in result.artifacts.charts:
            try:
                content = self._artifacts.read_bytes(job.job_id, chart.path)
            except Exception:
                log.exception("could not read chart %s of job %s", chart.path, job.job_id)
                continue
            uploads.append(
                {
                    "content": content,
                    "filename": PurePosixPath(chart.path).name,
                    "title": chart.title,
                    "alt_txt": truncate(chart.alt_text, MAX_ALT_TEXT),
                }
            )
        comment = charts_comment(job.file_name, job.job_id)
        for start in range(0, len(uploads), MAX_FILES_PER_MESSAGE):
            batch = uploads[start : start + MAX_FILES_PER_MESSAGE]
            try:
                self._client.files_upload_v2(
                    file_uploads=batch,
                    channel=job.channel_id,
                    thread_ts=thread_ts,
                    initial_comment=comment if start == 0 else None,
                )
            except _SLACK_ERRORS as exc:
                _log_slack_error("upload the charts", job.job_id, exc)

    # ---- Slack calls ------------------------------------------------------------------------

    def _status_message(
        self,
        job: Job,
        event: ProgressEvent | None,
        word: str,
        queue_position: int | None = None,
    ) -> SlackMessage:
        return job_status_message(
            job.job_id,
            job.file_name,
            event,
            word,
            user_id=job.user_id,
            queue_position=queue_position,
            kind=job.kind,
        )

    def _update_status(
        self,
        job: Job,
        event: ProgressEvent | None,
        word: str,
        queue_position: int | None = None,
        *,
        progress: bool = False,
    ) -> None:
        message = self._status_message(job, event, word, queue_position)
        if job.status_ts is not None:
            if self._budget is not None and not progress:
                self._budget.spend(job.team_id)  # never waits, but leaves less room for progress
            try:
                self._client.chat_update(channel=job.channel_id, ts=job.status_ts, **message)
                return
            except SlackApiError as exc:
                if exc.response.get("error") != "message_not_found":
                    _log_slack_error(f"update the status to {word}", job.job_id, exc)
                    return
                # Deleted by someone: fall through and post a fresh one.
            except _SLACK_ERRORS as exc:
                _log_slack_error(f"update the status to {word}", job.job_id, exc)
                return
        ts = self._post(job, job.thread_ts, message, f"post the status {word}")
        if ts is not None:
            self._store.set_status_message(job.job_id, ts)

    def _post(
        self, job: Job, thread_ts: str | None, message: SlackMessage, what: str
    ) -> str | None:
        try:
            response = self._client.chat_postMessage(
                channel=job.channel_id, thread_ts=thread_ts, **message
            )
        except _SLACK_ERRORS as exc:
            _log_slack_error(what, job.job_id, exc)
            return None
        ts = response.get("ts")
        return str(ts) if ts else None

    # ---- per-job memory ---------------------------------------------------------------------

    def _state(self, job_id: str) -> _JobState:
        with self._states_lock:
            return self._states.setdefault(job_id, _JobState())

    def _forget(self, job_id: str) -> None:
        with self._states_lock:
            self._states.pop(job_id, None)


def _log_slack_error(what: str, job_id: str, exc: Exception) -> None:
    if isinstance(exc, SlackApiError):
        log.warning("Slack refused to %s for job %s: %s", what, job_id, exc.response.get("error"))
    else:
        log.warning("could not %s for job %s: %s", what, job_id, exc)
