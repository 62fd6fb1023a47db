"""Charts of a run: Plotly figures rendered to PNG by kaleido in one shared headless browser.

`plan_charts` builds the figures (and their alt text) from plain inputs; `render_charts` turns
them into PNG files. Rendering never fails the run: a missing browser or a broken chart becomes
a note for a person.

One browser serves every image of the process: starting Chromium costs about 2 s, an image in a
running browser about 0.15 s. We run our own small session (a private asyncio loop on a daemon
thread holding one `kaleido.Kaleido`) instead of `kaleido.start_sync_server()`, because the
global sync server hangs forever on its first call when the browser cannot start (its thread
dies and the caller waits on a queue nobody serves). Here every call has a timeout.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from training.contracts import Chart
from training.metrics import HIGHER_IS_BETTER
from training.metrics import label as metric_name

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1000, 600
MAX_SCATTER_POINTS = 5_000
MAX_ROC_POINTS = 300
MAX_FEATURES = 20
MAX_CONFUSION_CLASSES = 20
MAX_ROC_CLASSES = 10
OTHER_LABEL = "(other)"

START_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0

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

BROWSER_HINT = (
    "Install Chromium on the machine that runs the training job (Debian/Ubuntu: "
    "`apt-get install chromium`), or set BROWSER_PATH to a Chrome/Chromium executable."
)


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


# ---- planning -------------------------------------------------------------------------------


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
            chart.alt_text = _speakable(chart.alt_text)
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
            text=[_fmt(v) for v in values],
            textposition="auto",
        )
    )
    fig.update_yaxes(autorange="reversed", title=None)  # best first, at the top
    fig.update_xaxes(title=f"validation {label}{_direction(inputs.metric)}")
    if inputs.metric in HIGHER_IS_BETTER:
        _zoom_bar_axis(fig, values)
    title = f"Validation {label} by model"
    listed = ", ".join(f"{n} {_fmt(v)}" for n, v in scored)
    alt = f"Bar chart of validation {label} by model, best first: {listed}."
    if unscored:
        alt += f" No score for: {', '.join(unscored)}."
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
    alt = (
        f"Step chart of the best validation {label} found so far against time: "
        f"{_fmt(scores[0])} at {_fmt(times[0])} s, ending at {_fmt(scores[-1])} "
        f"at {_fmt(times[-1])} s after {_plural(len(points), 'improvement')}."
    )
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
    shown = f"{len(top)} most important" if len(ranked) > len(top) else f"{len(top)}"
    title = "Feature importance (best model)"
    listed = ", ".join(f"{n} {_fmt(v)}" for n, v in top[:10])
    more = f", and {len(top) - 10} more" if len(top) > 10 else ""
    alt = (
        f"Horizontal bar chart of the {shown} features of {len(ranked)} by importance "
        f"in the best model, largest first: {listed}{more}."
    )
    height = max(HEIGHT, 140 + 26 * len(top))
    return PlannedChart("feature_importance", title, alt, _style(fig, title, height=height))


def _confusion_chart(inputs: ChartInputs) -> PlannedChart | None:
    if _empty(inputs.y_true) or _empty(inputs.y_pred):
        return None
    truth, pred = _labels(inputs.y_true), _labels(inputs.y_pred)
    correct = int((truth == pred).sum())  # on every class, before the rare ones are pooled
    labels = _top_classes(truth, inputs.classes, MAX_CONFUSION_CLASSES)
    counts, labels = _confusion_counts(truth, pred, labels)
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
    alt = _confusion_alt(counts, labels, len(truth), correct)
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
    summaries = []
    for i, cls in enumerate(targets):
        column = classes.index(cls)
        curve = _roc_curve(codes == column, proba[:, column])
        if curve is None:
            continue  # the holdout has only one side of this class
        fpr, tpr, auc = curve
        summaries.append(f"{cls} {auc:.3f}")
        name = f"AUC {auc:.3f}" if binary else f"{_shorten(cls, 24)} (AUC {auc:.3f})"
        colour = BLUE if binary else CLASS_COLOURS[i % len(CLASS_COLOURS)]
        fig.add_trace(
            go.Scatter(x=fpr, y=tpr, mode="lines", name=name, line={"color": colour, "width": 3})
        )
    if not summaries:
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
    if binary:
        title = "ROC curve (holdout)"
        alt = (
            f"ROC curve on {len(truth):,} holdout rows with '{classes[1]}' as the positive "
            f"class: area under the curve {summaries[0].split()[-1]} (0.5 is chance, 1 is perfect)."
        )
    else:
        title = "ROC curves, one class vs rest (holdout)"
        alt = (
            f"ROC curves on {len(truth):,} holdout rows, each class against the rest, for "
            f"{len(summaries)} of {len(classes)} classes; area under the curve: "
            f"{', '.join(summaries)} (0.5 is chance, 1 is perfect)."
        )
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
    r2, mae = _r2(actual, predicted), float(np.mean(np.abs(actual - predicted)))
    title = "Predicted vs actual (holdout)"
    alt = (
        f"Scatter plot of predicted against actual values for {_shown(sample, actual)} "
        f"holdout rows, with the diagonal line where prediction equals actual: "
        f"R² {r2:.3f}, mean absolute error {_fmt(mae)}, "
        f"actual values from {_fmt(lo)} to {_fmt(hi)}."
    )
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
    alt = (
        f"Scatter plot of residuals (actual minus predicted) against predicted values for "
        f"{_shown(sample, actual)} holdout rows: median residual {_fmt(median)}, 90% of "
        f"residuals between {_fmt(p5)} and {_fmt(p95)}; a band centred on zero means no "
        f"systematic bias."
    )
    return PlannedChart("residuals", title, alt, _style(fig, title))


# ---- chart helpers --------------------------------------------------------------------------


def metric_label(metric: str) -> str:
    return metric_name(metric)


def _speakable(text: str) -> str:
    # Screen readers say "R superscript two" or nothing at all for "R²".
    return text.replace("R²", "R squared")


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


def _shown(sample: np.ndarray, full: np.ndarray) -> str:
    if len(sample) == len(full):
        return f"all {len(full):,}"
    return f"a random {len(sample):,} of {len(full):,}"


def _r2(actual: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((actual - actual.mean()) ** 2))
    if total == 0:
        return float("nan")
    return 1.0 - float(np.sum((actual - predicted) ** 2)) / total


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


def _confusion_counts(
    truth: pd.Series, pred: pd.Series, labels: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Counts[true, predicted]; classes outside `labels` are pooled into one OTHER_LABEL row.

    Codes + bincount: fast on a million rows, unlike a Python loop or crosstab.
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


def _confusion_alt(counts: np.ndarray, labels: list[str], rows: int, correct: int) -> str:
    recalls = []
    for i, label in enumerate(labels[:10]):
        total = int(counts[i].sum())
        if total:
            recalls.append(f"{label} {counts[i, i] / total:.2f} ({counts[i, i]:,}/{total:,})")
    off = counts.copy()
    np.fill_diagonal(off, 0)  # the (other, other) cell is not a hit either way: ignore it too
    alt = (
        f"Confusion matrix of {len(labels)} classes on {rows:,} holdout rows: "
        f"{correct:,} predicted correctly ({correct / max(rows, 1):.1%}). "
        f"Share of each true class predicted correctly: {', '.join(recalls)}"
        f"{', …' if len(labels) > 10 else ''}."
    )
    if off.max() > 0:
        i, j = (int(v) for v in np.unravel_index(int(off.argmax()), off.shape))
        alt += (
            f" Most common mistake: true {labels[i]} predicted as {labels[j]}, "
            f"{int(off[i, j]):,} times."
        )
    return alt


def _square(labels: list[str]) -> int:
    return max(HEIGHT, min(1000, 200 + 34 * len(labels)))


def _roc_curve(
    positive: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float] | None:
    if positive.all() or not positive.any():
        return None
    # sklearn's roc_curve algorithm in plain numpy: one sort per class, where sklearn's
    # roc_curve + roc_auc_score sort twice and validate a lot (4 s vs 1 s for 10 classes x 1M).
    order = np.argsort(-score, kind="mergesort")
    ranked, hits = score[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # end of each tie group
    tps = np.cumsum(hits)[last]
    fps = last + 1 - tps
    fpr = np.r_[0.0, fps / fps[-1]]
    tpr = np.r_[0.0, tps / tps[-1]]
    auc = float(np.trapezoid(tpr, fpr))
    keep = _thin_curve(fpr, tpr, MAX_ROC_POINTS)
    return fpr[keep], tpr[keep], auc


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


def _fmt(value: float) -> str:
    """Three significant digits, no exponent for everyday magnitudes: 0.934, 12.3, 1,234."""
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) < 0.001:
        return f"{value:.2e}"
    return f"{value:.3g}" if abs(value) >= 1 else f"{value:.3f}".rstrip("0").rstrip(".")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- rendering ------------------------------------------------------------------------------


def render_charts(charts: list[PlannedChart], out_dir: Path) -> tuple[list[Chart], list[str]]:
    """Write each chart to `out_dir/<name>.png`; never raises.

    Returns the charts that were written (paths relative to the run folder, i.e. the parent
    of `out_dir`) and notes for a person about anything that was skipped.
    """
    if not charts:
        return [], []
    try:
        _SESSION.ensure_started(timeout=START_TIMEOUT_S)
        out_dir.mkdir(parents=True, exist_ok=True)
    except Exception as exc:
        return [], [_no_browser_note(exc, len(charts))]
    done: list[Chart] = []
    notes: list[str] = []
    for chart in charts:
        try:
            _render_one(chart, out_dir / f"{chart.name}.png")
        except Exception as exc:
            logger.warning("chart %s was not rendered", chart.name, exc_info=True)
            notes.append(f"The chart '{chart.title}' was skipped: {_reason(exc)}")
            if not _SESSION.recover():
                notes.append(_no_browser_note(exc, len(charts) - len(done) - 1))
                break
            continue
        done.append(
            Chart(
                name=chart.name,
                path=f"{out_dir.name}/{chart.name}.png",
                title=chart.title,
                alt_text=chart.alt_text,
            )
        )
    return done, notes


def load_figure_code() -> None:
    """Build and discard one styled figure of each trace type the charts use.

    plotly loads each trace's and the layout's validators, and the template, on first use
    (~0.5 s); the warm worker calls this before it forks, so a job's first chart does not.
    Pure Python: no threads, no browser.
    """
    for trace in (go.Bar(x=[1], y=[1]), go.Scatter(x=[1], y=[1]), go.Heatmap(z=[[1]])):
        _style(go.Figure(trace), "warm-up").to_dict()
    go.Scattergl(x=[1], y=[1])


def warm_up_renderer() -> None:
    """Start the browser in the background now, so the first chart later costs 0.15 s, not 2 s.

    Never raises and never blocks; a failure shows up (as a note) when charts are rendered.
    """
    try:
        _SESSION.start()
    except Exception:
        logger.debug("renderer warm-up failed", exc_info=True)


def stop_renderer() -> None:
    """Close the browser; called at exit, and safe to call any time."""
    _SESSION.stop()


def _render_one(chart: PlannedChart, path: Path) -> None:
    started = time.perf_counter()
    png = _SESSION.render(chart.figure.to_dict(), timeout=RENDER_TIMEOUT_S)
    if not png.startswith(b"\x89PNG"):
        raise RuntimeError("the browser returned something that is not a PNG")
    tmp = path.with_suffix(".png.tmp")
    tmp.write_bytes(png)
    tmp.replace(path)  # no half-written image if we are killed mid-write
    logger.info("rendered %s in %.2f s", chart.name, time.perf_counter() - started)


def _no_browser_note(exc: BaseException, count: int) -> str:
    return (
        f"{_plural(count, 'chart')} could not be drawn because no headless browser could be "
        f"started ({_reason(exc)}). {BROWSER_HINT}"
    )


def _reason(exc: BaseException) -> str:
    """A short cause for a person; the libraries' own messages suggest commands we do not use."""
    name = type(exc).__name__
    if isinstance(exc, TimeoutError | concurrent.futures.TimeoutError):
        return "the browser did not answer in time"
    if name == "ChromeNotFoundError":
        where = os.environ.get("BROWSER_PATH")
        return (
            f"nothing runnable at BROWSER_PATH={where}" if where else "no Chrome or Chromium found"
        )
    if name == "BrowserFailedError":
        return "the browser closed right after it started"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {text[:200]}" if text else name


def _quiet_browser_logs() -> None:
    # kaleido and choreographer log every pipe message at DEBUG/INFO; the browser's own stderr
    # arrives through the "browser_proc" logger. None of it helps a person reading the run log.
    # choreographer also logs a traceback at ERROR for a malformed pipe message it then ignores
    # ("JSONError decoding message. Ignoring"): it would reach the terminal, so only CRITICAL
    # passes. Render failures that matter become the run's notes (see render_charts).
    for name in ("kaleido", "choreographer", "browser_proc", "chrome_wrapper", "logistro"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class _BrowserSession:
    """One kaleido browser on a private event loop thread, shared by every render."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready: concurrent.futures.Future[Any] | None = None
        self._owner_pid = os.getpid()

    def start(self) -> concurrent.futures.Future[Any]:
        """Begin opening the browser if it is not open or opening; returns the open future."""
        with self._lock:
            if self._ready is not None and self._healthy():
                return self._ready
            self._shutdown_locked()
            _quiet_browser_logs()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="chart-renderer", daemon=True)
            thread.start()
            self._loop, self._thread, self._owner_pid = loop, thread, os.getpid()
            self._ready = asyncio.run_coroutine_threadsafe(_open_kaleido(), loop)
            return self._ready

    def ensure_started(self, timeout: float) -> None:
        self.start().result(timeout=timeout)

    def render(self, fig: dict[str, Any], timeout: float) -> bytes:
        ready = self.start()
        kaleido = ready.result(timeout=timeout)
        opts = {
            "format": "png",
            "width": fig["layout"].get("width", WIDTH),
            "height": fig["layout"].get("height", HEIGHT),
            "scale": 1,
        }
        assert self._loop is not None
        job = asyncio.run_coroutine_threadsafe(kaleido.calc_fig(fig, opts=opts), self._loop)
        try:
            return bytes(job.result(timeout=timeout))
        except concurrent.futures.TimeoutError:
            job.cancel()
            raise

    def recover(self) -> bool:
        """After a failed render: restart the browser; False if it cannot be started again."""
        self.stop()
        try:
            self.ensure_started(timeout=START_TIMEOUT_S)
        except Exception:
            return False
        return True

    def stop(self) -> None:
        with self._lock:
            self._shutdown_locked()

    def _healthy(self) -> bool:
        ready = self._ready
        if ready is None or self._thread is None or not self._thread.is_alive():
            return False
        if not ready.done():
            return True
        return ready.exception() is None and _browser_alive(ready.result())

    def _shutdown_locked(self) -> None:
        loop, thread, ready = self._loop, self._thread, self._ready
        self._loop = self._thread = self._ready = None
        # A forked child inherits this object but not the thread: nothing of ours to stop.
        if loop is None or thread is None or os.getpid() != self._owner_pid:
            return
        if ready is not None:
            try:
                kaleido = ready.result(timeout=STOP_TIMEOUT_S)
                asyncio.run_coroutine_threadsafe(kaleido.close(), loop).result(STOP_TIMEOUT_S)
            except Exception:
                logger.debug("closing the browser failed", exc_info=True)
                _kill_browser(ready)
        try:
            asyncio.run_coroutine_threadsafe(_cancel_tasks(), loop).result(STOP_TIMEOUT_S)
        except Exception:
            logger.debug("cancelling the renderer's tasks failed", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=STOP_TIMEOUT_S)
        if not thread.is_alive():
            loop.close()


async def _open_kaleido() -> Any:
    import kaleido

    # mathjax=False: the default loads MathJax from a CDN on every page load, which is slow or
    # hangs without internet, and our charts have no LaTeX.
    k = kaleido.Kaleido(n=1, timeout=RENDER_TIMEOUT_S, mathjax=False)
    await k.open()
    return k


async def _cancel_tasks() -> None:
    # choreographer leaves a watchdog task behind when the browser fails to start; cancel it so
    # closing the loop does not print "Task was destroyed but it is pending!".
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def _browser_alive(kaleido: Any) -> bool:
    proc = getattr(kaleido, "subprocess", None)
    return proc is None or proc.poll() is None


def _kill_browser(ready: concurrent.futures.Future[Any]) -> None:
    # The wrapper process dies, Chromium sees its pipe close and exits too.
    if ready.done() and ready.exception() is None:
        proc = getattr(ready.result(), "subprocess", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


_SESSION = _BrowserSession()
atexit.register(stop_renderer)
