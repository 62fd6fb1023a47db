"""The cost line and the reading of Batch's events: pure functions, no AWS."""

from __future__ import annotations

import pytest

from bot.aws_lambda.batch_events import (
    attempts_of,
    ending_of,
    exit_code_of,
    job_id_of,
    log_stream_of,
    reason_sentence,
)
from bot.cost import Attempt, FargatePrices, billed_seconds, job_cost
from tests.bot.aws_lambda.batch_event import attempt, batch_event

PRICES = FargatePrices()


def test_fargate_bills_per_second_with_a_one_minute_minimum() -> None:
    assert billed_seconds(0) == 60
    assert billed_seconds(59.2) == 60
    assert billed_seconds(60.01) == 61
    assert billed_seconds(125) == 125


def test_default_prices_are_us_east_1_on_demand() -> None:
    cost = job_cost([Attempt(vcpu=2, memory_mib=4096, seconds=3600)], PRICES)
    assert cost is not None
    assert cost.on_demand_usd == pytest.approx(2 * 0.04048 + 4 * 0.004445)
    assert cost.spot_usd == pytest.approx(cost.on_demand_usd * 0.3)
    assert "2 vCPU and 4 GB" in cost.sentence() and "Spot" in cost.sentence()


def test_every_attempt_is_billed_and_prices_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_FARGATE_VCPU_HOUR_USD", "1")
    monkeypatch.setenv("AUTOML_FARGATE_GB_HOUR_USD", "0")
    prices = FargatePrices()
    cost = job_cost([Attempt(1, 2048, 10), Attempt(1, 2048, 120)], prices)
    assert cost is not None
    assert cost.billed_s == 180  # 60 (minimum) + 120
    assert cost.on_demand_usd == pytest.approx(180 / 3600)
    assert "2 attempts" in cost.sentence()
    assert job_cost([], prices) is None


def test_a_succeeded_job_reads_as_its_id_cost_and_exit_code() -> None:
    event = batch_event("3fa9c1b2", "SUCCEEDED", attempts=[attempt(1_700_000_100_000, 95.5)])
    detail = event["detail"]
    assert job_id_of(detail) == "3fa9c1b2"
    assert exit_code_of(detail) == 0
    assert attempts_of(detail) == [Attempt(2.0, 4096, 95.5)]
    ending = ending_of(detail, prices=PRICES)
    assert ending.exit_code == 0 and ending.detail == "" and "$" in ending.cost


def test_jobs_that_are_not_ours_are_recognised() -> None:
    assert job_id_of(batch_event("x", "FAILED", name_prefix="nightly-")["detail"]) is None


@pytest.mark.parametrize(
    ("reason", "attempt_reason", "exit_code", "expected"),
    [
        ("Job attempt duration exceeded timeout", "", None, "time limit"),
        ("", "Your Spot Task was interrupted.", 3, "Spot"),
        ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - no capacity", "", None, "capacity"),
        ("", "CannotPullContainerError: pull access denied", None, "container"),
        ("Essential container in task exited", "", 1, "exit code 1"),
    ],
)
def test_failures_are_explained_in_words(
    reason: str, attempt_reason: str, exit_code: int | None, expected: str
) -> None:
    attempts = [attempt(1_700_000_100_000, 30, exit_code=exit_code, reason=attempt_reason)]
    detail = batch_event("j1", "FAILED", attempts=attempts, reason=reason)["detail"]
    sentence = reason_sentence(detail)
    assert expected in sentence
    assert "Error" not in sentence and "CAPACITY:" not in sentence  # AWS's words stay in the log


def test_a_job_that_never_ran_costs_nothing_and_still_has_a_reason() -> None:
    detail = batch_event("j2", "FAILED", reason="MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")[
        "detail"
    ]
    ending = ending_of(detail, prices=PRICES)
    assert ending.cost == "" and "could not start" in ending.detail
    assert log_stream_of(detail) is None
