"""What a job cost, in one line of the results message; the figures come from `bot.cost`."""

from __future__ import annotations


def cost_sentence(
    *,
    attempts: int,
    vcpu: float,
    memory_gb: float,
    billed_s: int,
    on_demand_usd: float,
    spot_usd: float,
) -> str:
    retried = f", {attempts} attempts" if attempts > 1 else ""
    minutes, seconds = divmod(billed_s, 60)
    billed = f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
    return (
        f"About {usd(spot_usd)} on Fargate Spot ({usd(on_demand_usd)} if it ran "
        f"on demand): {vcpu:g} vCPU and {memory_gb:g} GB for {billed} billed{retried}."
    )


def usd(amount: float) -> str:
    if amount < 0.01:
        return f"${amount:.4f}"
    return f"${amount:.2f}"
