"""Explanations of the best model: contributions that add up, words that name what drives the
target, their charts, and `automl predict`'s reasons column and warnings."""

from __future__ import annotations

import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from bot import cli
from contract import exit_codes
from contract.jobs import Explanations, JobResult
from contract.run_folder import DEPENDENCE_CHART_PREFIX, EXPLANATION_CHART, MODEL_FILE
from training.pipeline.ensemble import BlendedPredictor, Member
from training.pipeline.explanations import Background, explain
from training.pipeline.features import plan_features
from training.pipeline.learners import FitContext, Fold, train
from training.pipeline.model import OLDER_MODEL_NOTE, TrainedModel
from training.pipeline.scoring_checks import TrainingProfile
from training.pipeline.target import prepare_target

pytestmark = pytest.mark.slow  # every test trains models


def churn_table(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """Churn driven by tenure (short raises it) and the contract; `noise` carries nothing."""
    rng = np.random.default_rng(seed)
    levels = [f"city {i}" for i in range(40)]  # enough levels for target encoding
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(0, 72, rows),
            "contract": rng.choice(["month-to-month", "one-year", "two-year"], rows),
            "city": rng.choice(levels, rows),
            "noise": rng.normal(size=rows),
        }
    )
    logit = 2.0 - 0.08 * frame["tenure_months"] + 1.5 * (frame["contract"] == "month-to-month")
    frame["churned"] = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame


def three_classes(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(
        np.select(
            [frame["tenure_months"] < 20, frame["tenure_months"] < 45], ["new", "settled"], "loyal"
        ),
        index=frame.index,
    )


def trained(
    frame: pd.DataFrame, target: str, families: list[tuple[str, dict]], weights: list[float]
) -> TrainedModel:
    """A model like the search makes: members of two fold models each, weighted."""
    prepared = prepare_target(frame, target, "auto")
    raw = frame.drop(columns=[target])
    plan = plan_features(raw, prepared)
    X = plan.transform(raw)
    task = prepared.task
    classes = list(prepared.classes)
    if task == "classification":
        y = np.searchsorted(np.asarray(classes), prepared.values.astype(str).to_numpy())
    else:
        y = prepared.values.to_numpy(float)
    ctx = FitContext(task, len(classes), 1, 0, time.monotonic() + 60, folds=2)
    half = len(X) // 2
    folds = [(slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))]
    members = []
    for (family, config), weight in zip(families, weights, strict=True):
        models = [
            train(family, config, Fold(X.iloc[a], y[a]), Fold(X.iloc[b], y[b]), ctx)
            for a, b in folds
        ]
        members.append(Member(family, family, weight, models))
    model = TrainedModel(task, target, families[0][0], plan, BlendedPredictor(members), classes)
    model.profile = TrainingProfile.from_training(plan, X)
    model.background = Background.from_training(X, model.predictor)
    return model


def model_output(model: TrainedModel, frame: pd.DataFrame, explained: list[str]) -> np.ndarray:
    if model.task == "regression":
        return model.predict(frame)
    proba = model.predict_proba(frame)
    columns = [model.classes.index(c) for c in explained]
    return proba[np.arange(len(frame)), columns]


SINGLE_FAMILIES = [
    ("lgbm", {}),
    ("xgboost", {}),
    ("linear", {}),
    ("lgbm", {"target_encoding": True}),  # its encoded extras go back to their column
    ("lgbm", {"columns": ["tenure_months", "contract"]}),  # the other columns add nothing
    ("linear", {"columns": ["tenure_months", "contract", "city"]}),
]


@pytest.mark.parametrize(("family", "config"), SINGLE_FAMILIES)
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_contributions_add_up_to_the_models_output(family: str, config: dict, task: str) -> None:
    frame = churn_table()
    if task == "multiclass":
        frame["churned"] = three_classes(frame)
    elif task == "regression":
        frame["churned"] = 3.0 * frame["tenure_months"] + 10 * (frame["contract"] == "two-year")
    model = trained(frame, "churned", [(family, config)], [1.0])
    rows = frame.drop(columns=["churned"]).head(200)

    explained = explain(model, rows)

    assert sorted(explained.columns) == ["city", "contract", "noise", "tenure_months"]
    added = explained.values.sum(axis=1) + explained.base
    assert np.allclose(added, model_output(model, rows, explained.explained), atol=1e-5)
    if family == "linear" and task != "multiclass":  # exact: one base for every row
        margin_base = (
            explained.base
            if task == "regression"
            else np.log(explained.base / (1 - explained.base))
        )
        assert np.ptp(margin_base) < 1e-6
    for column in set(explained.columns) - set(config.get("columns", explained.columns)):
        assert not explained.values[:, explained.columns.index(column)].any()
    strongest = explained.columns[int(np.abs(explained.values).mean(axis=0).argmax())]
    assert strongest == "tenure_months"
    if task == "binary":
        assert set(explained.explained) == {"yes"}  # the positive class, on every row
    if task == "multiclass":  # the predicted class of each row
        assert explained.explained == list(model.predict(rows))


def test_an_ensemble_is_its_members_weighted_sum() -> None:
    frame = churn_table()
    rows = frame.drop(columns=["churned"]).head(150)
    families = [("lgbm", {}), ("linear", {}), ("rf", {"n_estimators": 40})]
    weights = [0.5, 0.3, 0.2]
    ensemble = trained(frame, "churned", families, weights)

    whole = explain(ensemble, rows)

    assert np.allclose(
        whole.values.sum(axis=1) + whole.base, model_output(ensemble, rows, whole.explained)
    )
    parts = []
    for member in ensemble.predictor.members:
        alone = TrainedModel(
            ensemble.task,
            ensemble.target,
            member.family,
            ensemble.plan,
            BlendedPredictor([Member(member.label, member.family, 1.0, member.models)]),
            ensemble.classes,
            background=ensemble.background,
        )
        parts.append(member.weight * explain(alone, rows).values)
    # Boosters and linear models are exact; the forest's ablation is shared out the same way
    # alone and in the ensemble, so the sum holds for it too.
    assert np.allclose(whole.values, sum(parts), atol=1e-9)
    assert {m.split(": ")[1] for m in whole.methods} == {"tree_shap", "linear", "ablation"}


def test_a_sample_explained_past_its_time_keeps_the_rows_it_finished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from training.pipeline import explanations

    frame = churn_table()
    model = trained(frame, "churned", [("knn", {})], [1.0])
    rows = frame.drop(columns=["churned"])
    whole = explain(model, rows.head(200))
    late = explain(model, rows.head(200), chunk_rows=60, deadline=time.monotonic())
    assert len(late.values) == 60  # one chunk begun before the deadline, no more
    assert np.allclose(late.values, whole.values[:60])
    # The time model says every row fits, but the clock runs out: the sample shrinks to
    # the rows explained, in its parts.
    monkeypatch.setattr(explanations._Cost, "affordable_rows", lambda *_: 10_000)
    ticks = iter(range(0, 10_000, 1))
    monkeypatch.setattr(explanations.time, "monotonic", lambda: float(next(ticks)))
    contributions, sample = explanations.explain_sample(model, rows, seconds=3.0)
    assert len(sample) == len(contributions.values) < len(rows)
    assert len(sample) % (-(-len(rows) // explanations.SAMPLE_PARTS)) == 0


def test_reasons_that_would_take_too_long_are_left_out_with_a_reason() -> None:
    frame = churn_table()
    model = trained(frame, "churned", [("knn", {})], [1.0])  # ablation only: the slow kind
    rows = frame.drop(columns=["churned"])
    warnings: list[str] = []

    table = model.scored_table(rows, warnings, seconds=1e-4)

    assert "predicted_churned" in table.columns
    assert "reasons" not in table.columns
    (said,) = warnings
    assert said.startswith("The reasons were left out: working them out for 600 rows would")
    with_time = model.scored_table(rows.head(20), warnings, seconds=60)
    assert with_time["reasons"].str.contains(" churned=yes by ").all()


def test_the_job_explains_its_best_model(explained_run: Path) -> None:
    result = _result(explained_run)
    explanations = result.explanations
    assert explanations is not None
    assert explanations.explained == "churned=yes"
    assert explanations.scale == "probability"
    assert 1 <= len(explanations.sentences) <= 3
    # The generated target is driven by tenure: the words name it first, with its direction.
    assert "“tenure_months”" in explanations.sentences[0]
    assert (
        explanations.sentences[0].index("“tenure_months”")
        < explanations.sentences[0].find("“noise”")
        or "“noise”" not in explanations.sentences[0]
    )
    assert any("Higher “tenure_months” lowers" in s for s in explanations.sentences)
    assert explanations.columns[0].column in {"tenure_months", "contract"}
    assert "explain" in result.timings_s

    charts = {c.name: c for c in result.artifacts.charts}
    if charts:  # charts need a browser; without one the run says why
        assert EXPLANATION_CHART in charts
        assert f"{DEPENDENCE_CHART_PREFIX}1" in charts
        for name, chart in charts.items():
            if name.startswith(("explanation",)):
                assert (explained_run / chart.path).read_bytes().startswith(b"\x89PNG")
                assert "holdout rows" in chart.alt_text
        assert "tenure_months" in charts[EXPLANATION_CHART].alt_text


def test_explanation_sentences_are_validated() -> None:
    fields = {"explained": "y=1", "scale": "probability", "rows": 10, "method": "lgbm: tree_shap"}
    with pytest.raises(ValueError, match="sentence"):
        Explanations(sentences=[" "], **fields)
    with pytest.raises(ValueError, match="at most 3"):
        Explanations(sentences=["a.", "b.", "c.", "d."], **fields)


def test_predict_writes_reasons_and_warns(
    tmp_path: Path, explained_run: Path, capsys: pytest.CaptureFixture
) -> None:
    new = churn_table(rows=100, seed=5).drop(columns=["churned"])
    new.loc[:19, "contract"] = "lifetime"  # a category never seen in training
    new.loc[:29, "tenure_months"] = 500  # far past the training range (0 to 71)
    new["=HYPERLINK(1)"] = "=1+1"  # an extra column, and a formula cell
    data = tmp_path / "new.csv"
    new.to_csv(data, index=False)
    out = tmp_path / "scored.csv"

    code = cli.main(["predict", str(explained_run), str(data), "-o", str(out), "--trust-unsigned"])

    err = capsys.readouterr().err
    assert code == exit_codes.SUCCEEDED, err
    table = pd.read_csv(out)
    assert len(table) == 100
    first = table.loc[0, "reasons"]
    assert "tenure_months=500 " in first
    assert first.count(";") == 2  # three reasons
    assert " churned=yes by " in first
    assert "1 column(s) the model does not use were ignored: “=HYPERLINK(1)”" in err
    assert "“contract”: 20 row(s) have values the model never learned" in err
    assert "“lifetime” (20)" in err
    assert "“tenure_months”: 30 of 100 row(s) (30%) are outside the training range 0 to 7" in err
    assert "'=HYPERLINK(1)" in table.columns  # formula cells neutralised
    assert set(table["'=HYPERLINK(1)"]) == {"'=1+1"}

    missing = tmp_path / "missing.csv"
    new.drop(columns=["contract", "noise"]).to_csv(missing, index=False)
    code = cli.main(["predict", str(explained_run), str(missing), "--trust-unsigned"])
    err = capsys.readouterr().err
    assert code == exit_codes.BAD_INPUT
    assert "lacks 2 column(s) the model needs: " in err
    assert "“contract”" in err
    assert "“noise”" in err
    assert "Traceback" not in err


def test_a_model_saved_before_explanations_still_predicts(
    tmp_path: Path, explained_run: Path, capsys: pytest.CaptureFixture
) -> None:
    model = TrainedModel.load(explained_run / MODEL_FILE, sha256=None)
    for name in ("background", "profile"):  # as a pickle from before them has it
        del model.__dict__[name]
    old_run = tmp_path / "old"
    old_run.mkdir()
    joblib.dump(model, old_run / MODEL_FILE)
    data = tmp_path / "new.csv"
    churn_table(rows=20, seed=3).drop(columns=["churned"]).to_csv(data, index=False)
    out = tmp_path / "scored.csv"

    code = cli.main(["predict", str(old_run), str(data), "-o", str(out), "--trust-unsigned"])

    err = capsys.readouterr().err
    assert code == exit_codes.SUCCEEDED, err
    table = pd.read_csv(out)
    assert "predicted_churned" in table.columns
    assert "reasons" not in table.columns
    assert OLDER_MODEL_NOTE in err.replace("\n", " ")


# ---- one real job, shared --------------------------------------------------------------------


@pytest.fixture(scope="module")
def explained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests import builders
    from training.run import RunOptions, run_job

    folder = tmp_path_factory.mktemp("explained")
    data = folder / "churn.csv"
    churn_table(rows=800).to_csv(data, index=False)
    spec = builders.make_spec(
        dataset_uri=str(data),
        file_name=data.name,
        target="churned",
        time_budget_s=20,  # a tenth is for explaining, enough also on a loaded machine
        output_uri=str(folder / "run"),
    )
    result = run_job(spec, RunOptions(report=False, handle_signals=False))
    assert result.status == "succeeded", result.error
    return folder / "run"


def _result(run_dir: Path) -> JobResult:
    return JobResult.model_validate_json((run_dir / "result.json").read_text())


def test_a_small_table_keeps_less_time_back_for_its_explanation() -> None:
    from training.pipeline.explanations import explanation_reserve_s

    assert explanation_reserve_s(10, rows=60, columns=30) == 0.5  # 1,800 cells: milliseconds
    assert explanation_reserve_s(10, rows=2_000, columns=30) == 1.0
    assert explanation_reserve_s(600, rows=60, columns=30) == 20.0
