"""The sentence that describes each chart, for people who cannot see it (Slack's alt text,
screen readers): what the chart shows and the numbers that matter on it.

Each function takes the values its figure plots (see `figures`) and returns plain text.
"""

from __future__ import annotations

import numpy as np


def leaderboard(label: str, scored: list[tuple[str, float]], unscored: list[str]) -> str:
    listed = ", ".join(f"{n} {fmt(v)}" for n, v in scored)
    alt = f"Bar chart of validation {label} by model, best first: {listed}."
    if unscored:
        alt += f" No score for: {', '.join(unscored)}."
    return alt


def score_history(label: str, times: list[float], scores: list[float]) -> str:
    return (
        f"Step chart of the best validation {label} found so far against time: "
        f"{fmt(scores[0])} at {fmt(times[0])} s, ending at {fmt(scores[-1])} "
        f"at {fmt(times[-1])} s after {plural(len(scores), 'improvement')}."
    )


def feature_importance(top: list[tuple[str, float]], n_features: int) -> str:
    """`top`: the features drawn, largest first, of `n_features` with an importance."""
    shown = f"{len(top)} most important" if n_features > len(top) else f"{len(top)}"
    listed = ", ".join(f"{n} {fmt(v)}" for n, v in top[:10])
    more = f", and {len(top) - 10} more" if len(top) > 10 else ""
    return (
        f"Horizontal bar chart of the {shown} features of {n_features} by importance "
        f"in the best model, largest first: {listed}{more}."
    )


def confusion_matrix(counts: np.ndarray, labels: list[str], rows: int, correct: int) -> str:
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


def roc_curve(rows: int, classes: list[str], aucs: list[tuple[str, float]]) -> str:
    """`aucs`: (class, area under its curve) for each class drawn; two classes draw one."""
    if len(classes) == 2:
        return (
            f"ROC curve on {rows:,} holdout rows with '{classes[1]}' as the positive "
            f"class: area under the curve {aucs[0][1]:.3f} (0.5 is chance, 1 is perfect)."
        )
    listed = ", ".join(f"{cls} {auc:.3f}" for cls, auc in aucs)
    return (
        f"ROC curves on {rows:,} holdout rows, each class against the rest, for "
        f"{len(aucs)} of {len(classes)} classes; area under the curve: "
        f"{listed} (0.5 is chance, 1 is perfect)."
    )


def predicted_vs_actual(
    shown: int, rows: int, *, r2: float, mae: float, lo: float, hi: float
) -> str:
    return (
        f"Scatter plot of predicted against actual values for {rows_shown(shown, rows)} "
        f"holdout rows, with the diagonal line where prediction equals actual: "
        f"R² {r2:.3f}, mean absolute error {fmt(mae)}, "
        f"actual values from {fmt(lo)} to {fmt(hi)}."
    )


def residuals(shown: int, rows: int, median: float, p5: float, p95: float) -> str:
    return (
        f"Scatter plot of residuals (actual minus predicted) against predicted values for "
        f"{rows_shown(shown, rows)} holdout rows: median residual {fmt(median)}, 90% of "
        f"residuals between {fmt(p5)} and {fmt(p95)}; a band centred on zero means no "
        f"systematic bias."
    )


def speakable(text: str) -> str:
    # Screen readers say "R superscript two" or nothing at all for "R²".
    return text.replace("R²", "R squared")


def rows_shown(shown: int, rows: int) -> str:
    if shown == rows:
        return f"all {rows:,}"
    return f"a random {shown:,} of {rows:,}"


def fmt(value: float) -> str:
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


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def explanation_importance(
    top: list[tuple[str, float, str]], n_columns: int, explained: str, rows: int
) -> str:
    """`top`: (column, mean |contribution|, what higher values do), largest first."""
    words = {
        "raises": "higher values raise it",
        "lowers": "higher values lower it",
        "by_category": "depends on the category",
        "mixed": "either way",
    }
    listed = "; ".join(f"{n} {fmt(v)} ({words.get(d, d)})" for n, v, d in top[:10])
    more = f"; and {len(top) - 10} more" if len(top) > 10 else ""
    shown = f"the {len(top)} of {n_columns} columns" if n_columns > len(top) else "the columns"
    return (
        f"Horizontal bar chart of how much each column moves the prediction of {explained}, "
        f"as the mean absolute contribution over {rows:,} holdout rows, for {shown} that "
        f"matter most, largest first: {listed}{more}."
    )


def dependence_numeric(
    column: str,
    explained: str,
    *,
    shown: int,
    rows: int,
    lo: float,
    hi: float,
    correlation: float | None,
) -> str:
    trend = ""
    if correlation is not None:
        way = "rises" if correlation > 0 else "falls"
        trend = f" The contribution {way} with the value (correlation {correlation:.2f})."
    return (
        f"Scatter plot of {column}'s value against its contribution to the prediction of "
        f"{explained}, for {rows_shown(shown, rows)} holdout rows, values from {fmt(lo)} to "
        f"{fmt(hi)}; above zero the value raises the prediction, below zero it lowers it.{trend}"
    )


def dependence_categories(
    column: str, explained: str, levels: list[tuple[str, float]], rows: int, n_levels: int
) -> str:
    """`levels`: (category, mean contribution), as drawn, of `n_levels` in the rows."""
    listed = ", ".join(f"{level} {fmt(mean)}" for level, mean in levels[:10])
    more = f", and {len(levels) - 10} more" if len(levels) > 10 else ""
    which = (
        f"its {len(levels)} most frequent categories of {n_levels}"
        if n_levels > len(levels)
        else "each of its categories"
    )
    return (
        f"Box plot of {column}'s contribution to the prediction of {explained} for {which}, "
        f"over the {rows:,} holdout rows in them; mean contribution per category (above zero "
        f"raises the prediction): {listed}{more}."
    )
