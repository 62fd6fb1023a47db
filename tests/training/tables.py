"""Small tables for tests, from sklearn's bundled data sets or generated with a fixed seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def breast_cancer(path: Path, rows: int | None = None) -> Path:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = frame["diagnosis"].map({0: "malignant", 1: "benign"})
    if rows:
        frame = frame.sample(rows, random_state=0)
    frame.to_csv(path, index=False)
    return path


def iris(path: Path) -> Path:
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    frame = data.frame
    frame["species"] = [data.target_names[i] for i in frame.pop("target")]
    frame.to_csv(path, index=False)
    return path


def diabetes(path: Path) -> Path:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    frame.to_csv(path, index=False)
    return path


def messy_regression(path: Path, rows: int = 600, seed: int = 0) -> Path:
    """An id, a date, a text number with a currency sign, a category and gaps."""
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
    size = rng.uniform(20, 200, rows)
    kind = rng.choice(["flat", "house", "loft"], rows)
    price = (
        1000 * size
        + 30000 * (kind == "loft")
        + 80 * (dates.day_of_year)
        + rng.normal(0, 5000, rows)
    )
    frame = pd.DataFrame(
        {
            "listing_id": np.arange(10_000, 10_000 + rows),
            "listed_on": dates.strftime("%d/%m/%Y"),
            "size_m2": np.round(size, 1),
            "kind": kind,
            "deposit": [f"${v:,.0f}" for v in price / 10],
            "price": np.round(price, 0),
        }
    )
    frame.loc[rng.random(rows) < 0.05, "size_m2"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "kind"] = "?"
    frame.to_csv(path, index=False)
    return path


def wide_binary(path: Path, rows: int = 20_000) -> Path:
    """20 numeric columns and an up/down label: big enough that a search is still going a few
    trials in, when a test sends SIGTERM."""
    rng = np.random.default_rng(3)
    features = rng.normal(size=(rows, 20))
    logits = features[:, :5].sum(axis=1) + rng.normal(size=rows)
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(20)])
    frame["label"] = np.where(logits > 0, "up", "down")
    frame.to_csv(path, index=False)
    return path
