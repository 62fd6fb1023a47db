"""Shared fixtures: small real tables written to disk, and specs pointing at them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Sweetviz and matplotlib must never try to open a window in tests.
os.environ.setdefault("MPLBACKEND", "Agg")
# The model key (bot/model_signature.py) lives under XDG_CONFIG_HOME: never the real one.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="automl-test-config-")

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CHURN = REPO / "samples" / "churn.csv"


@pytest.fixture(scope="session", autouse=True)
def one_botocore_loader() -> Iterator[None]:
    """One botocore data loader for every boto3 session of the run.

    moto starts each mock with a fresh default session, whose loader would parse the service
    models again (EC2's alone takes a quarter of a second); they are the same files every time.
    """
    import botocore.loaders
    import botocore.session

    class Paths(list[str]):
        def append(self, path: str) -> None:  # every boto3 session adds its own data folder
            if path not in self:
                super().append(path)

    loader = botocore.loaders.create_loader()
    loader._search_paths = Paths(loader.search_paths)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", lambda *args, **kwargs: loader)
        yield


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[..., object]:
    """A spec for a table on disk, its run folder in `tmp_path`: `make_spec(path, target)`."""
    from contract.jobs import JobSpec
    from tests import builders

    def build(data: Path, target: str, **overrides: object) -> JobSpec:
        values: dict[str, object] = {
            "dataset_uri": str(data),
            "file_name": data.name,
            "target": target,
            "time_budget_s": 10,
            "output_uri": str(tmp_path / "run"),
        }
        return builders.make_spec(**{**values, **overrides})

    return build
