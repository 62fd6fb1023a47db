"""`/automl cost` and the prices behind it: the parser's word, the dispatcher's answer over the
real local stores, the month's boundary, and the region's default prices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.backends.local.artifacts import LocalArtifactStore
from bot.backends.local.job_store import SqliteJobStore
from bot.channel_cost import channel_cost
from bot.command_dispatcher import run_command
from bot.command_parser import CommandError, CostCommand, parse_command
from bot.cost import Attempt, FargatePrices, JobCost, job_cost, region_prices
from tests.builders import make_job

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
LAST_MONTH = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


@pytest.fixture
def stores(tmp_path: Path) -> tuple[SqliteJobStore, LocalArtifactStore]:
    return SqliteJobStore(tmp_path / "jobs.sqlite"), LocalArtifactStore(tmp_path / "data")


def _job_with_cost(
    stores: tuple[SqliteJobStore, LocalArtifactStore],
    job_id: str,
    *,
    created_at: datetime = NOW,
    channel_id: str = "C1",
    seconds: float | None = 3600,
) -> JobCost | None:
    jobs, artifacts = stores
    jobs.create(make_job(job_id=job_id, channel_id=channel_id, created_at=created_at))
    if seconds is None:
        return None
    prices = FargatePrices(vcpu_hour_usd=0.04, gb_hour_usd=0.004, spot_fraction=0.3)
    cost = job_cost([Attempt(vcpu=2, memory_mib=4096, seconds=seconds)], prices)
    assert cost is not None
    run = artifacts.run_dir(job_id)
    run.mkdir(parents=True, exist_ok=True)
    (run / "cost.json").write_text(cost.to_json())
    return cost


def test_cost_is_a_command_that_takes_nothing() -> None:
    assert parse_command("cost") == CostCommand()
    assert parse_command("<@U1> COST") == CostCommand()
    with pytest.raises(CommandError, match="cost takes nothing after it"):
        parse_command("cost everything")


def test_the_channel_s_jobs_of_this_month_are_summed(
    stores: tuple[SqliteJobStore, LocalArtifactStore],
) -> None:
    first = _job_with_cost(stores, "aaaa0001", seconds=3600)
    second = _job_with_cost(stores, "aaaa0002", seconds=30)  # billed one minute
    _job_with_cost(stores, "aaaa0003", created_at=LAST_MONTH)  # another month
    _job_with_cost(stores, "aaaa0004", channel_id="C2")  # another channel
    _job_with_cost(stores, "aaaa0005", seconds=None)  # no record yet
    assert first is not None and second is not None

    total = channel_cost(*stores, "C1", now=NOW)
    assert (total.priced, total.unpriced, total.partial) == (2, 1, False)
    assert total.billed_s == 3600 + 60
    assert total.spot_usd == pytest.approx(first.spot_usd + second.spot_usd)
    assert total.on_demand_usd == pytest.approx((3660 / 3600) * (2 * 0.04 + 4 * 0.004))
    sentence = total.sentence()
    assert sentence.startswith("In December 2026, 2 jobs in this channel cost about $")
    assert "1 job without a recorded cost is not counted" in sentence


def test_a_channel_without_jobs_this_month_is_told_so(
    stores: tuple[SqliteJobStore, LocalArtifactStore],
) -> None:
    _job_with_cost(stores, "bbbb0001", created_at=LAST_MONTH)
    answer = channel_cost(*stores, "C1", now=NOW).sentence()
    assert answer == "No training jobs were started in this channel in December 2026."


def test_the_dispatcher_answers_cost_for_the_channel_it_was_typed_in(
    stores: tuple[SqliteJobStore, LocalArtifactStore],
) -> None:
    _job_with_cost(stores, "cccc0001")
    allowed: list[tuple[str, str]] = []
    jobs, artifacts = stores
    service: Any = SimpleNamespace(
        backend=SimpleNamespace(jobs=jobs, artifacts=artifacts),
        check_allowed=lambda user, channel: allowed.append((user, channel)),
    )
    answer = run_command(service, CostCommand(), user_id="U1", channel_id="C1")
    assert answer is not None and "1 job in this channel cost about $" in answer
    assert allowed == [("U1", "C1")]  # the channel and person limits apply, as for list


def test_default_prices_follow_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AUTOML_FARGATE_VCPU_HOUR_USD",
        "AUTOML_FARGATE_GB_HOUR_USD",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    frankfurt = FargatePrices()
    assert (frankfurt.vcpu_hour_usd, frankfurt.gb_hour_usd) == region_prices("eu-central-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    virginia = FargatePrices()
    assert (virginia.vcpu_hour_usd, virginia.gb_hour_usd) == (0.04048, 0.004445)
    assert frankfurt.vcpu_hour_usd > virginia.vcpu_hour_usd
    # A region not in the table gets us-east-1's; the environment overrides either.
    assert region_prices("xx-nowhere-1") == region_prices("us-east-1")
    monkeypatch.setenv("AUTOML_FARGATE_VCPU_HOUR_USD", "1")
    assert FargatePrices().vcpu_hour_usd == 1


def test_a_cost_record_round_trips_and_a_bad_one_is_refused() -> None:
    cost = job_cost([Attempt(1, 2048, 10), Attempt(1, 2048, 120)], FargatePrices())
    assert cost is not None
    assert JobCost.from_json(cost.to_json()) == cost
    with pytest.raises(ValueError, match="not a job cost record"):
        JobCost.from_json('{"attempts": 1}')
