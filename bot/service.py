"""`JobService`: what the bot does when someone asks for something, free of Bolt.

The listeners translate Slack payloads into calls here; the AWS Lambdas call the same
methods. Everything a person can get wrong raises a `bot.errors.UserFacingError` whose
message and hint the caller shows them; anything else is a bug, logged by the caller.

Standard library, slack_sdk and the bot's own modules only: this is on the Lambda's path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient

from bot import column_names, slack_files
from bot.command_parser import TrainCommand
from bot.errors import UserFacingError
from bot.jobs import ACTIVE, ActiveLimitReached, Job, new_job_id
from bot.lifecycle import JobLifecycle
from bot.messages import answers, columns, problems
from bot.notifier import Notifier
from bot.ports import Backend, JobEnding, JobEvents
from bot.preview_blocks import preview_failed_message, preview_message
from bot.preview_turns import PreviewTurns
from bot.settings import Settings
from bot.slack_files import SlackFile
from contract.jobs import ErrorInfo, JobResult, JobSpec, PreviousModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainRequest:
    """One person asking for one training job, from any of the ways Slack offers."""

    user_id: str
    channel_id: str
    command: TrainCommand
    file_id: str | None = None  # known when asked from the file (button, shortcut)
    thread_ts: str | None = None  # the thread a mention came from
    dedupe_key: str | None = None  # Slack's id of the user action (event id, view id)
    previous_job_id: str | None = None  # retraining: compare with this job's model


@dataclass(frozen=True, slots=True)
class TrainStarted:
    job: Job
    created: bool  # False: this action had already started `job` (a retry or a double click)
    queue_position: int | None = None
    problem: str | None = (
        None  # the job was recorded but ended before training (its thread says why)
    )
    notes: tuple[str, ...] = ()  # e.g. which column a loosely typed name was taken for

    def sentence(self) -> str:
        text = answers.train_started(
            self.job,
            created=self.created,
            queue_position=self.queue_position,
            problem=self.problem,
        )
        return " ".join((*self.notes, text))


class JobService:
    """Records, stages, launches and cancels jobs (their statuses moved by `lifecycle`)."""

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        client: WebClient,
        notifier: Notifier,
        *,
        lifecycle: JobLifecycle,
        events: JobEvents,
        model_key: bytes | None = None,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.client = client
        self.notifier = notifier
        self.lifecycle = lifecycle
        self.events = events  # where a job that ends before it is launched is reported
        self.model_key = model_key  # checks model.sig before a model scores a file
        self.preview_turns = PreviewTurns(backend.jobs)
        # The workspace (T...) the bot is installed in, as each request names it (bot/app.py):
        # jobs record it so uninstalling the app deletes them.
        self.team_id: str | None = None

    @property
    def token(self) -> str:
        return self._token

    @property
    def _token(self) -> str:
        token = self.client.token
        if not token:
            raise RuntimeError("the Slack client has no bot token")
        return token

    # ---- checks --------------------------------------------------------------------------

    def check_allowed(self, user_id: str, channel_id: str) -> None:
        if not self.settings.channel_allowed(channel_id):
            raise problems.channel_not_allowed()
        if not self.settings.user_allowed(user_id):
            raise problems.user_not_allowed()

    def check_user_limit(self, user_id: str) -> None:
        """`UserFacingError` when the person has as many active jobs as they may."""
        self._check_user_limit(user_id)

    def over_limit(self, user_id: str) -> UserFacingError:
        return self._over_limit(user_id)

    def _check_user_limit(self, user_id: str) -> None:
        # Early, for the common case; `lifecycle.record` takes the slot atomically.
        if self.backend.jobs.count_active(user_id) >= self.settings.max_jobs_per_user:
            raise self._over_limit(user_id)

    def _over_limit(self, user_id: str) -> UserFacingError:
        mine = [j for j in self.backend.jobs.list_for_user(user_id) if j.status in ACTIVE]
        limit = self.settings.max_jobs_per_user
        return problems.too_many_jobs(len(mine), limit, [j.job_id for j in mine])

    def _check_columns(
        self, file: SlackFile, command: TrainCommand
    ) -> tuple[TrainCommand, list[str]]:
        """The command with the file's real column names, when its preview knew them.

        A name that matches no column refuses the request before a job exists; one that
        matches up to case, accents and spacing is used, and the reply says so.
        """
        known = self.backend.jobs.columns_of(file.id) if file.id else None
        if not known:
            return command, []  # not previewed: the job checks the names itself
        notes: list[str] = []

        def real(given: str, key: str) -> str:
            found = column_names.match(known, given)
            if found is None:
                near = column_names.closest(known, given)
                raise columns.no_such_column(given, key, file.name, near, known)
            if found != given:
                notes.append(columns.using_column(found, key, given))
            return found

        checked = replace(
            command,
            target=real(command.target, "target"),
            exclude=tuple(real(name, "exclude") for name in command.exclude),
            keep=tuple(real(name, "keep") for name in command.keep),
        )
        return checked, notes

    # ---- train ---------------------------------------------------------------------------

    def find_file(self, request: TrainRequest) -> SlackFile:
        """The table file this request is about, and so the thread the job answers in."""
        if request.file_id:
            file = slack_files.file_info(self.client, request.file_id, request.channel_id)
        elif request.thread_ts and not request.command.file_name:
            file = self._file_in_thread(request.channel_id, request.thread_ts)
        else:
            file = slack_files.newest_table_file(
                self.client, request.channel_id, request.command.file_name
            )
        if not slack_files.is_table_file(
            {"name": file.name, "filetype": file.filetype, "mimetype": file.mimetype}
        ):
            raise problems.not_a_table(file.name)
        return file

    def _file_in_thread(self, channel_id: str, thread_ts: str) -> SlackFile:
        """The table file of a thread's first message (or of its newest reply carrying one)."""
        try:
            replies: list[dict[str, Any]] = self.client.conversations_replies(
                channel=channel_id, ts=thread_ts, limit=200
            ).get("messages", [])
        except Exception as exc:  # SlackApiError and network errors alike
            raise problems.thread_unreadable() from exc
        parent_first = replies[:1] + list(reversed(replies[1:]))
        for message in parent_first:
            for file in message.get("files") or []:
                if slack_files.is_table_file(file):
                    return slack_files.file_info(self.client, file["id"], channel_id)
        raise problems.no_file_in_thread()

    def train(self, request: TrainRequest) -> TrainStarted:
        """Start a job: record it, announce it in the file's thread, fetch the file, launch.

        Raises `UserFacingError` before anything is recorded (not allowed, over the limit, no
        such file). After the job is recorded, problems end the job with a failure message in
        its thread instead, so nothing a person asked for disappears.
        """
        self.check_allowed(request.user_id, request.channel_id)
        if request.dedupe_key:  # a retry of an action we already took
            existing = self.backend.jobs.get_by_dedupe_key(request.dedupe_key)
            if existing is not None:
                return TrainStarted(existing, created=False)
        file = self.find_file(request)
        command, notes = self._check_columns(file, request.command)
        request = replace(request, command=command)
        duplicate, after = self._repeat_of(request, file)
        if duplicate is not None:  # a double click or the same command typed twice
            return TrainStarted(duplicate, created=False)
        self._check_user_limit(request.user_id)
        budget = self._budget(command)
        claim = self._claim_next(request, file, after)

        try:
            job, created = self.lifecycle.record(
                self._new_job(request, file, budget),
                max_active=self.settings.max_jobs_per_user,
            )
        except ActiveLimitReached:  # another request took the last slot meanwhile
            self.backend.jobs.release(claim)
            raise self._over_limit(request.user_id) from None
        if not created:
            return TrainStarted(job, created=False)

        self.notifier.announce(job)
        try:
            spec_uri = self._stage(job, file, request.previous_job_id)
        except UserFacingError as error:
            self.end_before_start(job, error.message, error.hint, error.code)
            return TrainStarted(job, created=True, problem=error.message, notes=tuple(notes))
        except Exception:
            log.exception("could not stage job %s", job.job_id)
            problem = problems.STAGING_FAILED
            self._end_with_our_fault(job, problem, "internal")
            return TrainStarted(job, created=True, problem=problem)
        try:
            self.backend.launcher.submit(job, spec_uri)
        except Exception:
            log.exception("could not hand job %s to the launcher", job.job_id)
            problem = problems.LAUNCH_FAILED
            self._end_with_our_fault(job, problem, "launch_failed")
            return TrainStarted(job, created=True, problem=problem)
        position = self._waiting_position(job)
        if position:
            self.notifier.show_queue_position(job.job_id, position)
        return TrainStarted(job, created=True, queue_position=position, notes=tuple(notes))

    def _new_job(self, request: TrainRequest, file: SlackFile, budget: int) -> Job:
        command = request.command
        return Job(
            job_id=new_job_id(),
            user_id=request.user_id,
            channel_id=request.channel_id,
            # A file attached to a form is shared nowhere: the thread it was asked from.
            thread_ts=file.thread_ts or file.message_ts or request.thread_ts,
            file_id=file.id,
            file_name=file.name,
            target=command.target,
            task=command.task,
            metric=command.metric,
            time_budget_s=budget,
            exclude_columns=command.exclude,
            keep_columns=command.keep,
            dedupe_key=request.dedupe_key,
            team_id=self.team_id,
            share_to=command.share_to,
        )

    def waiting_position(self, job: Job) -> int | None:
        return self._waiting_position(job)

    def _waiting_position(self, job: Job) -> int | None:
        """The job's place in the queue, when it really has to wait for a free worker."""
        # Older active jobs take the slots first (on AWS, queued ones may be waiting in Batch).
        ahead = [
            other
            for other in self.backend.jobs.list_by_status("queued", "running")
            if (other.created_at, other.job_id) < (job.created_at, job.job_id)
        ]
        if len(ahead) < self.settings.max_concurrent_jobs:
            return None  # it starts now; the dispatcher just has not picked it up yet
        return self.backend.launcher.queue_position(job.job_id)

    def _budget(self, command: TrainCommand) -> int:
        budget = command.time_budget_s or self.settings.default_time_budget_s
        if budget > self.settings.max_time_budget_s:
            raise problems.budget_too_long(budget, self.settings.max_time_budget_s)
        return budget

    def _repeat_of(self, request: TrainRequest, file: SlackFile) -> tuple[Job | None, str]:
        """The active job this request repeats, if any; and the newest job it would follow."""
        command = request.command
        same = [
            job
            for job in self.backend.jobs.list_for_user(request.user_id, limit=100)
            if job.file_id == file.id
            and job.target == command.target
            and job.channel_id == request.channel_id
        ]
        # The newest job's id, not a count: old jobs expire (sweeper) and lists are capped.
        after = same[0].job_id if same else "none"
        return next((job for job in same if job.active), None), after

    def _claim_next(self, request: TrainRequest, file: SlackFile, after: str) -> str:
        """Claim the right to start this person's next job for this file and target.

        Two clicks of one button are two requests with nothing in common but what they ask
        for, and they can arrive at the same moment, before either job exists. Both follow
        the same newest job, so both claim the same key, and exactly one claim succeeds;
        the other request is told the job is already starting. Claimed last, after every
        check that could refuse the request, so a refused request leaves no claim behind.
        """
        target = request.command.target
        key = f"train:{request.channel_id}:{request.user_id}:{file.id}:{target}:{after}"
        if not self.backend.jobs.claim(key):
            raise problems.already_starting(target, file.name)
        return key

    def _stage(self, job: Job, file: SlackFile, previous_job_id: str | None = None) -> str:
        """Copy the Slack file into the artifact store and write the job's spec."""
        artifacts = self.backend.artifacts
        max_bytes = self.settings.max_file_bytes
        chunks = slack_files.download(
            file, self._token, max_bytes, slack_api_url=self.client.base_url
        )
        dataset_uri = artifacts.save_dataset(job.job_id, file.name, chunks, max_bytes)
        spec = JobSpec(
            job_id=job.job_id,
            dataset_uri=dataset_uri,
            file_name=file.name,
            target=job.target,
            task=job.task,  # checked by the command parser
            metric=job.metric,
            time_budget_s=job.time_budget_s,
            exclude_columns=list(job.exclude_columns),
            keep_columns=list(job.keep_columns),
            output_uri=artifacts.output_uri(job.job_id),
            limits=self.settings.input_limits(),
            previous_model=self._previous_model(job, previous_job_id),
        )
        return artifacts.save_spec(spec)

    def _previous_model(self, job: Job, previous_job_id: str | None) -> PreviousModel | None:
        if previous_job_id is None:
            return None
        from bot.retrain_service import stage_previous_model  # it imports this module

        return stage_previous_model(self, job.job_id, previous_job_id)

    # ---- predict -------------------------------------------------------------------------

    def predict(self, request: PredictRequest) -> PredictStarted:
        """Score a shared table with a trained model (bot/prediction_service.py)."""
        return start_prediction(self, request)

    def end_with_our_fault(self, job: Job, message: str, code: str) -> None:
        self._end_with_our_fault(job, message, code)

    def _end_with_our_fault(self, job: Job, message: str, code: str) -> None:
        self.end_before_start(job, message, problems.our_fault_hint(job.job_id), code)

    def end_before_start(self, job: Job, message: str, hint: str, code: str) -> None:
        """End a recorded job that never reached training, with a reason in its thread.

        Its result is saved first, then its end reported like any other's: the event
        handler has the lifecycle end it (`failed`) and the notifier say why.
        """
        result = JobResult(
            job_id=job.job_id,
            status="failed",
            error=ErrorInfo(code=code, message=message, hint=hint),
            file_name=job.file_name,
            target=job.target,
            time_budget_s=job.time_budget_s,
        )
        try:
            self.backend.artifacts.save_result(result)
        except Exception:  # the thread must still get its answer
            log.exception("could not save the result of job %s", job.job_id)
        self.events.job_ended(job.job_id, JobEnding(detail=message))

    # ---- preview -------------------------------------------------------------------------

    def preview_file(
        self,
        *,
        channel_id: str,
        file_id: str,
        message_ts: str,
        thread_ts: str | None,
        user_id: str,
    ) -> None:
        """`_preview_file`, one at a time per person: a burst of shares costs one reader,
        and the files shared meanwhile get no preview (they can still be trained on)."""
        with self.preview_turns.take(user_id) as mine:
            if not mine:
                log.info("no preview of %s: its sharer has one running", file_id)
                return
            self._preview_file(
                channel_id=channel_id,
                file_id=file_id,
                message_ts=message_ts,
                thread_ts=thread_ts,
                user_id=user_id,
            )

    def _preview_file(
        self,
        *,
        channel_id: str,
        file_id: str,
        message_ts: str,
        thread_ts: str | None,
        user_id: str,
    ) -> None:
        """Reply in a shared table's thread with what it holds and a Train button.

        Once per file and channel (a Slack retry or a re-share changes nothing). Files in
        channels or from people the bot is not enabled for are left alone, silently: the bot
        only speaks where it was asked to work.
        """
        if not (self.settings.channel_allowed(channel_id) and self.settings.user_allowed(user_id)):
            return
        if not self.backend.jobs.claim(f"preview:{channel_id}:{file_id}"):
            return
        artifacts = self.backend.artifacts
        holder = f"preview-{file_id}-{channel_id}"  # a job-id-shaped name for the file's copy
        file_name = file_id
        try:
            file = slack_files.file_info(self.client, file_id, channel_id)
            file_name = file.name
            max_bytes = self.settings.max_file_bytes
            chunks = slack_files.download(
                file, self._token, max_bytes, slack_api_url=self.client.base_url
            )
            uri = artifacts.save_dataset(holder, file.name, chunks, max_bytes)
            try:
                preview = self.backend.previewer.preview(uri, file.name)
            finally:
                artifacts.discard_dataset(holder)
            self.backend.jobs.remember_columns(file.id, [c.name for c in preview.columns])
            message = preview_message(
                preview,
                file_id=file.id,
                file_name=file.name,
                default_budget_s=self.settings.default_time_budget_s,
            )
        except UserFacingError as error:
            message = preview_failed_message(file_name, error)
        self.client.chat_postMessage(
            channel=channel_id, thread_ts=thread_ts or message_ts, **message
        )

    # ---- status, list, cancel ------------------------------------------------------------

    def cancel(self, user_id: str, job_id: str) -> str:
        job = self.backend.jobs.get(job_id)
        if job is None:
            raise problems.no_such_job(job_id)
        if job.user_id != user_id:
            raise problems.not_your_job(job_id, job.user_id)
        if not job.active:
            return answers.nothing_to_cancel(job_id, job.status)
        if not self.lifecycle.cancel(job_id):
            latest = self.backend.jobs.get(job_id)
            return answers.ended_before_cancel(job_id, latest.status if latest else "gone")
        self.backend.launcher.cancel(job)
        # The status message says "cancelled" now; a running job's launcher reports its end
        # again later, which changes nothing.
        self.notifier.show_cancelled(job)
        return answers.cancelled(job)

    def describe(self, job: Job) -> str:
        waiting = job.status == "queued"
        position = self.backend.launcher.queue_position(job.job_id) if waiting else None
        return answers.job_line(job, position)

    def status(self, user_id: str, channel_id: str, job_id: str | None) -> str:
        if job_id:
            job = self.backend.jobs.get(job_id)
            # Someone else's job in another channel reads as no job at all: its file name,
            # its owner and fresh links to its model belong to that channel.
            if job is None or (job.channel_id != channel_id and job.user_id != user_id):
                raise problems.no_such_job(job_id)
            return self.describe(job) + self._result_links(job)
        jobs = self.backend.jobs.list_for_user(user_id, limit=5)
        if not jobs:
            return answers.NO_JOBS_YET
        return answers.your_jobs([self.describe(j) for j in jobs])

    def _result_links(self, job: Job) -> str:
        """Fresh links for a finished job: the ones in its thread may have expired."""
        if not job.finished:
            return ""
        result = self.backend.artifacts.load_result(job.job_id)
        if result is None:
            return ""
        links = []
        for label, path in (("report", result.artifacts.report), ("model", result.artifacts.model)):
            if path:
                links.append((label, self.backend.artifacts.link(job.job_id, path)))
        return answers.fresh_links(links)

    def list_jobs(self, channel_id: str) -> str:
        jobs = self.backend.jobs.list_for_channel(channel_id, limit=10)
        if not jobs:
            return answers.NO_JOBS_IN_CHANNEL
        return answers.channel_jobs([self.describe(j) for j in jobs])


# Below the class: bot.prediction_service refers to JobService only for its annotations.
from bot.prediction_service import PredictRequest, PredictStarted, start_prediction  # noqa: E402
