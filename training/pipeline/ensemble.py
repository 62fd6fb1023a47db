"""Greedy ensemble selection (Caruana et al. 2004, with replacement) and the blended predictor.

Selection works on out-of-fold predictions: each candidate's prediction for a row comes from a
model that did not train on it. Whether the ensemble is used at all is decided honestly:
weights chosen on one half of those rows are scored on the other half (and the other way
round) against the best single model chosen the same way; only if the ensemble wins there is
it used, with weights selected on all rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from training.pipeline.learners import Fitted

ROUNDS = 30  # additions with replacement: enough for weights in steps of 1/30
MAX_MEMBERS_CONSIDERED = 12

Loss = Callable[["np.ndarray", "np.ndarray"], float]


@dataclass
class Member:
    """One configuration in the final model: the average of its fold models."""

    label: str  # "lgbm", "lgbm 2", ... as the leaderboard names it
    family: str
    weight: float
    models: list[Fitted] = field(default_factory=list)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        import numpy as np

        return np.mean([m.predict(X) for m in self.models], axis=0)


@dataclass
class BlendedPredictor:
    """What the saved model predicts with: a weighted average of members' raw predictions."""

    members: list[Member]

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        total = None
        for member in self.members:
            part = member.weight * member.predict(X)
            total = part if total is None else total + part
        assert total is not None
        return total

    @property
    def is_ensemble(self) -> bool:
        return len(self.members) > 1

    @property
    def weights(self) -> dict[str, float]:
        return {m.label: round(m.weight, 4) for m in self.members}

    def importances(self, names: list[str]) -> dict[str, float]:
        """Members' own importances, each normalised to sum 1, weighted like the members."""
        total: dict[str, float] = {}
        for member in self.members:
            for model in member.models:
                values = model.importances(names)
                if not values:
                    continue
                norm = sum(v for v in values.values() if v > 0)
                if norm <= 0:
                    continue
                for name, value in values.items():
                    share = member.weight * max(value, 0.0) / norm / len(member.models)
                    total[name] = total.get(name, 0.0) + share
        return total


def greedy_selection(
    predictions: Sequence[np.ndarray], y: np.ndarray, loss: Loss, rounds: int = ROUNDS
) -> tuple[list[float], float]:
    """Weights (summing to 1) chosen greedily with replacement, and their loss on these rows."""
    import numpy as np

    counts = [0] * len(predictions)
    blend = np.zeros_like(predictions[0], dtype=float)
    best_loss = float("inf")
    best_counts = counts[:]
    for step in range(1, rounds + 1):
        trial_losses = [loss(y, (blend * (step - 1) + p) / step) for p in predictions]
        pick = int(np.argmin(trial_losses))
        counts[pick] += 1
        blend = (blend * (step - 1) + predictions[pick]) / step
        if trial_losses[pick] < best_loss - 1e-12:
            best_loss, best_counts = trial_losses[pick], counts[:]
    total = sum(best_counts)
    return [c / total for c in best_counts], best_loss


def ensemble_beats_best(
    predictions: Sequence[np.ndarray], y: np.ndarray, loss: Loss, seed: int
) -> tuple[bool, float, float]:
    """Cross-fitted check on two halves of the rows: (ensemble wins, its loss, best single's)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    halves = (order[: len(y) // 2], order[len(y) // 2 :])
    ensemble_losses, single_losses = [], []
    for fit_rows, test_rows in (halves, halves[::-1]):
        if len(np.unique(y[test_rows])) < 2 or len(np.unique(y[fit_rows])) < 2:
            return False, float("inf"), float("inf")
        fit_preds = [p[fit_rows] for p in predictions]
        weights, _ = greedy_selection(fit_preds, y[fit_rows], loss)
        blended = sum(w * p[test_rows] for w, p in zip(weights, predictions, strict=True))
        ensemble_losses.append(loss(y[test_rows], np.asarray(blended)))
        best = int(np.argmin([loss(y[fit_rows], p) for p in fit_preds]))
        single_losses.append(loss(y[test_rows], predictions[best][test_rows]))
    ensemble, single = float(np.mean(ensemble_losses)), float(np.mean(single_losses))
    return ensemble < single, ensemble, single


def as_members(
    labels: list[str], families: list[str], weights: list[float], models: list[Any]
) -> list[Member]:
    """Members with a non-zero weight, heaviest first."""
    members = [
        Member(label=lab, family=fam, weight=w, models=list(m))
        for lab, fam, w, m in zip(labels, families, weights, models, strict=True)
        if w > 0
    ]
    return sorted(members, key=lambda m: -m.weight)
