"""The answer to `/automl cost`: this channel's training jobs this month, in one sentence."""

from __future__ import annotations

from bot.messages.cost import usd

NOTHING_AFTER_COST = "cost takes nothing after it: it sums this channel's jobs this month."


def channel_cost_sentence(
    *,
    month: str,
    priced: int,
    unpriced: int,
    spot_usd: float,
    on_demand_usd: float,
    billed_s: int,
    partial: bool,
) -> str:
    if not priced and not unpriced:
        return f"No training jobs were started in this channel in {month}."
    parts = []
    if priced:
        hours = billed_s / 3600
        parts.append(
            f"In {month}, {_jobs(priced)} in this channel cost about {usd(spot_usd)} on "
            f"Fargate Spot ({usd(on_demand_usd)} if they ran on demand), for "
            f"{hours:.1f} billed task hours."
        )
    else:
        parts.append(f"No job in this channel has a recorded cost for {month} yet.")
    if unpriced:
        parts.append(
            f"{_jobs(unpriced).capitalize()} without a recorded cost "
            f"{'is' if unpriced == 1 else 'are'} not counted: still running, stopped before "
            "they started, or run on the local backend."
        )
    if partial:
        parts.append("Only the newest jobs were read: the month's real total is higher.")
    parts.append("Prices are AWS's list prices for the region; the bill has the exact figure.")
    return " ".join(parts)


def _jobs(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"
