"""Generate samples/churn.csv, the demo file: a customer table with the mess real exports have,
and samples/new-customers.csv: newer customers of the same kind without the `churned`
column, the file the demo scores with the model it trained.

Run `python samples/make_churn.py` to regenerate them; the output is deterministic.
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
NEW_ROWS = 300
NEW_OUT = Path(__file__).with_name("new-customers.csv")


def main() -> None:
    write_customers(OUT, rows=ROWS, seed=7, first_id=100000, with_target=True)
    write_customers(NEW_OUT, rows=NEW_ROWS, seed=8, first_id=200000, with_target=False)


def write_customers(path: Path, *, rows: int, seed: int, first_id: int, with_target: bool) -> None:
    # The draws, in this order, are those that made churn.csv: keep them so.
    rng = np.random.default_rng(seed)
    plans = rng.choice(["Basic", "Standard", "Premium"], rows, p=[0.5, 0.35, 0.15])
    contracts = rng.choice(["month-to-month", "one-year", "two-year"], rows, p=[0.55, 0.25, 0.2])
    regions = rng.choice(["North", "South", "East", "West"], rows)
    tenure = rng.integers(1, 72, rows)
    monthly = np.round(
        np.select([plans == "Basic", plans == "Standard"], [25.0, 55.0], 95.0)
        + rng.normal(0, 8, rows),
        2,
    )
    support_calls = rng.poisson(1.5, rows)
    last_login_days = rng.exponential(12, rows).astype(int)
    paperless = rng.choice(["yes", "no"], rows)
    start = date(2021, 1, 1)
    signup = [start + timedelta(days=int(d)) for d in rng.integers(0, 1000, rows)]
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
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))

    target = ["churned"] if with_target else []
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "customer_id", "signup_date", "plan", "contract", "region", "country",
                "tenure_months", "monthly_charges", "support_calls", "last_login_days",
                "paperless_billing", *target,
            ]
        )  # fmt: skip
        for i in range(rows):
            region = "?" if rng.random() < 0.04 else regions[i]
            charges = "" if rng.random() < 0.03 else f"{monthly[i]:.2f}"
            outcome = ["yes" if churned[i] else "no"] if with_target else []
            writer.writerow(
                [
                    f"C{first_id + i}", signup[i].isoformat(), plans[i], contracts[i], region,
                    "US", tenure[i], charges, support_calls[i], last_login_days[i],
                    paperless[i], *outcome,
                ]
            )  # fmt: skip


if __name__ == "__main__":
    main()
