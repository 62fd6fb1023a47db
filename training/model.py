"""The saved model: one object that takes the raw columns of a new file and returns predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.contracts import TaskName
from training.errors import InputError
from training.features import FeaturePlan

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from flaml import AutoML

MODEL_FILE = "model.joblib"


@dataclass
class TrainedModel:
    task: TaskName
    target: str
    estimator_name: str
    plan: FeaturePlan
    estimator: Any  # FLAML's estimator wrapper (lgbm, xgboost, rf, ...)
    feature_transformer: Any  # FLAML's DataTransformer: categories pinned, medians imputed
    label_transformer: Any  # sklearn LabelEncoder for classes, None for regression
    classes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_search(
        cls, automl: AutoML, plan: FeaturePlan, task: TaskName, target: str, versions: dict
    ) -> TrainedModel:
        labels = automl.label_transformer
        return cls(
            task=task,
            target=target,
            estimator_name=automl.best_estimator,
            plan=plan,
            estimator=automl.model,
            feature_transformer=automl.feature_transformer,
            label_transformer=labels,
            classes=[str(c) for c in labels.classes_] if labels is not None else [],
            versions=versions,
        )

    @property
    def input_columns(self) -> list[str]:
        return self.plan.input_columns

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw columns -> what the estimator was trained on."""
        prepared = self.plan.transform(frame)
        if self.feature_transformer is not None:
            prepared = self.feature_transformer.transform(prepared)
        return prepared

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        predicted = np.asarray(self.estimator.predict(self.features(frame)))
        if predicted.ndim > 1:
            predicted = predicted.ravel()
        if self.label_transformer is not None:
            return np.asarray(self.label_transformer.inverse_transform(predicted.astype(int)))
        return predicted.astype(float)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """One column per class, in the order of `classes`."""
        import numpy as np

        if self.task != "classification":
            raise ValueError("probabilities exist for classification only")
        return np.asarray(self.estimator.predict_proba(self.features(frame)))

    def predictions_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The prediction and, for classes, one probability column per class."""
        import pandas as pd

        features = self.features(frame)
        out = pd.DataFrame(index=frame.index)
        column = f"predicted_{self.target}"
        raw = self.estimator.predict(features)
        if self.label_transformer is not None:
            import numpy as np

            out[column] = self.label_transformer.inverse_transform(
                np.asarray(raw).ravel().astype(int)
            )
            proba = self.estimator.predict_proba(features)
            for i, label in enumerate(self.classes):
                out[f"probability_{label}"] = proba[:, i]
        else:
            out[column] = raw
        return out

    def save(self, path: Path) -> None:
        import joblib

        joblib.dump(self, path, compress=3)

    @staticmethod
    def load(path: Path) -> TrainedModel:
        import joblib

        if not path.exists():
            raise InputError(
                "model_not_found",
                f"There is no model at {path}.",
                "Point to the folder of a finished run (it holds model.joblib).",
            )
        model = joblib.load(path)
        if not isinstance(model, TrainedModel):
            raise InputError("model_not_found", f"{path} does not hold a model from this tool.")
        return model
