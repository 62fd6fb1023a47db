"""What a job cost on Fargate: vCPU and memory times billed time, at configured prices.

Fargate bills each task per second with a one-minute minimum, for the vCPU and memory the
task asked for, whatever it used. A Batch job that was retried ran one task per attempt,
and every attempt is billed. On-demand prices default to the running region's list prices
(`contract.aws.FARGATE_PRICES_BY_REGION`, from AWS_REGION, which Lambda sets). Spot prices
vary by region and hour; the Spot price here is a configured fraction of on demand, so the
figure is an estimate and says so.

The sentence a person reads is in `bot.messages.cost`. Standard library, pydantic-settings,
`contract` and `bot.messages` only: the completion Lambda imports this.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.messages.cost import cost_sentence
from contract import aws
from contract import environment as env

MIN_BILLED_S = 60
MIB_PER_GB = 1024
DEFAULT_REGION = "us-east-1"


def region_prices(region: str | None) -> tuple[float, float]:
    """On-demand (USD per vCPU-hour, per GB-hour) in `region`; us-east-1's when not listed."""
    table = aws.FARGATE_PRICES_BY_REGION
    return table.get(region or DEFAULT_REGION, table[DEFAULT_REGION])


def _running_region() -> str | None:
    # Lambda sets AWS_REGION; a shell with a profile usually has AWS_DEFAULT_REGION.
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


class FargatePrices(BaseSettings):
    """Prices per hour: the environment's, else the running region's Linux/x86 on demand."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    vcpu_hour_usd: float = Field(
        default_factory=lambda: region_prices(_running_region())[0],
        ge=0,
        alias=env.FARGATE_VCPU_HOUR_USD,
    )
    gb_hour_usd: float = Field(
        default_factory=lambda: region_prices(_running_region())[1],
        ge=0,
        alias=env.FARGATE_GB_HOUR_USD,
    )
    # Fargate Spot has run at roughly 30 % of on demand; it varies, hence a setting.
    spot_fraction: float = Field(
        default=aws.FARGATE_SPOT_FRACTION, gt=0, le=1, alias=env.FARGATE_SPOT_FRACTION
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    vcpu: float
    memory_mib: int
    seconds: float  # from the task's start to its stop


@dataclass(frozen=True, slots=True)
class JobCost:
    attempts: int
    vcpu: float
    memory_mib: int
    billed_s: int
    on_demand_usd: float
    spot_usd: float

    def to_json(self) -> str:
        """The record kept in the run folder (`contract.aws.JOB_COST_FILE`)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> JobCost:
        """ValueError for a record that is not one."""
        try:
            fields = json.loads(text)
            return cls(
                attempts=int(fields["attempts"]),
                vcpu=float(fields["vcpu"]),
                memory_mib=int(fields["memory_mib"]),
                billed_s=int(fields["billed_s"]),
                on_demand_usd=float(fields["on_demand_usd"]),
                spot_usd=float(fields["spot_usd"]),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"not a job cost record: {error}") from error

    def sentence(self) -> str:
        """One line for the results message."""
        return cost_sentence(
            attempts=self.attempts,
            vcpu=self.vcpu,
            memory_gb=self.memory_mib / MIB_PER_GB,
            billed_s=self.billed_s,
            on_demand_usd=self.on_demand_usd,
            spot_usd=self.spot_usd,
        )


def billed_seconds(seconds: float) -> int:
    """Per second, rounded up, with Fargate's one-minute minimum."""
    return max(MIN_BILLED_S, int(-(-seconds // 1)))


def job_cost(attempts: list[Attempt], prices: FargatePrices) -> JobCost | None:
    """The cost of every attempt together; None when no attempt ran."""
    if not attempts:
        return None
    on_demand = 0.0
    billed_total = 0
    for attempt in attempts:
        billed = billed_seconds(attempt.seconds)
        billed_total += billed
        hours = billed / 3600
        on_demand += hours * (
            attempt.vcpu * prices.vcpu_hour_usd
            + attempt.memory_mib / MIB_PER_GB * prices.gb_hour_usd
        )
    last = attempts[-1]
    return JobCost(
        attempts=len(attempts),
        vcpu=last.vcpu,
        memory_mib=last.memory_mib,
        billed_s=billed_total,
        on_demand_usd=on_demand,
        spot_usd=on_demand * prices.spot_fraction,
    )
