"""How a two-class model turns probabilities into labels.

A probability of 0.5 is the right cut only when both classes matter equally and are about as
common. On an imbalanced target that cut rarely names the rare class, which is usually the
one people care about, so the threshold is chosen on the out-of-fold validation rows:
- if the person asked for a label metric (accuracy, F1, macro F1), the threshold that
  maximises it;
- else, when the rarer class is under `IMBALANCED_SHARE` of the rows, the threshold that
  maximises the F1 score of the rarer class;
- else 0.5 (no threshold is recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contract.jobs import DecisionThreshold
from contract.metrics import metric_label

if TYPE_CHECKING:
    import numpy as np

IMBALANCED_SHARE = 0.3
LABEL_METRICS = ("accuracy", "f1", "macro_f1")
MAX_CANDIDATES = 200


def choose_threshold(
    metric: str, classes: list[str], y: np.ndarray, proba: np.ndarray
) -> DecisionThreshold | None:
    """`y`: class codes of the validation rows; `proba`: their out-of-fold probabilities."""
    import numpy as np

    if len(classes) != 2 or proba is None or len(y) < 20:
        return None
    counts = np.bincount(y, minlength=2)
    rare = int(np.argmin(counts))
    share = counts[rare] / counts.sum()
    if metric in LABEL_METRICS:
        positive = 1 if metric == "f1" else rare
        maximised = metric
    elif share < IMBALANCED_SHARE:
        positive, maximised = rare, "f1"
    else:
        return None
    criterion = metric_label(maximised)
    score = _scorer(metric if metric in LABEL_METRICS else "f1")
    truth = (y == positive).astype(int)
    p = proba[:, positive]
    cuts = np.unique(np.quantile(p, np.linspace(0.0, 1.0, MAX_CANDIDATES)))
    scores = [score(truth, (p >= c).astype(int)) for c in cuts]
    best = int(np.argmax(scores))
    value = float(cuts[best])
    at_half = score(truth, (p >= 0.5).astype(int))
    if scores[best] <= at_half + 1e-9:
        value = 0.5  # 0.5 is as good: keep the usual cut, but say it was checked
    label = classes[positive]
    target_words = f"the {criterion} of “{label}”" if maximised == "f1" else criterion
    reason = (
        f"Labels use P({label}) ≥ {value:.2f}, the cut that maximised {target_words} on "
        f"out-of-fold validation rows ({scores[best] if value != 0.5 else at_half:.3f}, "
        f"against {at_half:.3f} at 0.50)"
    )
    if share < IMBALANCED_SHARE and metric not in LABEL_METRICS:
        reason += f"; “{classes[rare]}” is the rarer class ({share:.0%} of rows)."
    else:
        reason += "."
    return DecisionThreshold(
        value=round(value, 4),
        positive_class=label,
        criterion=f"{criterion} of {label}" if maximised == "f1" else criterion,
        reason=reason,
    )


def _scorer(metric: str) -> Callable[[Any, Any], float]:
    from sklearn import metrics as m

    if metric == "accuracy":
        return m.accuracy_score
    if metric == "macro_f1":
        return lambda t, p: m.f1_score(t, p, average="macro", zero_division=0)
    return lambda t, p: m.f1_score(t, p, zero_division=0)
