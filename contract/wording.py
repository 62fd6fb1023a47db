"""What a job's result says to a person, worded once for the Slack reply and the terminal.

`bot/messages/results.py` and `training/outputs/terminal.py` describe the same fields of
`contract.jobs.JobResult`: the sentences and the few numbers and names in them are made here.
Pure functions from result fields to plain text. The markup is the caller's (Slack's escaping,
its code spans, the terminal's backticks): a sentence that holds a column name or an option
to type takes functions that show them.

The standard library and `contract.metrics` only (the models are named for type checking):
importing this module loads no pydantic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from contract.metrics import metric_label

if TYPE_CHECKING:
    from contract.jobs import ClassMetrics, DecisionThreshold, LeaderboardRow, SuspectedLeak

MAX_CLASS_ROWS = 10  # per-class precision and recall: the most frequent classes only


def format_short(value: float) -> str:
    """A weight, threshold or single-column score in few digits: 0.5, 0.27, 0.993."""
    if not math.isfinite(value):
        return "—"
    return f"{value:.3g}"


def metric_name(metric: str | None) -> str:
    """The metric as people read it; "score" where the result names none."""
    if not metric:
        return "score"
    return metric_label(metric)


def model_name(row: LeaderboardRow) -> str:
    """The estimator's name; an ensemble's with its members, heaviest first."""
    if not row.weights:
        return row.estimator
    members = sorted(row.weights.items(), key=lambda item: -item[1])
    return f"{row.estimator} ({', '.join(f'{m} {format_short(w)}' for m, w in members)})"


def classes_shown(metrics: list[ClassMetrics]) -> list[ClassMetrics]:
    """At most MAX_CLASS_ROWS classes: the ones with the most held-out rows, in their order."""
    if len(metrics) <= MAX_CLASS_ROWS:
        return metrics
    biggest = sorted(range(len(metrics)), key=lambda i: -metrics[i].support)[:MAX_CLASS_ROWS]
    return [metrics[i] for i in sorted(biggest)]


def threshold_sentence(threshold: DecisionThreshold) -> str:
    """How labels come from probabilities, in a sentence."""
    value = format_short(threshold.value)
    rule = f"Labels use a threshold of {value} on P({threshold.positive_class})"
    reason = threshold.reason.strip()
    if not reason:
        criterion = metric_name(threshold.criterion)
        return f"{rule}, chosen on validation rows to maximise {criterion}."
    if value in reason:  # the engine's sentence gives the value already
        return reason
    return f"{rule}. {reason[0].upper()}{reason[1:]}"


def option_value(column: str) -> str:
    """A column name as a person types it after an option: quoted when it has spaces, commas
    or quotes."""
    return f'"{column}"' if any(c.isspace() or c in ',"' for c in column) else column


def leak_sentence(
    leak: SuspectedLeak,
    *,
    code: Callable[[str], str],
    option: Callable[[str, str], str],
    text: Callable[[str], str] = str,
) -> str:
    """What a suspected leak means, and the option that changes what was done about it.

    The caller shows the parts: `code(column)` the column's name, `option(name, value)` an
    option as typed where the caller is (`--keep x` on the command line, `keep=x` in Slack;
    `value` is already `option_value`), `text(words)` the words taken from the result.
    """
    score = text(f"{metric_name(leak.metric)} {format_short(leak.score)}")
    line = (
        f"{code(leak.column)} alone predicts the target with {score}:"
        " check it is known before the outcome."
    )
    value = option_value(leak.column)
    if leak.kept:
        return f"{line} It is used; {option('exclude', value)} leaves it out."
    return f"{line} It was left out; {option('keep', value)} uses it."
