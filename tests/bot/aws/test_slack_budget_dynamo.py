"""The progress budget shared by Lambda invocations through the job table (moto)."""

from __future__ import annotations

from typing import Any

from bot.slack_budget import DynamoWindowCounter, ProgressBudget
from tests.bot.aws.conftest import TABLE


def test_two_lambdas_share_one_window_through_the_table(dynamodb_client: Any) -> None:
    now = [1_000_002.0]
    lambdas = [
        ProgressBudget(DynamoWindowCounter(dynamodb_client, TABLE), clock=lambda: now[0])
        for _ in range(2)
    ]  # two containers, nothing shared in memory
    taken = [budget.try_take() for _ in range(5) for budget in lambdas]
    assert taken.count(True) == 4  # 40 a minute: 4 in a 6 s window, whoever asks

    lambdas[0].spend()  # a result is counted even past the limit, never refused
    now[0] += 6.0
    assert lambdas[1].try_take()  # the next window has room again


def test_a_table_that_cannot_be_reached_holds_progress_back(dynamodb_client: Any) -> None:
    budget = ProgressBudget(DynamoWindowCounter(dynamodb_client, "no-such-table"))
    assert budget.try_take() is False
    budget.spend()  # logged, not raised: a result must still go out
