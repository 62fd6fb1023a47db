"""Numbers written the way people in different countries write them, and infinite values:
parsed by training.input.numbers, planned by training.pipeline.features, read from real files."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.input.numbers import (
    COMMA,
    DOT,
    count_non_finite,
    non_finite_note,
    number_format_of,
    parse_numbers,
)
from training.input.reading import read_table
from training.pipeline.features import plan_features
from training.pipeline.target import prepare_target
from training.run import RunOptions, run_job


def parsed(values: list[str | None]) -> list[float]:
    return parse_numbers(pd.Series(values, dtype="str")).tolist()


def plan_of(frame: pd.DataFrame, target: str = "y"):
    return plan_features(frame.drop(columns=[target]), prepare_target(frame, target, "auto"))


# ---- one column at a time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1.076,90 €", "12,50 €", "€ 3,00", "EUR 2.000,00"], [1076.9, 12.5, 3.0, 2000.0]),
        (["1 076,90", "1\u00a0076,90", "1\u202f076,90", "0,5"], [1076.9, 1076.9, 1076.9, 0.5]),
        (["(1.234,50)", "1.234,50-", "-5,25", "+7,5"], [-1234.5, -1234.5, -5.25, 7.5]),
        (["CHF 1'076.90", "1'234.5", "1’000.25", "12.05"], [1076.9, 1234.5, 1000.25, 12.05]),
        (["$1,234.50", "($5.00)", "USD 7.25", "-$3.10"], [1234.5, -5.0, 7.25, -3.1]),
        (["£1,000", "¥20", "15%", "+3", "1e3"], [1000.0, 20.0, 15.0, 3.0, 1000.0]),
    ],
    ids=["german", "spaces", "negatives", "swiss", "us-money", "signs"],
)
def test_numbers_as_people_write_them(values: list[str], expected: list[float]) -> None:
    assert parsed(values) == pytest.approx(expected)


def test_us_format_stays_right() -> None:
    assert parsed(["1,234.5", "12,345,678", "0.25", "1,234"]) == [1234.5, 12345678, 0.25, 1234]
    assert number_format_of(pd.Series(["1,234.5", "1,234"], dtype="str")) == DOT


def test_decimal_mark_is_decided_by_the_whole_column() -> None:
    # "1,234" and "1.234" alone could be either; the column's other values settle it.
    german = pd.Series(["1.234", "2,5", "10,75"], dtype="str")
    assert number_format_of(german) == COMMA
    assert parse_numbers(german).tolist() == [1234.0, 2.5, 10.75]
    american = pd.Series(["1,234", "2.5", "10.75"], dtype="str")
    assert number_format_of(american) == DOT
    assert parse_numbers(american).tolist() == [1234.0, 2.5, 10.75]
    # Nothing but ambiguous values: US style, the default.
    assert parsed(["1,234", "2,500"]) == [1234.0, 2500.0]


def test_values_that_are_not_numbers_stay_missing() -> None:
    assert all(np.isnan(parsed(["12-3", "A-001", "five", "(5", "5 apples", "1 2", None])))
    # In a column decided as US style, a comma is only ever a thousands separator.
    us_style = parse_numbers(pd.Series(["1,5", "1,2345", "1.234,5"], dtype="str"), DOT)
    assert us_style.isna().all()


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([1.0, np.inf, -np.inf, 2.0]),
        pd.Series(["1", "inf", "-inf", "2"], dtype="str"),
        pd.Series(["1", "1e999", "-Infinity", "2"], dtype="str"),
        pd.Series(pd.array([1.0, np.inf, -np.inf, 2.0], dtype="Float64")),
    ],
    ids=["float", "text-inf", "text-overflow", "nullable"],
)
def test_non_finite_become_missing(values: pd.Series) -> None:
    numbers = parse_numbers(values)
    assert numbers.dtype == np.float64
    assert numbers.isna().tolist() == [False, True, True, False]


def test_non_finite_are_counted_in_numbers_and_number_text_only() -> None:
    frame = pd.DataFrame(
        {
            "revenue": [1.0, np.inf, -np.inf, np.inf] * 5,
            "cost": ["1", "2", "1e999", "4"] * 5,
            "word": ["inf", "cat", "dog", "cow"] * 5,  # a category: "inf" is just a word here
            "fine": [1.0, 2.0, 3.0, 4.0] * 5,
        }
    )
    counts = count_non_finite(frame)
    assert counts == {"revenue": 15, "cost": 5}
    assert non_finite_note(counts) == (
        "20 values that were not finite numbers (inf, -inf) became missing values in "
        "“revenue” and 1 other column."
    )


def test_non_finite_note_wording() -> None:
    assert non_finite_note({}) is None
    assert non_finite_note({"x": 1}) == (
        "1 value that was not a finite number (inf, -inf) became a missing value in “x”."
    )
    assert non_finite_note({"a": 2, "b": 5, "c": 1}) == (
        "8 values that were not finite numbers (inf, -inf) became missing values in “b” and "
        "2 other columns."
    )


# ---- the feature plan ----------------------------------------------------------------------


def test_plan_and_transform_turn_infinite_values_into_missing() -> None:
    rng = np.random.default_rng(0)
    n = 80
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {"x": x, "with_inf": x * 3, "text_inf": [f"{v:.3f}" for v in x], "y": x * 2 + 1}
    )
    frame.loc[:4, "with_inf"] = np.inf
    frame.loc[5:7, "text_inf"] = "-inf"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # np.corrcoef on inf warns
        plan = plan_of(frame)
        out = plan.transform(frame)
    assert {"with_inf", "text_inf"} <= set(plan.input_columns)
    assert np.isfinite(out.to_numpy(dtype=float, na_value=np.nan)[~out.isna().to_numpy()]).all()
    assert out["with_inf"].isna().sum() == 5
    assert out["text_inf"].isna().sum() == 3


def german_revenue(rng: np.random.Generator, n: int) -> list[str]:
    return [
        f"{v:,.2f} €".replace(",", "_").replace(".", ",").replace("_", ".")
        for v in rng.uniform(100, 90_000, n)
    ]


def test_german_revenue_is_a_number_not_an_identifier() -> None:
    rng = np.random.default_rng(1)
    n = 100
    revenue = german_revenue(rng, n)  # a different text in every row, like an id would be
    frame = pd.DataFrame({"umsatz": revenue, "y": rng.choice(["a", "b"], n)})
    plan = plan_of(frame)
    assert plan.text_numbers == ["umsatz"]
    assert plan.number_formats == {"umsatz": COMMA}
    assert not plan.dropped
    expected = [float(v[:-2].replace(".", "").replace(",", ".")) for v in revenue]
    assert plan.transform(frame)["umsatz"].tolist() == pytest.approx(expected)
    # A new file is read the way the training file was, even if its own values say little.
    new = pd.DataFrame({"umsatz": ["1.234 €", "2.000 €"]})
    assert plan.transform(new)["umsatz"].tolist() == [1234.0, 2000.0]


def test_plan_pickled_before_number_formats_still_transforms() -> None:
    frame = pd.DataFrame({"amount": ["$1,200", "$35.50", "$7"] * 10, "y": ["a", "b"] * 15})
    plan = plan_of(frame)
    del plan.__dict__["number_formats"]  # what unpickling an older saved model gives
    old = pickle.loads(pickle.dumps(plan))
    assert old.transform(frame)["amount"].tolist()[:3] == [1200.0, 35.5, 7.0]


def test_codes_with_leading_zeros_keep_their_old_kind(tmp_path: Path) -> None:
    n = 40
    frame = pd.DataFrame(
        {
            "zip": [f"{i * 137 % 99_999:05d}" for i in range(n)],  # "00000", "00137", ...
            "sku": [f"A-{i % 7:05d}" for i in range(n)],
            "phone": [f"555 {i % 5:03d} {i % 3:04d}" for i in range(n)],
            "y": ["a", "b"] * (n // 2),
        }
    )
    plan = plan_of(frame)
    assert plan.text_numbers == ["zip"]  # as before: "00137" is the number 137
    assert plan.transform(frame)["zip"].iloc[1] == 137
    assert set(plan.categories) == {"sku", "phone"}
    # Read from a file, a ZIP column is numbers already, as it always was.
    path = tmp_path / "zips.csv"
    frame.to_csv(path, index=False)
    assert read_table(path)["zip"].dtype == np.int64


def test_semicolon_csv_with_decimal_commas(tmp_path: Path) -> None:
    # The German Excel default: ";" between values, "," before decimals, "." between thousands.
    rng = np.random.default_rng(2)
    n = 60
    revenue = german_revenue(rng, n)
    amounts = [f"{v:.1f}".replace(".", ",") for v in rng.uniform(0, 10, n)]
    rows = "".join(
        f"{r};{a};{c}\n" for r, a, c in zip(revenue, amounts, ["x", "y"] * 30, strict=True)
    )
    path = tmp_path / "export.csv"
    path.write_bytes(("Umsatz;Menge;Klasse\n" + rows).encode("cp1252"))
    frame = read_table(path, "export.csv")
    assert frame["Menge"].dtype == np.float64  # the reader itself reads "1,5"
    assert frame["Menge"].tolist() == pytest.approx([float(a.replace(",", ".")) for a in amounts])
    plan = plan_of(frame, "Klasse")
    assert plan.number_formats == {"Umsatz": COMMA}
    assert plan.transform(frame)["Umsatz"].iloc[0] == pytest.approx(
        float(revenue[0][:-2].replace(".", "").replace(",", "."))
    )


# ---- a whole job ---------------------------------------------------------------------------


@pytest.mark.slow
def test_job_with_infinite_values_succeeds(tmp_path: Path, make_spec) -> None:
    rng = np.random.default_rng(4)
    n = 120
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "ratio": rng.normal(size=n), "y": np.where(x > 0, "up", "down")})
    frame.loc[:9, "ratio"] = np.inf
    frame.loc[10:11, "ratio"] = -np.inf
    data = tmp_path / "ratios.csv"
    frame.to_csv(data, index=False)  # written as "inf" and "-inf"
    spec = make_spec(data, "y", time_budget_s=5)
    result = run_job(spec, RunOptions(report=False, charts=False, handle_signals=False))
    assert result.status == "succeeded", result.error
    assert (
        "12 values that were not finite numbers (inf, -inf) became missing values in “ratio”."
        in result.notes
    )
    assert "ratio" in result.columns_used
