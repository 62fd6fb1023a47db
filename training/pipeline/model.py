"""The saved model: one object that takes the raw columns of a new file and returns predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from contract.jobs import DecisionThreshold
from contract.tasks import TaskName
from training.errors import InputError
from training.pipeline.ensemble import BlendedPredictor
from training.pipeline.features import FeaturePlan

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from training.pipeline.explanations import Background
    from training.pipeline.scoring_checks import ScoringWarnings, TrainingProfile

REASONS_COLUMN = "reasons"
REASONS_FAILED = "The reasons could not be worked out for this file; the predictions stand."
REASONS_SECONDS = 120.0  # the longest `automl predict` spends on them before leaving them out
# Said when a model saved before explanations is used: it predicts, without the new parts.
OLDER_MODEL_NOTE = (
    "This model was saved by an older version: its predictions come without the reasons "
    "column and without the check of values against the training ranges. Train it again "
    "to get them."
)


@dataclass
class TrainedModel:
    task: TaskName
    target: str
    estimator_name: str  # a family ("lgbm") or "ensemble"
    plan: FeaturePlan
    predictor: BlendedPredictor
    classes: list[str] = field(default_factory=list)  # sorted; probability columns follow it
    threshold: DecisionThreshold | None = None  # two classes: how probabilities become labels
    versions: dict[str, str] = field(default_factory=dict)
    # Saved since explanations: None in older models (their pickles lack the attributes, so
    # these class-level defaults answer).
    background: Background | None = None  # what each column is compared with, to explain
    profile: TrainingProfile | None = None  # the training ranges the warnings compare with

    @property
    def input_columns(self) -> list[str]:
        return self.plan.input_columns

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw columns -> what the models were trained on."""
        return self.plan.transform(frame)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.task == "regression":
            return self._values(self.features(frame))
        return self.labels_from(self.predict_proba(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """One column per class, in the order of `classes`."""
        if self.task != "classification":
            raise ValueError("probabilities exist for classification only")
        return self._proba(self.features(frame))

    def labels_from(self, proba: np.ndarray) -> np.ndarray:
        """Class labels from probabilities: the decision threshold for two classes, else the
        most probable class."""
        import numpy as np

        classes = np.asarray(self.classes, dtype=object)
        if self.threshold is not None and len(self.classes) == 2:
            positive = self.classes.index(self.threshold.positive_class)
            chosen = np.where(proba[:, positive] >= self.threshold.value, positive, 1 - positive)
            return classes[chosen]
        return classes[proba.argmax(axis=1)]

    def predictions_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The prediction and, for classes, one probability column per class."""
        import pandas as pd

        features = self.features(frame)
        out = pd.DataFrame(index=frame.index)
        column = f"predicted_{self.target}"
        if self.task == "regression":
            out[column] = self._values(features)
            return out
        proba = self._proba(features)
        out[column] = self.labels_from(proba)
        for i, label in enumerate(self.classes):
            out[f"probability_{label}"] = proba[:, i]
        return out

    def check_rows(self, frame: pd.DataFrame) -> ScoringWarnings:
        """Refuses a file without the columns the model needs (`InputError` naming them);
        otherwise the warnings about its columns and values, for a person."""
        from training.pipeline.scoring_checks import check_rows, refuse_missing_columns

        refuse_missing_columns(self.plan, frame)
        warnings = check_rows(self.plan, self.profile, frame)
        if not self.explainable:
            warnings.sentences.append(OLDER_MODEL_NOTE)
        return warnings

    @property
    def explainable(self) -> bool:
        return self.background is not None and self.profile is not None

    def reasons(self, frame: pd.DataFrame, *, seconds: float = REASONS_SECONDS) -> list[str]:
        """Per row, the three columns that moved its prediction most, in words
        (`tenure_months=2 raises churned=yes by 0.21`). `ExplanationSkipped` (with a sentence
        for a person) for older models, or when they would take much longer than `seconds`."""
        from training.pipeline.explanation_words import row_reasons
        from training.pipeline.explanations import explain_rows

        return row_reasons(self, explain_rows(self, frame, seconds=seconds), frame)

    def scored_table(
        self, frame: pd.DataFrame, warnings: list[str], *, seconds: float = REASONS_SECONDS
    ) -> pd.DataFrame:
        """`predictions_table` and, for models that can say why, a `reasons` column (left
        out when it would take much longer than `seconds`); what a person should know about
        the reasons is added to `warnings`."""
        import logging

        from training.pipeline.explanations import ExplanationSkipped

        table = self.predictions_table(frame)
        if not self.explainable:
            return table
        try:
            table[REASONS_COLUMN] = self.reasons(frame, seconds=seconds)
        except ExplanationSkipped as skipped:
            warnings.append(str(skipped))
        except Exception:  # the predictions stand without their reasons
            logging.getLogger(__name__).warning("could not explain the rows", exc_info=True)
            warnings.append(REASONS_FAILED)
        return table

    def _values(self, features: pd.DataFrame) -> np.ndarray:
        import numpy as np

        return np.asarray(self.predictor.predict_raw(features), dtype=float).ravel()

    def _proba(self, features: pd.DataFrame) -> np.ndarray:
        import numpy as np

        proba = np.clip(np.asarray(self.predictor.predict_raw(features), dtype=float), 0.0, None)
        totals = proba.sum(axis=1, keepdims=True)
        totals[totals == 0] = 1.0
        return proba / totals

    def save(self, path: Path) -> str:
        """Write the model; returns the file's SHA-256 (hex), for result.json."""
        import hashlib

        import joblib

        joblib.dump(self, path, compress=3)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    @staticmethod
    def load(path: Path, *, sha256: str | None) -> TrainedModel:
        """Unpickle the model at `path` if its bytes have the SHA-256 `sha256` (a signed one:
        unpickling runs code). None: the caller chose to trust the file as it is."""
        import hashlib
        import io

        import joblib

        if not path.exists():
            raise InputError(
                "model_not_found",
                f"There is no model at {path}.",
                "Point to the folder of a finished run (it holds model.joblib).",
            )
        data = path.read_bytes()  # hashed and unpickled from the same bytes
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise InputError(
                "model_tampered",
                f"{path} has changed since its run signed it, so it was not loaded: "
                "it is not the model that run made.",
                "Load models only from runs you trust; train again to get a signed model.",
            )
        try:
            model = joblib.load(io.BytesIO(data))
        except Exception as error:  # unpickling a damaged file can raise almost anything
            # A model names the classes it was built from: one saved by another version of
            # this tool (modules moved) or a damaged file cannot be rebuilt.
            raise InputError(
                "model_unreadable",
                f"{path} could not be loaded: it was saved by another version of this tool, "
                f"or the file is damaged ({type(error).__name__}).",
                "Train the model again with this version.",
            ) from error
        if not isinstance(model, TrainedModel):
            raise InputError("model_not_found", f"{path} does not hold a model from this tool.")
        return model


def library_versions() -> dict[str, str]:
    """Python's and the model libraries' versions, saved with the model and in result.json."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("flaml", "lightgbm", "xgboost-cpu", "scikit-learn", "pandas", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions
