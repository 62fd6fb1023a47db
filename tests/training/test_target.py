import pandas as pd
import pytest

from training.errors import InputError
from training.pipeline.target import infer_task, prepare_target, resolve_column


def test_resolve_column_forgives_case_and_spaces() -> None:
    assert resolve_column(["Churn Flag", "age"], "churn_flag") == "Churn Flag"


def test_missing_target_suggests_close_names() -> None:
    with pytest.raises(InputError) as caught:
        resolve_column(["customer_id", "churned", "tenure"], "churn")
    assert caught.value.code == "target_not_found"
    assert "churned" in caught.value.hint


def test_missing_excluded_column_has_its_own_code() -> None:
    with pytest.raises(InputError) as caught:
        resolve_column(["a", "b"], "zzz", what="column to exclude")
    assert caught.value.code == "column_not_found"


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["yes", "no"] * 20, "classification"),
        ([0, 1, 2] * 20, "classification"),
        ([True, False] * 20, "classification"),
        ([0.5, 1.25, 3.0, 7.5] * 10, "regression"),
        (list(range(100)), "regression"),
        # Whole numbers with about one row each are amounts (a statsmodels table's weights).
        ([191, 189, 193, 162, 189, 182, 211, 167, 176, 154] * 2, "regression"),
        ([1, 2, 3, 4] * 5, "classification"),
    ],
)
def test_infer_task(values: list, task: str) -> None:
    assert infer_task(pd.Series(values)) == task


def test_rows_without_target_are_dropped_and_counted() -> None:
    frame = pd.DataFrame({"y": ["a", "b", None] * 20, "x": range(60)})
    target = prepare_target(frame, "y", "auto")
    assert target.rows_dropped_missing == 20
    assert target.classes == ("a", "b")


def test_numeric_classes_become_text_labels() -> None:
    frame = pd.DataFrame({"y": [1.0, 0.0] * 15})
    assert prepare_target(frame, "y", "auto").classes == ("0", "1")


def test_single_value_target_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        prepare_target(pd.DataFrame({"y": ["same"] * 30}), "y", "auto")
    assert caught.value.code == "target_single_value"


def test_too_few_rows() -> None:
    with pytest.raises(InputError) as caught:
        prepare_target(pd.DataFrame({"y": ["a", "b"] * 5}), "y", "auto")
    assert caught.value.code == "too_few_rows"


def test_more_classes_than_rows_allow() -> None:
    frame = pd.DataFrame({"y": [f"name {i % 30}" for i in range(60)]})
    with pytest.raises(InputError) as caught:
        prepare_target(frame, "y", "auto")
    assert caught.value.code == "too_many_classes"


def test_single_row_classes_are_left_out() -> None:
    frame = pd.DataFrame({"y": ["a", "b"] * 20 + ["rare"]})
    target = prepare_target(frame, "y", "auto")
    assert target.classes == ("a", "b")
    assert target.rare_classes_dropped == ("rare",)


def test_regression_on_text_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        prepare_target(pd.DataFrame({"y": ["low", "high"] * 20}), "y", "regression")
    assert caught.value.code == "target_not_numeric"
