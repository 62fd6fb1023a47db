"""The explanation charts: how much each column moves the best model's predictions, and how
the values of the three strongest columns move them (dependence charts)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from contract.run_folder import DEPENDENCE_CHART_PREFIX, EXPLANATION_CHART
from training.outputs.charts import alt_text
from training.outputs.charts.figures import (
    BLUE,
    GREY,
    HEIGHT,
    MAX_FEATURES,
    MAX_SCATTER_POINTS,
    ORANGE,
    PlannedChart,
    _sample_index,
    _shorten,
    _style,
)

if TYPE_CHECKING:
    from contract.jobs import Explanations
    from training.pipeline.explanation_words import ColumnEffect

logger = logging.getLogger(__name__)

DEPENDENCE_CHARTS = 3
MAX_LEVELS = 15  # categories drawn on a dependence chart, the most frequent
COLOURS = {"raises": ORANGE, "lowers": BLUE, "by_category": GREY, "mixed": GREY}
LABELS = {
    "raises": "higher raises it",
    "lowers": "higher lowers it",
    "by_category": "by category",
    "mixed": "either way",
}


def plan_explanation_charts(
    effects: list[ColumnEffect], summary: Explanations, notes: list[str] | None = None
) -> list[PlannedChart]:
    """The importance chart and up to three dependence charts; one that breaks is skipped
    (with a note when `notes` is given), never the others."""
    charts: list[PlannedChart] = []
    builds: list[Callable[[], PlannedChart | None]] = [partial(_importance, effects, summary)]
    moving = [e for e in effects if e.mean_abs > 0 and e.x]
    for rank, effect in enumerate(moving[:DEPENDENCE_CHARTS], start=1):
        builds.append(partial(_dependence, effect, rank, summary))
    for build in builds:
        try:
            chart = build()
        except Exception as exc:
            logger.warning("an explanation chart failed", exc_info=True)
            if notes is not None:
                notes.append(f"An explanation chart could not be drawn: {exc}")
            continue
        if chart is not None:
            chart.alt_text = alt_text.speakable(chart.alt_text)
            charts.append(chart)
    return charts


def _importance(effects: list[ColumnEffect], summary: Explanations) -> PlannedChart | None:
    top = [e for e in effects if e.mean_abs > 0][:MAX_FEATURES]
    if not top:
        return None
    fig = go.Figure(
        go.Bar(
            x=[e.mean_abs for e in top],
            y=[_shorten(e.column) for e in top],
            orientation="h",
            marker_color=[COLOURS[e.direction] for e in top],
            text=[f"{alt_text.fmt(e.mean_abs)}  {LABELS[e.direction]}" for e in top],
            textposition="auto",
        )
    )
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title=f"mean absolute contribution to {_scale(summary)}")
    title = f"What moves the prediction of {_shorten(summary.explained, 40)}"
    alt = alt_text.explanation_importance(
        [(e.column, e.mean_abs, e.direction) for e in top],
        len(effects),
        summary.explained,
        summary.rows,
    )
    height = max(HEIGHT, 140 + 26 * len(top))
    return PlannedChart(EXPLANATION_CHART, title, alt, _style(fig, title, height=height))


def _dependence(effect: ColumnEffect, rank: int, summary: Explanations) -> PlannedChart | None:
    name = f"{DEPENDENCE_CHART_PREFIX}{rank}"
    title = f"How “{_shorten(effect.column, 40)}” moves the prediction"
    if effect.direction == "by_category":
        return _category_dependence(effect, name, title, summary)
    x = np.asarray(effect.x, dtype=float)
    y = np.asarray(effect.y, dtype=float)
    sample = _sample_index(len(x), MAX_SCATTER_POINTS)
    fig = go.Figure(
        go.Scatter(
            x=x[sample],
            y=y[sample],
            mode="markers",
            marker={"color": COLOURS[effect.direction], "size": 7, "opacity": 0.5},
        )
    )
    fig.add_hline(y=0, line={"color": GREY, "dash": "dash", "width": 2})
    fig.update_xaxes(title=_shorten(effect.column, 60))
    fig.update_yaxes(title=f"contribution to {_scale(summary)}")
    alt = alt_text.dependence_numeric(
        effect.column,
        summary.explained,
        shown=len(sample),
        rows=len(x),
        lo=float(x.min()),
        hi=float(x.max()),
        correlation=effect.correlation,
    )
    return PlannedChart(name, title, alt, _style(fig, title))


def _category_dependence(
    effect: ColumnEffect, name: str, title: str, summary: Explanations
) -> PlannedChart | None:
    frame = pd.DataFrame({"level": effect.x, "contribution": effect.y})
    counts = frame["level"].value_counts()
    frequent = counts.index[:MAX_LEVELS]
    frame = frame[frame["level"].isin(frequent)]
    means = frame.groupby("level")["contribution"].mean().sort_values(ascending=False)
    fig = go.Figure()
    for level in means.index:
        values = frame.loc[frame["level"] == level, "contribution"]
        colour = ORANGE if means[level] > 0 else BLUE
        fig.add_trace(
            go.Box(y=values, name=_shorten(str(level), 24), marker_color=colour, boxmean=True)
        )
    fig.add_hline(y=0, line={"color": GREY, "dash": "dash", "width": 2})
    fig.update_xaxes(title=_shorten(effect.column, 60), type="category")
    fig.update_yaxes(title=f"contribution to {_scale(summary)}")
    levels = [(str(level), float(mean)) for level, mean in means.items()]
    alt = alt_text.dependence_categories(
        effect.column, summary.explained, levels, len(frame), len(counts)
    )
    return PlannedChart(name, title, alt, _style(fig, title))


def _scale(summary: Explanations) -> str:
    if summary.scale == "probability":
        return f"the probability of {_shorten(summary.explained, 40)}"
    return f"the predicted {_shorten(summary.explained, 40)}"
