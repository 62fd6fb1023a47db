"""Generate samples/churn.csv, the demo file: a customer table with the mess real exports have.

Run `python samples/make_churn.py` to regenerate it; the output is deterministic.
It has an identifier column, a constant column, dates, categoricals, `?` and empty cells,
so the demo shows what the job does with each.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROWS = 3000
OUT = Path(__file__).with_name("churn.csv")


def main() -> None:
    rng = np.random.default_rng(7)
    plans = rng.choice(["Basic", "Standard", "Premium"], ROWS, p=[0.5, 0.35, 0.15])
    contracts = rng.choice(["month-to-month", "one-year", "two-year"], ROWS, p=[0.55, 0.25, 0.2])
    regions = rng.choice(["North", "South", "East", "West"], ROWS)
    tenure = rng.integers(1, 72, ROWS)
    monthly = np.round(
        np.select([plans == "Basic", plans == "Standard"], [25.0, 55.0], 95.0)
        + rng.normal(0, 8, ROWS),
        2,
    )
    support_calls = rng.poisson(1.5, ROWS)
    last_login_days = rng.exponential(12, ROWS).astype(int)
    paperless = rng.choice(["yes", "no"], ROWS)
    start = date(2021, 1, 1)
    signup = [start + timedelta(days=int(d)) for d in rng.integers(0, 1000, ROWS)]
    # Customers who signed up in December (holiday promotions) churn more: a date signal.
    december = np.array([d.month == 12 for d in signup])

    logit = (
        -1.2
        + 1.1 * (contracts == "month-to-month")
        - 0.9 * (contracts == "two-year")
        - 0.035 * tenure
        + 0.45 * support_calls
        + 0.04 * last_login_days
        + 0.012 * (monthly - 50)
        + 0.9 * december
    )
    churned = rng.random(ROWS) < 1 / (1 + np.exp(-logit))

    with OUT.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "customer_id", "signup_date", "plan", "contract", "region", "country",
                "tenure_months", "monthly_charges", "support_calls", "last_login_days",
                "paperless_billing", "churned",
            ]
        )  # fmt: skip
        for i in range(ROWS):
            region = "?" if rng.random() < 0.04 else regions[i]
            charges = "" if rng.random() < 0.03 else f"{monthly[i]:.2f}"
            writer.writerow(
                [
                    f"C{100000 + i}", signup[i].isoformat(), plans[i], contracts[i], region,
                    "US", tenure[i], charges, support_calls[i], last_login_days[i],
                    paperless[i], "yes" if churned[i] else "no",
                ]
            )  # fmt: skip


if __name__ == "__main__":
    main()
