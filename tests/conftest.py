"""Shared fixtures: small real tables written to disk, and specs pointing at them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# Sweetviz and matplotlib must never try to open a window in tests.
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CHURN = REPO / "samples" / "churn.csv"


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[..., object]:
    from contract.jobs import JobSpec

    def build(data: Path, target: str, **overrides: object) -> JobSpec:
        values: dict[str, object] = {
            "job_id": "test-job",
            "dataset_uri": str(data),
            "file_name": data.name,
            "target": target,
            "time_budget_s": 10,
            "output_uri": str(tmp_path / "run"),
        }
        values.update(overrides)
        return JobSpec.model_validate(values)

    return build
