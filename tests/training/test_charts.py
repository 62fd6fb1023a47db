"""Charts: planning (figures and alt text) and real rendering through kaleido and Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.outputs.charts.figures import ChartInputs, plan_charts
from training.outputs.charts.rendering import render_charts, stop_renderer

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"\d\.\d+|\d{2,}")


def _classification(n: int, classes: list[str], seed: int = 0) -> ChartInputs:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(classes), n)
    logits = rng.normal(size=(n, len(classes)))
    logits[np.arange(n), y] += 2.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(classes)
    return ChartInputs(
        task="classification",
        metric="roc_auc" if len(classes) == 2 else "log_loss",
        leaderboard=[("lgbm", 0.931), ("xgboost", 0.925), ("rf", None)],
        score_history=[(1.5, 0.80), (4.0, 0.90), (30.0, 0.931)],
        feature_importance=[(f"f{i}", float(30 - i)) for i in range(30)],
        y_true=labels[y],
        y_pred=labels[proba.argmax(axis=1)],
        proba=proba,
        classes=classes,
    )


def _regression(n: int) -> ChartInputs:
    rng = np.random.default_rng(0)
    actual = rng.normal(50, 10, n)
    return ChartInputs(
        task="regression",
        metric="r2",
        leaderboard=[("lgbm", 0.84), ("rf", 0.80)],
        score_history=[(2.0, 0.5), (9.0, 0.84)],
        feature_importance=[("sqft", 0.5), ("rooms", 0.3), ("age", 0.2)],
        y_true=actual,
        y_pred=actual + rng.normal(0, 4, n),
    )


def _names(inputs: ChartInputs) -> list[str]:
    return [chart.name for chart in plan_charts(inputs)]


def test_binary_plan_has_all_charts_with_numbers_in_alt_text() -> None:
    charts = plan_charts(_classification(500, ["no", "yes"]))
    assert [c.name for c in charts] == [
        "leaderboard",
        "score_history",
        "feature_importance",
        "confusion_matrix",
        "roc_curve",
    ]
    for chart in charts:
        assert NUMBER.search(chart.alt_text), chart.alt_text
        assert len(chart.title) <= 45
    alt = {c.name: c.alt_text for c in charts}
    assert "lgbm 0.931, xgboost 0.925" in alt["leaderboard"]
    assert "No score for: rf" in alt["leaderboard"]
    assert "'yes' as the positive class" in alt["roc_curve"]
    assert "500 holdout rows" in alt["confusion_matrix"]


def test_binary_roc_legend_shows_auc() -> None:
    from sklearn.metrics import roc_auc_score

    inputs = _classification(500, ["no", "yes"])
    roc = next(c for c in plan_charts(inputs) if c.name == "roc_curve")
    assert inputs.proba is not None
    auc = roc_auc_score(np.asarray(inputs.y_true) == "yes", inputs.proba[:, 1])
    assert roc.figure.data[0].name == f"AUC {auc:.3f}"


@pytest.mark.slow
def test_multiclass_plan_limits_classes_and_points() -> None:
    classes = [f"c{i}" for i in range(25)]
    charts = {c.name: c for c in plan_charts(_classification(200_000, classes))}
    assert set(charts) == {
        "leaderboard",
        "score_history",
        "feature_importance",
        "confusion_matrix",
        "roc_curve",
    }
    roc = charts["roc_curve"].figure
    curves = [t for t in roc.data if t.name != "chance"]
    assert len(curves) == 10
    assert all(len(t.x) <= 310 for t in curves)
    heatmap = charts["confusion_matrix"].figure.data[0]
    assert len(heatmap.x) == 21 and heatmap.x[-1] == "(other)"
    assert "10 of 25 classes" in charts["roc_curve"].alt_text
    assert len(charts["feature_importance"].figure.data[0].y) == 20


def test_regression_plan_downsamples_scatter() -> None:
    charts = {c.name: c for c in plan_charts(_regression(50_000))}
    assert list(charts) == [
        "leaderboard",
        "score_history",
        "feature_importance",
        "predicted_vs_actual",
        "residuals",
    ]
    assert len(charts["predicted_vs_actual"].figure.data[0].x) == 5_000
    assert "5,000 of 50,000" in charts["residuals"].alt_text
    assert "R squared 0.8" in charts["predicted_vs_actual"].alt_text


def test_missing_inputs_skip_charts() -> None:
    inputs = _classification(100, ["a", "b"])
    inputs.proba = None
    inputs.feature_importance = []
    inputs.score_history = []
    assert _names(inputs) == ["leaderboard", "confusion_matrix"]
    bare = ChartInputs("regression", "r2", [], [], [])
    assert plan_charts(bare) == []


def test_broken_input_becomes_a_note() -> None:
    inputs = _classification(100, ["a", "b"])
    inputs.proba = np.zeros((3, 3))  # wrong shape
    notes: list[str] = []
    names = [c.name for c in plan_charts(inputs, notes)]
    assert "roc_curve" not in names and "confusion_matrix" in names
    assert len(notes) == 1 and "roc" in notes[0]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("BROWSER_PATH"), reason="no browser"
)
def test_render_writes_pngs(tmp_path: Path) -> None:
    planned = plan_charts(_classification(2_000, ["no", "yes"]))
    planned += plan_charts(_regression(2_000))[3:]
    try:
        charts, notes = render_charts(planned, tmp_path / "charts")
    finally:
        stop_renderer()
    assert notes == []
    assert [c.name for c in charts] == [p.name for p in planned]
    for chart in charts:
        assert chart.path == f"charts/{chart.name}.png"
        file = tmp_path / chart.path
        assert file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(file) as image:
            width, height = image.size
        assert width == 1000
        assert 600 <= height <= 1000


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("BROWSER_PATH"), reason="no browser"
)
def test_a_page_not_reloaded_between_charts_draws_each_as_a_fresh_page_would(
    tmp_path: Path,
) -> None:
    from training.outputs.charts.browser import SESSION, reloads_every_render

    planned = plan_charts(_classification(2_000, ["no", "yes"]))
    planned += plan_charts(_regression(2_000))[3:]
    first = planned[0]
    try:
        stop_renderer()  # a new browser: the first chart is drawn in a freshly loaded page
        render_charts([first], tmp_path / "fresh")
        assert not reloads_every_render(SESSION.start().result(timeout=60))
        render_charts([*planned[1:], first], tmp_path / "after")
    finally:
        stop_renderer()
    name = f"{first.name}.png"
    fresh = (tmp_path / "fresh" / name).read_bytes()
    assert fresh[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "after" / name).read_bytes() == fresh


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("BROWSER_PATH"), reason="no browser"
)
def test_charts_past_their_deadline_are_left_out_with_a_note(tmp_path: Path) -> None:
    import time

    from training.outputs.charts.rendering import MIN_CHARTS

    planned = plan_charts(_classification(500, ["no", "yes"]))
    assert len(planned) > MIN_CHARTS
    try:
        charts, notes = render_charts(planned, tmp_path / "charts", deadline=time.monotonic())
    finally:
        stop_renderer()
    assert [c.name for c in charts] == [p.name for p in planned[:MIN_CHARTS]]
    [note] = notes
    assert "left out to keep the job within its time budget" in note
    assert planned[-1].title in note


@pytest.mark.slow
def test_no_browser_gives_a_note_not_an_error(tmp_path: Path) -> None:
    # A fresh process: the browser session is per process, and PATH must lack chromium.
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from training.outputs.charts.figures import ChartInputs, plan_charts
        from training.outputs.charts.rendering import render_charts, warm_up_renderer
        warm_up_renderer()
        inputs = ChartInputs("regression", "r2", [("lgbm", 0.8)], [(1.0, 0.8)], [("a", 1.0)])
        charts, notes = render_charts(plan_charts(inputs), Path({str(tmp_path / "charts")!r}))
        assert charts == [], charts
        print(notes[0])
        """
    )
    env = {**os.environ, "BROWSER_PATH": str(tmp_path / "no-chromium"), "PATH": "/nonexistent"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "BROWSER_PATH" in done.stdout and "chromium" in done.stdout.lower()
    assert "Task was destroyed" not in done.stderr
