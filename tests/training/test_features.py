import numpy as np
import pandas as pd
import pytest

from training.errors import InputError
from training.pipeline.features import OTHER, plan_features
from training.pipeline.target import prepare_target


def _plan(frame: pd.DataFrame, target: str = "y"):
    t = prepare_target(frame, target, "auto")
    return plan_features(frame.drop(columns=[target]), t)


def _reasons(plan) -> dict[str, str]:
    return {d.name: d.reason for d in plan.dropped}


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    y = rng.choice(["yes", "no"], n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "row": np.arange(1, n + 1),
            "country": ["US"] * n,
            "empty": [np.nan] * n,
            "answer_copy": np.where(y == "yes", 1, 0),
            "signed_up": pd.date_range("2023-01-01", periods=n, freq="3D").strftime("%Y-%m-%d"),
            "plan": rng.choice(["basic", "pro"], n),
            "amount": [f"${v:,.2f}" for v in rng.uniform(100, 5000, n)],
            "age": rng.integers(18, 80, n).astype(float),
            "y": y,
        }
    )


def test_columns_that_cannot_generalise_are_dropped_with_reasons(frame: pd.DataFrame) -> None:
    reasons = _reasons(_plan(frame))
    assert "identifier" in reasons["customer_id"]
    assert "identifier" in reasons["row"]
    assert "same value" in reasons["country"]
    assert "missing" in reasons["empty"]
    assert "copy of the target" in reasons["answer_copy"]


def test_column_kinds(frame: pd.DataFrame) -> None:
    plan = _plan(frame)
    assert plan.numeric == ["age"]
    assert plan.text_numbers == ["amount"]
    assert plan.dates == {"signed_up": "%Y-%m-%d"}
    assert set(plan.categories) == {"plan"}


def test_transform_gives_date_parts_numbers_and_pinned_categories(frame: pd.DataFrame) -> None:
    plan = _plan(frame)
    out = plan.transform(frame)
    assert {"signed_up.year", "signed_up.month", "signed_up.day_of_week"} <= set(out.columns)
    assert out["amount"].dtype == float
    assert out["amount"].iloc[0] == pytest.approx(
        float(frame["amount"].iloc[0].strip("$").replace(",", ""))
    )
    new = frame.head(3).assign(plan=["basic", "enterprise", None])
    categories = plan.transform(new)["plan"]
    assert list(categories.cat.categories) == [*plan.categories["plan"], OTHER]
    assert categories.iloc[1] == OTHER
    assert pd.isna(categories.iloc[2])


def test_transform_names_missing_columns(frame: pd.DataFrame) -> None:
    plan = _plan(frame)
    with pytest.raises(InputError) as caught:
        plan.transform(frame.drop(columns=["age", "plan"]))
    assert caught.value.code == "missing_columns"
    assert "“age”" in caught.value.message and "“plan”" in caught.value.message


def test_plain_numbers_and_codes_are_not_dates() -> None:
    frame = pd.DataFrame(
        {
            "year": ["2019", "2020", "2021"] * 10,
            "code": ["A-1", "B-2", "C-3"] * 10,
            "y": [0, 1, 1] * 10,
        }
    )
    plan = _plan(frame)
    assert not plan.dates


def test_feature_names_are_safe_for_lightgbm() -> None:
    frame = pd.DataFrame({"weight [kg]": [3, 1, 4, 1, 5] * 8, "y": ["a", "b"] * 20})
    plan = _plan(frame)
    assert plan.feature_names == ["weight _kg_"]
    assert list(plan.transform(frame).columns) == ["weight _kg_"]
