"""One chat.update budget for the progress of every job, and the stand-in's Tier-3 limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.backends.local.artifacts import LocalArtifactStore
from bot.backends.local.job_store import SqliteJobStore
from bot.jobs import Job
from bot.links import LinkSigner
from bot.notifier import Notifier
from bot.outcome import Outcome
from bot.slack_budget import MemoryWindowCounter, ProgressBudget
from bot.slack_client import make_client
from contract.jobs import ProgressEvent, utc_now
from tests.builders import make_job, make_result
from tests.fakes.slack_api import FakeSlack


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def most_in_any_minute(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for t in times if start <= t < start + 60) for start in times), default=0)


def progress(job_id: str, trials: int) -> ProgressEvent:
    return ProgressEvent(
        job_id=job_id,
        at=utc_now() + timedelta(seconds=trials),
        stage="search",
        elapsed_s=float(trials),
        budget_s=600,
        trials=trials,
        best_estimator="lgbm",
        best_score=0.8,
        metric="roc_auc",
    )


@dataclass
class Many:
    fake: FakeSlack
    store: SqliteJobStore
    clock: Clock
    notifier: Notifier
    jobs: list[Job]


@pytest.fixture
def many(tmp_path: Path) -> Iterator[Many]:
    """Twenty running jobs with their status messages, one notifier sharing a 40/min budget."""
    with FakeSlack() as fake, SqliteJobStore(tmp_path / "jobs.sqlite3") as store:
        artifacts = LocalArtifactStore(
            tmp_path / "data", signer=LinkSigner(b"k" * 32), public_url="https://x"
        )
        clock = Clock()
        budget = ProgressBudget(MemoryWindowCounter(), per_minute=40, clock=clock)
        notifier = Notifier(
            make_client(fake.bot_token, fake.url),
            store,
            artifacts,
            min_update_interval_s=2.0,
            clock=clock,
            budget=budget,
        )
        jobs = []
        for i in range(20):
            file = fake.add_file(f"t{i}.csv", b"a,y\n1,0\n", channel=fake.channel)
            job, _ = store.create(
                make_job(user_id=f"U{i}", channel_id=fake.channel, thread_ts=file["message_ts"])
            )
            notifier.announce(job)
            store.transition(job.job_id, "running")
            jobs.append(store.get(job.job_id))
        yield Many(fake, store, clock, notifier, [j for j in jobs if j is not None])


def test_the_budget_shared_by_many_jobs_never_exceeds_its_rate(many: Many) -> None:
    times: list[float] = []
    for second in range(0, 300, 2):  # 5 minutes of progress from 20 jobs every 2 s
        many.clock.now += 2
        for trial_job in many.jobs:
            before = len(many.fake.calls("chat.update"))
            many.notifier.show_progress(trial_job.job_id, progress(trial_job.job_id, second))
            times += [many.clock.now] * (len(many.fake.calls("chat.update")) - before)

    assert len(times) >= 150  # the budget is used, not starved: ~40 a minute for 5 minutes
    assert most_in_any_minute(times) <= 44  # 40 a minute in 6 s windows of 4: at most 11 of them


def test_finals_never_wait_for_the_budget(many: Many, tmp_path: Path) -> None:
    for trial_job in many.jobs:  # spend the whole window's progress budget
        many.notifier.show_progress(trial_job.job_id, progress(trial_job.job_id, 1))
    spent = len(many.fake.calls("chat.update"))
    assert spent < len(many.jobs)  # some progress was held back

    job = many.jobs[-1]
    many.store.transition(job.job_id, "succeeded")
    ended = many.store.get(job.job_id)
    assert ended is not None
    many.notifier.show_outcome(ended, Outcome(result=make_result(ended), result_path=None))

    final = many.fake.calls("chat.update")[spent:]
    assert [c.ok for c in final] == [True]  # the final status went out at once
    assert final[0].params["ts"] == ended.status_ts


def test_without_room_progress_is_coalesced_into_the_next_update(many: Many) -> None:
    for trial_job in many.jobs[1:]:  # the other jobs take this window's room
        many.notifier.show_progress(trial_job.job_id, progress(trial_job.job_id, 1))
    job = many.jobs[0]
    before = len(many.fake.calls("chat.update"))
    many.notifier.show_progress(job.job_id, progress(job.job_id, 7))
    many.notifier.show_progress(job.job_id, progress(job.job_id, 9))
    assert len(many.fake.calls("chat.update")) == before  # no room: nothing sent

    many.clock.now += 6  # the next window has room
    many.notifier.show_progress(job.job_id, progress(job.job_id, 8))  # late and older

    shown = [c for c in many.fake.calls("chat.update")[before:] if c.params["ts"] == job.status_ts]
    assert len(shown) == 1
    assert "9 trials" in shown[0].params["text"]  # the newest progress, not the late one


def test_the_interval_grows_with_the_jobs_sharing_the_budget() -> None:
    budget = ProgressBudget(MemoryWindowCounter(), per_minute=40)
    assert budget.interval_s(1, 10.0) == 10.0
    assert budget.interval_s(30, 10.0) == 45.0


# ---- the stand-in's Tier 3 ---------------------------------------------------------------------


def test_the_stand_in_answers_429_past_its_chat_update_limit() -> None:
    with FakeSlack(chat_update_per_minute=3) as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)  # no retry handler
        ts = client.chat_postMessage(channel=fake.channel, text="status")["ts"]
        for n in range(3):
            assert client.chat_update(channel=fake.channel, ts=ts, text=f"step {n}")["ok"]
        with pytest.raises(SlackApiError) as refused:
            client.chat_update(channel=fake.channel, ts=ts, text="one too many")
        assert refused.value.response.status_code == 429
        assert 1 <= int(refused.value.response.headers["Retry-After"]) <= 60
        assert client.chat_postMessage(channel=fake.channel, text="other methods")["ok"]


def test_the_stand_in_has_no_tier_limit_unless_asked() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)
        ts = client.chat_postMessage(channel=fake.channel, text="status")["ts"]
        for n in range(60):
            assert client.chat_update(channel=fake.channel, ts=ts, text=f"step {n}")["ok"]


def test_a_burst_of_updates_that_do_not_wait_holds_progress_back() -> None:
    clock = Clock()
    budget = ProgressBudget(MemoryWindowCounter(), per_minute=40, clock=clock)
    sent = [clock.now] * 30
    for _ in range(30):  # thirty jobs start at once: never refused
        budget.spend()
    for _ in range(120):  # progress asked for every half second for a minute
        if budget.try_take():
            sent.append(clock.now)
        clock.now += 0.5

    assert most_in_any_minute(sent) <= 44  # the burst is paid for, not added to
    assert len(sent) > 30  # and progress resumes within the minute
