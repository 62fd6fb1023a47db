"""Times in messages are `<!date^…>` tokens: each reader sees their own time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from bot.jobs import Job
from bot.messages.answers import job_line
from bot.messages.times import slack_time

MOMENT = datetime(2026, 12, 3, 15, 21, 40, tzinfo=UTC)
TOKEN = re.compile(r"<!date\^(\d+)\^\{date_short_pretty\} \{time\}\|([^>]+)>")


def test_a_time_is_a_date_token_with_a_utc_fallback() -> None:
    match = TOKEN.fullmatch(slack_time(MOMENT))
    assert match is not None
    assert int(match.group(1)) == int(MOMENT.timestamp())
    assert match.group(2) == "2026-12-03 15:21 UTC"


def test_the_same_instant_in_another_zone_gives_the_same_token() -> None:
    tokyo = MOMENT.astimezone(timezone(timedelta(hours=9)))
    assert slack_time(tokyo) == slack_time(MOMENT)


def test_a_naive_time_is_read_as_utc() -> None:
    assert slack_time(MOMENT.replace(tzinfo=None)) == slack_time(MOMENT)


def test_the_job_list_shows_when_as_a_date_token() -> None:
    job = Job(
        job_id="j1",
        user_id="U1",
        channel_id="C1",
        thread_ts="1.0",
        file_name="churn.csv",
        target="churned",
        created_at=MOMENT,
    )
    line = job_line(job)
    assert slack_time(MOMENT) in line
    assert "15:21 UTC ·" not in line and not line.endswith("15:21 UTC")
