"""A job whose EDA report cannot be ready within its budget, through the whole local bot: its
results are posted at once, saying the report is being made, and the link follows in the
thread; a job killed before its report is done says the report could not be finished."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.messages.results import REPORT_PENDING, REPORT_UNFINISHED
from contract.jobs import FinishedEvent, JobResult, parse_event
from contract.run_folder import EVENTS_FILE, RESULT_FILE, RUNS_DIR
from tests.bot.blocks import links, shown
from tests.bot.harness import BotUnderTest, wait_for
from tests.bot.test_end_to_end import is_results, nothing_broken, replies, share, started_job_id
from tests.fakes.slack_api import FakeSlack, fake_slack
from tests.training.test_report_follow_up import wide_numbers

__all__ = ["fake_slack"]

pytestmark = pytest.mark.slow

READY = "The EDA report is ready"
# 2,000 rows and 60 columns in a 5 s job: the time model expects the report to need far more.
WIDE = wide_numbers(2_000, 60)


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[BotUnderTest]:
    under_test = BotUnderTest(fake_slack, tmp_path / "data")
    yield under_test
    under_test.close()
    terminate = getattr(under_test.bot.backend.launcher, "terminate_all", None)
    if terminate:
        terminate()


def train_on_a_wide_table(bot: BotUnderTest) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Share the table, train on it; the file, the job id and the results message."""
    file = share(bot, "wide.csv", WIDE.to_csv(index=False).encode())
    wait_for(lambda: replies(bot, file), 120, "the preview")
    answer = bot.post(bot.requests.command(bot.fake.channel, "train target=label time=5s"))
    assert answer.status == 200
    job_id = started_job_id(bot)
    assert bot.wait_for_job_end(job_id).status == "succeeded"
    results = wait_for(
        lambda: [m for m in replies(bot, file) if is_results(m)], 60, "the results message"
    )
    assert len(results) == 1
    return file, job_id, results[0]


def saying(bot: BotUnderTest, file: dict[str, Any], words: str) -> list[dict[str, Any]]:
    return [m for m in replies(bot, file) if any(words in text for text in shown(m))]


def test_results_first_then_the_report_link_in_the_thread(bot: BotUnderTest) -> None:
    file, job_id, results = train_on_a_wide_table(bot)
    run = bot.data_dir / RUNS_DIR / job_id
    # The results went out while the report was still being made, and say so.
    (finished,) = [
        event
        for line in (run / EVENTS_FILE).read_text().splitlines()
        if isinstance(event := parse_event(line), FinishedEvent)
    ]
    assert finished.report_pending
    assert any(REPORT_PENDING in text for text in shown(results))
    assert "Open the data report" not in links(results["blocks"])

    (ready,) = wait_for(lambda: saying(bot, file, READY), 240, "the report's link")
    assert float(ready["ts"]) > float(results["ts"])
    report = bot.get(links(ready["blocks"])["Open the data report"])
    assert report.status == 200
    assert all(f">{name}<" in report.text for name in WIDE.columns)  # every column
    final = JobResult.model_validate_json((run / RESULT_FILE).read_bytes())
    assert not final.report_pending and final.artifacts.report == "report.html"

    # The job's exit ends nothing twice and says nothing more.
    pid = json.loads((run / "launcher.json").read_text())["pid"]
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 60, "the job to exit")
    thread = replies(bot, file)
    assert len([m for m in thread if is_results(m)]) == 1
    assert not saying(bot, file, REPORT_UNFINISHED) and nothing_broken(thread)


def test_a_job_killed_before_its_report_says_it_could_not_be_finished(bot: BotUnderTest) -> None:
    file, job_id, results = train_on_a_wide_table(bot)
    assert any(REPORT_PENDING in text for text in shown(results))
    run = bot.data_dir / RUNS_DIR / job_id
    pid = json.loads((run / "launcher.json").read_text())["pid"]
    os.killpg(pid, signal.SIGKILL)  # as the kernel's OOM killer or a crash would

    (said,) = wait_for(lambda: saying(bot, file, REPORT_UNFINISHED), 60, "the missing report")
    assert float(said["ts"]) > float(results["ts"])
    assert not saying(bot, file, READY)
    thread = replies(bot, file)
    assert len([m for m in thread if is_results(m)]) == 1 and nothing_broken(thread)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True
