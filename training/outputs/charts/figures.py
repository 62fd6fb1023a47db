"""The run's charts as Plotly figures: which charts the inputs support, and each figure.

`plan_charts` builds the figures, each with its alt text (`alt_text`), from plain inputs; the
scores on them (ROC AUC, R², mean absolute error) are scikit-learn's. Turning them into PNG
files is `rendering`'s job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import auc, mean_absolute_error, r2_score, roc_curve

from contract.metrics import metric_label
from training.outputs.charts import alt_text
from training.pipeline.metrics import HIGHER_IS_BETTER

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1000, 600
MAX_SCATTER_POINTS = 5_000
MAX_ROC_POINTS = 300
MAX_FEATURES = 20
MAX_CONFUSION_CLASSES = 20
MAX_ROC_CLASSES = 10
OTHER_LABEL = "(other)"

# One palette for every chart, so the set reads as one report.
BLUE = "#2F6DB5"
ORANGE = "#E0762B"
GREY = "#8C97A3"
CLASS_COLOURS = [
    "#2F6DB5",
    "#E0762B",
    "#3A9E5C",
    "#C23B3B",
    "#8561B8",
    "#8C5A3C",
    "#D16BA5",
    "#6E7781",
    "#B5A92F",
    "#2BA3B5",
]


@dataclass
class ChartInputs:
    task: Literal["classification", "regression"]
    metric: str
    leaderboard: list[tuple[str, float | None]]
    score_history: list[tuple[float, float]]
    feature_importance: list[tuple[str, float]]
    y_true: Sequence[Any] | np.ndarray | pd.Series | None = None
    y_pred: Sequence[Any] | np.ndarray | pd.Series | None = None
    proba: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)


@dataclass
class PlannedChart:
    name: str
    title: str
    alt_text: str
    figure: go.Figure


def plan_charts(inputs: ChartInputs, notes: list[str] | None = None) -> list[PlannedChart]:
    """The charts these inputs support, in the order a person should see them.

    A chart whose inputs are missing is skipped silently; one that breaks is skipped with a
    note (appended to `notes` when given), so one bad chart never costs the others.
    """
    builders = [_leaderboard_chart, _history_chart, _importance_chart]
    if inputs.task == "classification":
        builders += [_confusion_chart, _roc_chart]
    else:
        builders += [_pred_vs_actual_chart, _residuals_chart]
    charts: list[PlannedChart] = []
    for build in builders:
        try:
            chart = build(inputs)
        except Exception as exc:
            logger.warning("chart %s failed", build.__name__, exc_info=True)
            if notes is not None:
                notes.append(f"A chart could not be drawn ({build.__name__[1:]}): {exc}")
            continue
        if chart is not None:
            chart.alt_text = alt_text.speakable(chart.alt_text)
            charts.append(chart)
    return charts


def _leaderboard_chart(inputs: ChartInputs) -> PlannedChart | None:
    scored = [(name, float(s)) for name, s in inputs.leaderboard if s is not None and _finite(s)]
    if not scored:
        return None
    unscored = [name for name, s in inputs.leaderboard if not _finite(s)]
    label = metric_label(inputs.metric)
    names = [n for n, _ in scored]
    values = [v for _, v in scored]
    colours = [BLUE if i == 0 else GREY for i in range(len(scored))]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=colours,
            text=[alt_text.fmt(v) for v in values],
            textposition="auto",
        )
    )
    fig.update_yaxes(autorange="reversed", title=None)  # best first, at the top
    fig.update_xaxes(title=f"validation {label}{_direction(inputs.metric)}")
    if inputs.metric in HIGHER_IS_BETTER:
        _zoom_bar_axis(fig, values)
    title = f"Validation {label} by model"
    alt = alt_text.leaderboard(label, scored, unscored)
    return PlannedChart("leaderboard", title, alt, _style(fig, title))


def _history_chart(inputs: ChartInputs) -> PlannedChart | None:
    points = sorted((float(t), float(s)) for t, s in inputs.score_history if _finite(s))
    if not points:
        return None
    label = metric_label(inputs.metric)
    times = [t for t, _ in points]
    scores = [s for _, s in points]
    fig = go.Figure(
        go.Scatter(
            x=times,
            y=scores,
            mode="lines+markers",
            line={"shape": "hv", "color": BLUE, "width": 3},
            marker={"size": 8},
        )
    )
    fig.update_xaxes(title="seconds since the search started", rangemode="tozero")
    fig.update_yaxes(title=f"best validation {label}{_direction(inputs.metric)}")
    title = f"Best {label} during the search"
    alt = alt_text.score_history(label, times, scores)
    return PlannedChart("score_history", title, alt, _style(fig, title))


def _importance_chart(inputs: ChartInputs) -> PlannedChart | None:
    ranked = sorted(
        ((str(n), float(v)) for n, v in inputs.feature_importance if _finite(v)),
        key=lambda item: abs(item[1]),
        reverse=True,
    )
    if not ranked:
        return None
    top = ranked[:MAX_FEATURES]
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in top],
            y=[_shorten(n) for n, _ in top],
            orientation="h",
            marker_color=BLUE,
        )
    )
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title="importance (as reported by the best model)")
    title = "Feature importance (best model)"
    alt = alt_text.feature_importance(top, len(ranked))
    height = max(HEIGHT, 140 + 26 * len(top))
    return PlannedChart("feature_importance", title, alt, _style(fig, title, height=height))


def _confusion_chart(inputs: ChartInputs) -> PlannedChart | None:
    if _empty(inputs.y_true) or _empty(inputs.y_pred):
        return None
    truth, pred = _labels(inputs.y_true), _labels(inputs.y_pred)
    correct = int((truth == pred).sum())  # on every class, before the rare ones are pooled
    labels = _top_classes(truth, inputs.classes, MAX_CONFUSION_CLASSES)
    counts, labels = confusion_counts(truth, pred, labels)
    row_share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    text = _cell_text(counts, row_share, compact=len(labels) > 8)
    fig = go.Figure(
        go.Heatmap(
            z=row_share,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 16 if len(labels) <= 8 else 11},
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={
                "title": {"text": "share of the true class", "side": "right"},
                "tickformat": ".0%",
            },
            xgap=1,
            ygap=1,
        )
    )
    fig.update_xaxes(
        title="predicted class", type="category", tickangle=-45 if len(labels) > 6 else 0
    )
    fig.update_yaxes(title="true class", type="category", autorange="reversed")
    title = "Confusion matrix (holdout)"
    alt = alt_text.confusion_matrix(counts, labels, len(truth), correct)
    return PlannedChart("confusion_matrix", title, alt, _style(fig, title, height=_square(labels)))


def _roc_chart(inputs: ChartInputs) -> PlannedChart | None:
    if inputs.proba is None or _empty(inputs.y_true) or len(inputs.classes) < 2:
        return None
    proba = np.asarray(inputs.proba, dtype=float)
    truth = _labels(inputs.y_true)
    if proba.ndim != 2 or proba.shape != (len(truth), len(inputs.classes)):
        raise ValueError(
            f"probabilities have shape {proba.shape}, expected "
            f"({len(truth)}, {len(inputs.classes)})"
        )
    classes = [str(c) for c in inputs.classes]
    binary = len(classes) == 2
    codes = _codes(truth, classes)  # column index of each true class
    targets = [classes[1]] if binary else _top_classes(truth, classes, MAX_ROC_CLASSES)
    fig = go.Figure()
    aucs: list[tuple[str, float]] = []
    for i, cls in enumerate(targets):
        column = classes.index(cls)
        curve = _roc_curve(codes == column, proba[:, column])
        if curve is None:
            continue  # the holdout has only one side of this class
        fpr, tpr, auc = curve
        aucs.append((cls, auc))
        name = f"AUC {auc:.3f}" if binary else f"{_shorten(cls, 24)} (AUC {auc:.3f})"
        colour = BLUE if binary else CLASS_COLOURS[i % len(CLASS_COLOURS)]
        fig.add_trace(
            go.Scatter(x=fpr, y=tpr, mode="lines", name=name, line={"color": colour, "width": 3})
        )
    if not aucs:
        return None
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="chance",
            line={"color": GREY, "dash": "dash", "width": 2},
        )
    )
    fig.update_xaxes(title="false positive rate", range=[0, 1], constrain="domain")
    fig.update_yaxes(title="true positive rate", range=[0, 1.01])
    fig.update_layout(legend={"x": 0.98, "y": 0.02, "xanchor": "right", "yanchor": "bottom"})
    title = "ROC curve (holdout)" if binary else "ROC curves, one class vs rest (holdout)"
    alt = alt_text.roc_curve(len(truth), classes, aucs)
    return PlannedChart("roc_curve", title, alt, _style(fig, title, show_legend=True))


def _pred_vs_actual_chart(inputs: ChartInputs) -> PlannedChart | None:
    pair = _regression_pair(inputs)
    if pair is None:
        return None
    actual, predicted = pair
    sample = _sample_index(len(actual), MAX_SCATTER_POINTS)
    lo = float(min(actual.min(), predicted.min()))
    hi = float(max(actual.max(), predicted.max()))
    fig = go.Figure(
        [
            _scatter(actual[sample], predicted[sample]),
            go.Scatter(
                x=[lo, hi],
                y=[lo, hi],
                mode="lines",
                name="perfect prediction",
                line={"color": ORANGE, "dash": "dash", "width": 2},
            ),
        ]
    )
    fig.update_xaxes(title="actual value")
    fig.update_yaxes(title="predicted value")
    r2 = float(r2_score(actual, predicted))
    mae = float(mean_absolute_error(actual, predicted))
    title = "Predicted vs actual (holdout)"
    alt = alt_text.predicted_vs_actual(len(sample), len(actual), r2=r2, mae=mae, lo=lo, hi=hi)
    return PlannedChart("predicted_vs_actual", title, alt, _style(fig, title))


def _residuals_chart(inputs: ChartInputs) -> PlannedChart | None:
    pair = _regression_pair(inputs)
    if pair is None:
        return None
    actual, predicted = pair
    residual = actual - predicted
    sample = _sample_index(len(actual), MAX_SCATTER_POINTS)
    fig = go.Figure(_scatter(predicted[sample], residual[sample]))
    fig.add_hline(y=0, line={"color": ORANGE, "dash": "dash", "width": 2})
    fig.update_xaxes(title="predicted value")
    fig.update_yaxes(title="residual (actual − predicted)")
    p5, median, p95 = np.percentile(residual, [5, 50, 95])
    title = "Residuals vs predicted (holdout)"
    alt = alt_text.residuals(len(sample), len(actual), median, p5, p95)
    return PlannedChart("residuals", title, alt, _style(fig, title))


def _direction(metric: str) -> str:
    return "" if metric in HIGHER_IS_BETTER else " (lower is better)"


def _style(
    fig: go.Figure, title: str, *, height: int = HEIGHT, show_legend: bool = False
) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.02, "font": {"size": 24}},
        font={"family": "DejaVu Sans, Arial, sans-serif", "size": 16, "color": "#24292F"},
        width=WIDTH,
        height=height,
        margin={"l": 90, "r": 40, "t": 80, "b": 80},
        showlegend=show_legend,
    )
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(automargin=True)
    return fig


def _zoom_bar_axis(fig: go.Figure, values: list[float]) -> None:
    # Close scores (0.91 vs 0.93) look identical on an axis from 0; start near the lowest bar.
    lo, hi = min(values), max(values)
    if lo > 0 and hi > 0 and (hi - lo) < 0.5 * hi:
        pad = max((hi - lo) * 0.6, abs(hi) * 0.02)
        fig.update_xaxes(range=[lo - pad, hi + pad * 0.4])


def _scatter(x: np.ndarray, y: np.ndarray) -> go.Scattergl | go.Scatter:
    return go.Scatter(
        x=x,
        y=y,
        mode="markers",
        name="holdout rows",
        marker={"color": BLUE, "size": 6, "opacity": 0.45},
    )


def _regression_pair(inputs: ChartInputs) -> tuple[np.ndarray, np.ndarray] | None:
    if _empty(inputs.y_true) or _empty(inputs.y_pred):
        return None
    actual = np.asarray(inputs.y_true, dtype=float)
    predicted = np.asarray(inputs.y_pred, dtype=float)
    keep = np.isfinite(actual) & np.isfinite(predicted)
    if not keep.any():
        return None
    return actual[keep], predicted[keep]


def _sample_index(n: int, cap: int) -> np.ndarray:
    # A fixed seed keeps the picture stable between renders of the same run.
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=cap, replace=False))


def _top_classes(truth: pd.Series, classes: Sequence[str], limit: int) -> list[str]:
    """The `limit` most frequent true classes, in the model's class order when it is known."""
    frequent = [str(c) for c in truth.value_counts().index[:limit]]
    order = [str(c) for c in classes] or sorted(frequent)
    chosen = set(frequent)
    ordered = [c for c in order if c in chosen]
    return ordered + [c for c in frequent if c not in set(ordered)]


def _labels(values: Any) -> pd.Series:
    return pd.Series(np.asarray(values)).astype(str)


def _codes(values: pd.Series, labels: list[str]) -> np.ndarray:
    """Position of each value in `labels`, -1 when absent; a hash lookup, fast on 1M rows."""
    return pd.Index(labels).get_indexer(values).astype(np.int64)


def confusion_counts(
    truth: pd.Series, pred: pd.Series, labels: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Counts[true, predicted]; classes outside `labels` are pooled into one OTHER_LABEL row.

    Codes + bincount: fast on a million rows, unlike a Python loop or crosstab; the counts
    equal scikit-learn's `confusion_matrix` (tests/training/test_metrics.py checks).
    """
    k = len(labels)
    t = _codes(truth, labels)
    p = _codes(pred, labels)
    t[t < 0], p[p < 0] = k, k
    if (t == k).any() or (p == k).any():
        labels, k = [*labels, OTHER_LABEL], k + 1
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k), labels


def _cell_text(counts: np.ndarray, share: np.ndarray, *, compact: bool) -> list[list[str]]:
    if compact:
        return [[f"{c:,}" if c else "" for c in row] for row in counts]
    return [
        [f"{c:,}<br>{s:.0%}" for c, s in zip(crow, srow, strict=True)]
        for crow, srow in zip(counts, share, strict=True)
    ]


def _square(labels: list[str]) -> int:
    return max(HEIGHT, min(1000, 200 + 34 * len(labels)))


def _roc_curve(
    positive: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The curve, thinned for drawing, and the area under the whole curve (scikit-learn's)."""
    if positive.all() or not positive.any():
        return None
    fpr, tpr, _ = roc_curve(positive, score)
    keep = _thin_curve(fpr, tpr, MAX_ROC_POINTS)
    return fpr[keep], tpr[keep], float(auc(fpr, tpr))


def _thin_curve(x: np.ndarray, y: np.ndarray, cap: int) -> np.ndarray:
    """Indices of at most ~cap points spread evenly along the curve's length (keeps its shape)."""
    if len(x) <= cap:
        return np.arange(len(x))
    length = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(x)) + np.abs(np.diff(y)))])
    marks = np.linspace(0.0, length[-1], cap)
    idx = np.searchsorted(length, marks).clip(0, len(x) - 1)
    return np.unique(np.concatenate([[0], idx, [len(x) - 1]]))


def _finite(value: float | None) -> bool:
    return value is not None and bool(np.isfinite(value))


def _empty(values: Any) -> bool:
    return values is None or len(values) == 0


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_figure_code() -> None:
    """Build and discard one styled figure of each trace type the charts use.

    plotly loads each trace's and the layout's validators, and the template, on first use
    (~0.5 s); the warm worker calls this before it forks, so a job's first chart does not.
    Pure Python: no threads, no browser.
    """
    traces = (go.Bar(x=[1], y=[1]), go.Scatter(x=[1], y=[1]), go.Heatmap(z=[[1]]), go.Box(y=[1]))
    for trace in traces:
        _style(go.Figure(trace), "warm-up").to_dict()
    go.Scattergl(x=[1], y=[1])
