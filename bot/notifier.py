"""`Notifier`: the only code that tells Slack how a job is doing and how it ended.

Each job has one status message in its thread, posted by `announce` and then edited in place
(`chat.update`) as the job starts, progresses and ends; the outcome (leaderboard or failure,
then the charts) is posted as threaded replies once.

It implements the `JobEvents` port and is backend-agnostic: the local runner feeds it from a
subprocess's event lines, the AWS completion Lambda from EventBridge. Events may come twice,
late or out of order, so the job store is the arbiter: progress for a job that is no longer
active changes nothing, and the outcome is posted only by the caller whose
`JobStore.transition` to the terminal status succeeded (one notification per job).

Slack failures are logged and swallowed: by the time the notifier runs, the job's state is
already decided, and a failed `chat.update` must not take down a runner or a Lambda.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import messages
from bot.jobs import Job, JobStore, Status, can_transition
from bot.ports import ArtifactStore, JobEnding
from training.contracts import ErrorInfo, JobResult, ProgressEvent

log = logging.getLogger(__name__)

NO_RESULT_MESSAGE = "The job stopped before it could write its results."
NO_RESULT_HINT = "Try again; if it fails the same way, tell whoever runs this bot."

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
    ) -> None:
        self._client = client
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

    def job_started(self, job_id: str) -> None:
        state = self._state(job_id)
        with state.lock:
            job = self._store.get(job_id)
            if job is not None and job.status == "queued":
                # Whoever reports the start may not have moved the job yet (the AWS Lambda).
                self._store.transition(job_id, "running")
                job = self._store.get(job_id)
            if job is None or job.status != "running":
                self._forget(job_id)
                return
            if state.started_sent:
                return
            state.started_sent = True
            state.last_update = self._clock()
            self._update_status(job, state.latest, "running")

    def job_progress(self, job_id: str, event: ProgressEvent) -> None:
        state = self._state(job_id)
        with state.lock:
            if state.latest is None or event.at >= state.latest.at:
                state.latest = event  # an older event arriving late must not move the bar back
            now = self._clock()
            if state.last_update is not None and now - state.last_update < self._interval:
                return  # kept in state.latest: the next allowed update shows it
            # Read the store only when an update is due: on AWS every read costs a request.
            job = self._store.get(job_id)
            if job is None or not job.active:
                self._forget(job_id)
                return
            state.last_update = now
            self._update_status(job, state.latest, "running")

    # ---- the end ----------------------------------------------------------------------------

    def job_ended(self, job_id: str, ending: JobEnding) -> None:
        state = self._state(job_id)
        with state.lock:
            try:
                self._end(job_id, ending, state.latest)
            finally:
                self._forget(job_id)

    def _end(self, job_id: str, ending: JobEnding, latest: ProgressEvent | None) -> None:
        job = self._store.get(job_id)
        if job is None:
            log.warning("job %s ended but is not in the job store", job_id)
            return
        if job.status == "cancelled":
            # Whoever cancelled it has said so; only the status message shows it.
            self._update_status(job, latest, "cancelled")
            return
        if job.finished:
            return  # a repeated or late ending: the person was told already

        result, result_path = self._load_result(job_id, ending)
        if result is None:
            # The details are for whoever runs the bot, never for Slack.
            log.warning(
                "job %s ended without a result (exit code %s): %s\n%s",
                job_id,
                ending.exit_code,
                ending.detail or "no detail",
                ending.log_tail,
            )
            result = _no_result(job, ending)
        if not self._finish(job, result.status, result_path, result.error):
            return  # another caller moved it first (or it was cancelled meanwhile)

        self._update_status(job, latest, result.status)
        job = self._store.get(job_id) or job  # the status message may have been re-posted
        thread_ts = job.thread_ts or job.status_ts
        message = self._outcome_message(job, result, ending.cost)
        self._post(job, thread_ts, _mentioning(job, message), "outcome")
        self._upload_charts(job, result, thread_ts)

    def _load_result(self, job_id: str, ending: JobEnding) -> tuple[JobResult | None, str | None]:
        try:
            result = self._artifacts.load_result(job_id)
        except Exception:
            # A torn or invalid result.json is a failed job, not a crashed notifier.
            log.exception("could not read the result of job %s", job_id)
            return None, None
        if result is None:
            return None, None
        if ending.finished is not None:
            return result, ending.finished.result_path
        return result, f"{self._artifacts.output_uri(job_id).rstrip('/')}/result.json"

    def _finish(
        self, job: Job, status: Status, result_path: str | None, error: ErrorInfo | None
    ) -> bool:
        """Move the job to its end state; True only for the one caller that did."""
        if job.status == "queued" and not can_transition("queued", status):
            # It produced a result, so it ran: its start was lost or is still on its way.
            self._store.transition(job.job_id, "running")
        return self._store.transition(
            job.job_id,
            status,
            result_path=result_path,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
        )

    def _outcome_message(self, job: Job, result: JobResult, cost: str) -> messages.SlackMessage:
        # A result with models is worth showing even when the job did not finish cleanly.
        if result.status == "succeeded" or result.leaderboard:
            report = self._link(job.job_id, result.artifacts.report)
            model = self._link(job.job_id, result.artifacts.model)
            return messages.results_message(result, report, model, cost=cost or None)
        return messages.failure_message(result, cost=cost or None)

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
                    "alt_txt": messages.truncate(chart.alt_text, MAX_ALT_TEXT),
                }
            )
        comment = f"Charts for *{messages.escape(job.file_name)}* (job `{job.job_id}`)"
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
    ) -> messages.SlackMessage:
        message = messages.progress_message(job.job_id, job.file_name, event, word)
        note = f"Asked by <@{job.user_id}>"
        if queue_position:
            note += f" · place in the queue: {queue_position}"
        message["blocks"].append(messages.context(note))
        return message

    def _update_status(
        self, job: Job, event: ProgressEvent | None, word: str, queue_position: int | None = None
    ) -> None:
        message = self._status_message(job, event, word, queue_position)
        if job.status_ts is not None:
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
        self, job: Job, thread_ts: str | None, message: messages.SlackMessage, what: str
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


def _no_result(job: Job, ending: JobEnding) -> JobResult:
    """A failed result for a job that wrote none, saying what the launcher saw."""
    message = ending.detail.strip() or NO_RESULT_MESSAGE
    last_words = log_excerpt(ending.log_tail)
    if last_words:
        message += f" The last lines of its log: “{last_words}”"
    return JobResult(
        job_id=job.job_id,
        status="failed",
        file_name=job.file_name,
        target=job.target,
        error=ErrorInfo(code="no_result", message=message, hint=NO_RESULT_HINT),
    )


_TRACEBACK_LINE = re.compile(r'^\s*(Traceback \(most recent call last\)|File "|\^+$|~+$)')


def log_excerpt(log_tail: str, *, lines: int = 3, limit: int = 300) -> str:
    """The last few lines of a job's log that a person can read: no traceback frames or
    source lines (those stay in the operator's log), joined on one line and cut short."""
    kept: list[str] = []
    skip_source = False
    for line in log_tail.splitlines():
        if _TRACEBACK_LINE.match(line):
            skip_source = line.lstrip().startswith("File ")  # the next line is its source
            continue
        if skip_source:
            skip_source = False
            continue
        if line.strip():
            kept.append(line.strip())
    return messages.truncate(" / ".join(kept[-lines:]), limit)


def _mentioning(job: Job, message: messages.SlackMessage) -> messages.SlackMessage:
    """Mention the person who asked, so the outcome notifies them (the status edit does not)."""
    mention = f"<@{job.user_id}>"
    blocks = message["blocks"]
    if len(blocks) < messages.MAX_BLOCKS:
        blocks = [*blocks, messages.context(f"Asked by {mention}")]
    return {"text": f"{mention} {message['text']}", "blocks": blocks}


def _log_slack_error(what: str, job_id: str, exc: Exception) -> None:
    if isinstance(exc, SlackApiError):
        log.warning("Slack refused to %s for job %s: %s", what, job_id, exc.response.get("error"))
    else:
        log.warning("could not %s for job %s: %s", what, job_id, exc)
